"""Write agent_settings.json with the OpenHands CLI's own code: its settings form, then
AgentStore.save for the fields the form does not show (retries, temperature...)."""

from _common import args, emit

a = args()

from openhands_cli.stores import AgentStore  # noqa: E402
from openhands_cli.tui.modals.settings.utils import SettingsFormData, save_settings  # noqa: E402

form = SettingsFormData(mode="advanced", custom_model=a["model"], base_url=a["base_url"],
                        api_key_input=a["api_key"], timeout=a.get("timeout"),
                        max_size=a.get("max_size"))
result = save_settings(form, None)
assert result.success, result.error_message
store = AgentStore()
agent = store.load_from_disk()
assert agent is not None
extra = a.get("llm") or {}
if extra:
    condenser = agent.condenser.model_copy(
        update={"llm": agent.condenser.llm.model_copy(update=extra)})
    agent = agent.model_copy(update={"llm": agent.llm.model_copy(update=extra),
                                     "condenser": condenser})
    store.save(agent)
emit({"tools": [tool.name for tool in agent.tools]})
