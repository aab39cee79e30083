"""Write settings.json with the OpenHands web app server's own code: the settings and
profile routes' functions over its FileSettingsStore (in OH_PERSISTENCE_DIR)."""

import asyncio

from _common import args, emit

a = args()

from openhands.app_server.settings import settings_router as routes  # noqa: E402
from openhands.app_server.settings.file_settings_store import FileSettingsStore  # noqa: E402


async def main() -> str:
    store = await FileSettingsStore.get_instance(None)
    payload = {"agent_settings_diff": {"llm": a["llm"]}, **a.get("top", {})}
    if a.get("conversation"):
        payload["conversation_settings_diff"] = a["conversation"]
    response = await routes.store_settings(payload, settings_store=store, user_id=None)
    assert response.status_code == 200, response.body
    for name, llm in a.get("profiles", {}).items():
        request = routes.SaveProfileRequest(llm=llm) if llm else None
        await routes.save_profile(name, request, user_id=None, settings_store=store)
    if a.get("active"):
        await routes.activate_profile(a["active"], user_id=None, settings_store=store)
    return store.file_store.get_full_path("settings.json")


emit({"path": asyncio.run(main())})
