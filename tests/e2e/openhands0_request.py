"""Run in OpenHands 0.62's venv: its own LLM makes one completion per case of a config.toml.

Usage: python openhands0_request.py CASES.json CATALOG.json. CASES.json is a list of
{"case", "config", "group"} (OpenHands' LLM reads the group of that config.toml) or
{"case", "kwargs"} (OpenHands' litellm sends these ``litellm.completion`` arguments, not
streamed: the live test's request as OpenHands' litellm would send it). CATALOG.json is the
model map litellm reads at start: OpenHands' litellm downloads today's map when it starts
(online); here it reads this one, the map the live test reads, so both take catalog values
(max tokens) from the same data.
Prints one JSON line per case: {"case", "error"} (None, or the exception's type and text).
No import of the project: this file runs under OpenHands' interpreter only.
"""

import json
import sys
from pathlib import Path

import litellm
from openhands.core.config import OpenHandsConfig
from openhands.core.config.utils import load_from_toml
from openhands.llm.llm import LLM

PROMPT = "Reply with one short sentence: are you ready to help with code?"

litellm.model_cost.clear()
litellm.model_cost.update(json.loads(Path(sys.argv[2]).read_text()))


def llm_completion(case: dict) -> None:
    cfg = OpenHandsConfig()
    load_from_toml(cfg, case["config"])
    config = cfg.get_llm_config(case["group"] or "llm")
    config.num_retries = 1  # one request per case (num_retries is not part of the request)
    LLM(config, service_id="agent").completion(messages=[{"role": "user", "content": PROMPT}])


for case in json.loads(Path(sys.argv[1]).read_text()):
    error = None
    try:
        if "kwargs" in case:
            litellm.completion(**{**case["kwargs"], "stream": False})
        else:
            llm_completion(case)
    except Exception as e:  # reported, compared by the test
        error = f"{type(e).__name__}: {e}"[:500]
    print(json.dumps({"case": case["case"], "error": error}), flush=True)
