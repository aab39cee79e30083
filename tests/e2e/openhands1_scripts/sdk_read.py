"""Load every profile of a folder with the SDK's own LLMProfileStore; with the agent server
installed, also list what its profile store (OH_PERSISTENCE_DIR/profiles) sees."""

from pathlib import Path

from _common import args, describe, emit, mode

a = args()
keys = a.get("keys", {})

from openhands.sdk.llm.llm_profile_store import LLMProfileStore  # noqa: E402

folder = Path(a["dir"])
store = LLMProfileStore(base_dir=folder)
out = {"profiles": {}, "modes": {}, "agent_server": None}
for path in sorted(folder.glob("*.json")):
    out["profiles"][path.stem] = describe(store.load(path.stem), keys)
    out["modes"][path.stem] = mode(path)
try:
    from openhands.agent_server.persistence.store import get_llm_profile_store
except ImportError:
    pass
else:
    out["agent_server"] = sorted(s["name"] for s in get_llm_profile_store().list_summaries())
emit(out)
