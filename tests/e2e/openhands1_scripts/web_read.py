"""Read settings.json with the OpenHands web app server's own code: FileSettingsStore.load
(its Settings model), then build the agent the server would run from it."""

import asyncio
import json

from _common import args, describe, emit, mode

a = args()
keys = a.get("keys", {})

from openhands.app_server.settings.file_settings_store import FileSettingsStore  # noqa: E402


async def main() -> dict:
    store = await FileSettingsStore.get_instance(None)
    path = store.file_store.get_full_path("settings.json")
    settings = await store.load()
    with open(path) as f:
        raw = json.load(f)
    agent = settings.agent_settings.create_agent()
    return {
        "mode": mode(path),
        "llm": describe(settings.agent_settings.llm, keys),
        "agent_llm": describe(agent.llm, keys),
        "profiles": {name: describe(llm, keys)
                     for name, llm in settings.llm_profiles.profiles.items()},
        "raw_profiles": list((raw.get("llm_profiles") or {}).get("profiles") or {}),
        "active": settings.llm_profiles.active,
        "max_iterations": settings.conversation_settings.max_iterations,
        "language": settings.language,
        "condenser": settings.agent_settings.condenser.model_dump(mode="json"),
    }


emit(asyncio.run(main()))
