"""Read agent_settings.json with the OpenHands CLI's own code: the SDK's Agent model,
AgentStore.load_from_disk and, with ``runtime``, AgentStore.load_or_create with the
environment overrides of ``openhands --override-with-envs``."""

import os

from _common import args, describe, emit, mode

a = args()
keys = a.get("keys", {})

from openhands.sdk import Agent  # noqa: E402
from openhands_cli.locations import get_persistence_dir  # noqa: E402
from openhands_cli.stores import AgentStore  # noqa: E402


def view(agent):
    if agent is None:
        return None
    condenser = agent.condenser
    return {"llm": describe(agent.llm, keys),
            "condenser": describe(getattr(condenser, "llm", None), keys),
            "condenser_kind": type(condenser).__name__ if condenser else None,
            "condenser_max_size": getattr(condenser, "max_size", None),
            "tools": [tool.name for tool in agent.tools]}


path = os.path.join(get_persistence_dir(), "agent_settings.json")
with open(path) as f:
    validated = Agent.model_validate_json(f.read())  # raises with the reason
store = AgentStore()
out = {"mode": mode(path), "validated": view(validated), "disk": view(store.load_from_disk())}
if a.get("runtime"):
    out["runtime"] = view(store.load_or_create(env_overrides_enabled=True))
emit(out)
