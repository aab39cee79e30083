"""End to end: the live test's request is the one OpenHands 0.62 makes, config by config.

For every config.toml of :mod:`tests.e2e.request_corpus`, OpenHands' own
``openhands.llm.llm.LLM(config, service_id).completion(...)`` (openhands-ai 0.62.0 in a Python
3.12 venv) and the live test (``tui.live_test.run``) each send one request to the same logging
server (:mod:`tests.e2e.request_log`), under their own case prefix. The two requests must have
the same method, path and query, the same auth header and the same JSON body, apart from what is
deliberately different: the live test streams (``stream``, ``stream_options``, Gemini's
``:streamGenerateContent?alt=sse``) and the prompt (messages) is not compared.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import openhands_venv, request_log
from tests.e2e.request_corpus import CASES, Case
from tests.e2e.servers import server_env
from tui import live_test as L
from tui.catalog import catalog_path
from tui.config_file import ConfigFile
from tui.settings import load, mask

pytestmark = pytest.mark.timeout(openhands_venv.BUILD_TIMEOUT + 600)

RUNNER = Path(__file__).with_name("openhands0_request.py")
AUTH_HEADERS = ("authorization", "api-key", "x-api-key", "x-goog-api-key")
STREAMING = ("stream", "stream_options")
PROMPT = ("messages", "contents", "system")  # the prompt, in each protocol


def comparable(r: request_log.Logged) -> dict[str, Any]:
    """What must be equal: path, query, auth headers (masked) and the body sans streaming."""
    path = r.path.replace(":streamGenerateContent", ":generateContent")
    query = {k: v for k, v in r.query.items() if (k, v) != ("alt", "sse")}
    body = r.body
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in STREAMING + PROMPT}
    auth = {h: mask(r.headers[h]) + f" (len {len(r.headers[h])})"
            for h in AUTH_HEADERS if h in r.headers}
    return {"method": r.method, "path": path, "query": query, "auth": auth,
            "body": json.dumps(body, sort_keys=True)}


@pytest.fixture(scope="module")
def requests(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, ...]]:
    """Case name -> (OpenHands' requests, ours, OpenHands' error, our outcome)."""
    python = openhands_venv.python_with(["openhands-ai==0.62.0"])
    tmp = tmp_path_factory.mktemp("requests")
    with request_log.serve() as (url, log):
        jobs, ours = [], {}
        for case in CASES:
            for side in ("oh", "us"):
                path = tmp / f"{side}-{case.name}.toml"
                path.write_text(case.render(f"{url}/{side}-{case.name}"))
            jobs.append({"case": case.name, "config": str(tmp / f"oh-{case.name}.toml"),
                         "group": case.group})
        (tmp / "cases.json").write_text(json.dumps(jobs))
        env = server_env(tmp, LITELLM_LOCAL_MODEL_COST_MAP="True")
        catalog = str(catalog_path())
        p = subprocess.run([str(python), str(RUNNER), str(tmp / "cases.json"), catalog], env=env,
                           cwd=tmp, capture_output=True, text=True, timeout=900)
        assert p.returncode == 0, p.stderr[-3000:]
        errors = {d["case"]: d["error"] for d in map(json.loads, p.stdout.splitlines())}
        for case in CASES:
            values = L.values_of(load(ConfigFile.load(tmp / f"us-{case.name}.toml"),
                                      case.group, environ={}))
            ours[case.name] = asyncio.run(_run(values, case))
        return {c.name: (log.of(f"oh-{c.name}"), log.of(f"us-{c.name}"),
                         errors.get(c.name) or "", ours[c.name]) for c in CASES}


async def _run(values: dict[str, Any], case: Case) -> str:
    """Run the live test; its final event, for the failure message (the key never shows)."""
    events = [e async for e in L.run(values)]
    for e in events:
        assert case.key() not in e.to_json()
    return events[-1].summary()


def test_corpus_is_broad() -> None:
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_request_equals_openhands(case: Case, requests: dict[str, Any]) -> None:
    theirs, ours, error, outcome = requests[case.name]
    assert theirs, f"OpenHands sent nothing ({error})"
    assert ours, f"the live test sent nothing ({outcome})"
    assert comparable(ours[0]) == comparable(theirs[0])
    assert not any(case.key() in json.dumps(r.body) for r in ours + theirs)
