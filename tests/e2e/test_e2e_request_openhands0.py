"""End to end: the live test's request is the one OpenHands 0.62 makes, config by config.

For every config.toml of :mod:`tests.e2e.request_corpus`, OpenHands' own
``openhands.llm.llm.LLM(config, service_id).completion(...)`` (openhands-ai 0.62.0 in a Python
3.12 venv) and the live test (``tui.live.check.run``) each send one request to the same logging
server (:mod:`tests.e2e.request_log`), under their own case prefix. The two requests must have
the same method, path and query, the same auth header and the same JSON body, apart from what is
deliberately different: the live test streams (``stream``, ``stream_options``, Gemini's
``:streamGenerateContent?alt=sse``) and the prompt (messages) is not compared.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import openhands_venv, request_log
from tests.e2e.request_corpus import CASES, Case
from tests.e2e.servers import server_env
from tui.core.catalog import catalog_path
from tui.core.config_file import ConfigFile
from tui.core.settings import load, mask
from tui.live import check as L
from tui.live.request import proxy_model_info

pytestmark = pytest.mark.timeout(openhands_venv.BUILD_TIMEOUT + 600)

RUNNER = Path(__file__).with_name("openhands0_request.py")
AUTH_HEADERS = ("authorization", "api-key", "x-api-key", "x-goog-api-key")
STREAMING = ("stream", "stream_options")
PROMPT = ("messages", "contents", "system")  # the prompt, in each protocol


def comparable(r: request_log.Logged, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """What must be equal: path, query, auth headers (masked) and the body sans streaming;
    ``skip``: body keys and auth headers left out."""
    path = r.path.replace(":streamGenerateContent", ":generateContent")
    query = {k: v for k, v in r.query.items() if (k, v) != ("alt", "sse")}
    body = r.body
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in STREAMING + PROMPT + skip}
    auth = {h: mask(r.headers[h]) + f" (len {len(r.headers[h])})"
            for h in AUTH_HEADERS if h in r.headers and h not in skip}
    return {"method": r.method, "path": path, "query": query, "auth": auth,
            "body": json.dumps(body, sort_keys=True)}


@dataclass(frozen=True)
class Sent:
    """The requests of one case: OpenHands' LLM, the live test, the live test's arguments
    sent by OpenHands' litellm; and how each call ended."""

    openhands: list[request_log.Logged]
    live_test: list[request_log.Logged]
    our_kwargs: list[request_log.Logged]
    openhands_error: str
    our_kwargs_error: str
    live_test_outcome: str
    openhands_gets: list[request_log.Logged]  # e.g. a LiteLLM proxy's model info
    live_test_gets: list[request_log.Logged]


def _get(r: request_log.Logged) -> tuple[str, dict[str, str]]:
    """A GET as compared: its path and auth headers (masked)."""
    return r.path, {h: mask(r.headers[h]) for h in AUTH_HEADERS if h in r.headers}


@pytest.fixture(scope="module")
def requests(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Sent]:
    """Case name -> what was sent."""
    python = openhands_venv.python_with(["openhands-ai==0.62.0"])
    tmp = tmp_path_factory.mktemp("requests")
    with request_log.serve() as (url, log):
        jobs, ours = [], {}
        for case in CASES:
            for side in ("oh", "us", "kw"):
                path = tmp / f"{side}-{case.name}.toml"
                path.write_text(case.render(f"{url}/{side}-{case.name}"))
            jobs.append({"case": case.name, "config": str(tmp / f"oh-{case.name}.toml"),
                         "group": case.group})
            values = _values(tmp / f"kw-{case.name}.toml", case.group)
            info = asyncio.run(proxy_model_info(values))
            jobs.append({"case": f"kw-{case.name}",
                         "kwargs": L.completion_kwargs(values, model_info=info)})
        (tmp / "cases.json").write_text(json.dumps(jobs))
        env = server_env(tmp, LITELLM_LOCAL_MODEL_COST_MAP="True")
        catalog = str(catalog_path())
        p = subprocess.run([str(python), str(RUNNER), str(tmp / "cases.json"), catalog], env=env,
                           cwd=tmp, capture_output=True, text=True, timeout=900)
        assert p.returncode == 0, p.stderr[-3000:]
        errors = {d["case"]: d["error"] for d in map(json.loads, p.stdout.splitlines())}
        for case in CASES:
            values = _values(tmp / f"us-{case.name}.toml", case.group)
            ours[case.name] = asyncio.run(_run(values, case))
        return {c.name: Sent(log.of(f"oh-{c.name}"), log.of(f"us-{c.name}"),
                             log.of(f"kw-{c.name}"), errors.get(c.name) or "",
                             errors.get(f"kw-{c.name}") or "", ours[c.name],
                             log.of(f"oh-{c.name}", "GET"), log.of(f"us-{c.name}", "GET"))
                for c in CASES}


def _values(config: Path, group: str | None) -> dict[str, Any]:
    """The live test's input from a config.toml, as `llm-settings test` builds it."""
    return L.values_of(load(ConfigFile.load(config), group, environ={}))


async def _run(values: dict[str, Any], case: Case) -> str:
    """Run the live test; its final event, for the failure message (the key never shows)."""
    events = [e async for e in L.run(values)]
    for e in events:
        assert case.key() not in e.to_json()
    return events[-1].summary()


def test_corpus_is_broad() -> None:
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)


SENT = [c for c in CASES if not c.refused]
REFUSED = [c for c in CASES if c.refused]


@pytest.mark.parametrize("case", SENT, ids=[c.name for c in SENT])
def test_arguments_equal_openhands(case: Case, requests: dict[str, Sent]) -> None:
    """The live test's litellm arguments, sent by OpenHands' own litellm, make OpenHands'
    request: what llm-settings builds is what OpenHands builds."""
    sent = requests[case.name]
    assert sent.openhands, f"OpenHands sent nothing ({sent.openhands_error})"
    assert sent.our_kwargs, f"our arguments sent nothing ({sent.our_kwargs_error})"
    assert comparable(sent.our_kwargs[0]) == comparable(sent.openhands[0])


@pytest.mark.parametrize("case", SENT, ids=[c.name for c in SENT])
def test_live_test_request_equals_openhands(case: Case, requests: dict[str, Sent]) -> None:
    """The request the live test itself makes (the pinned litellm, streamed, with
    :mod:`tui.live.wire0`'s rules) is OpenHands 0.62's own, on the wire."""
    sent = requests[case.name]
    assert sent.openhands, f"OpenHands sent nothing ({sent.openhands_error})"
    assert sent.live_test, f"the live test sent nothing ({sent.live_test_outcome})"
    assert comparable(sent.live_test[0]) == comparable(sent.openhands[0])
    assert [_get(r) for r in sent.live_test_gets] == [_get(r) for r in sent.openhands_gets]
    every = sent.openhands + sent.live_test + sent.our_kwargs
    assert not any(case.key() in json.dumps(r.body) for r in every)


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_live_test_refuses_what_openhands_refuses(case: Case,
                                                  requests: dict[str, Sent]) -> None:
    """Where OpenHands 0.62's LiteLLM refuses a parameter (drop_params off), the live test
    sends nothing either and says why, though the pinned litellm would send it."""
    sent = requests[case.name]
    assert not sent.openhands and "UnsupportedParamsError" in sent.openhands_error
    assert not sent.our_kwargs and "UnsupportedParamsError" in sent.our_kwargs_error
    assert not sent.live_test
    assert "refuses the request" in sent.live_test_outcome
