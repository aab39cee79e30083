"""Save LLM profiles with the SDK's own LLMProfileStore, the one the agent server uses
(OH_PERSISTENCE_DIR/profiles), keys included as ``include_secrets=True`` writes them."""

from _common import args, emit

a = args()

from openhands.agent_server.persistence.store import get_llm_profile_store  # noqa: E402
from openhands.sdk import LLM  # noqa: E402

store = get_llm_profile_store()
for name, values in a["profiles"].items():
    store.save(name, LLM(**values), include_secrets=True)
emit({"dir": str(store.base_dir)})
