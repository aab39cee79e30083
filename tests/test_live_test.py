"""The live test engine and `llm-settings test`, against a real fault-injecting server on loopback.

In-process tests share one litellm import and one event loop; waits use a fake clock (a 30 s
countdown runs instantly). Every request count is what the server received.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import fault_server as fs
from tests.keyring_env import CANARY
from tui.core import fields as F
from tui.core.catalog import entries
from tui.core.config_file import ConfigFile
from tui.core.settings import load
from tui.live import check as L
from tui.live import classify as C
from tui.live import events as E

# pydantic warns about litellm's types on first use; outside pytest the engine silences it
pytestmark = pytest.mark.filterwarnings("ignore:.*ReadOnly.*:UserWarning")

BIN = Path(sys.executable).parent / "llm-settings"
ROOT = Path(__file__).resolve().parent.parent


# -- fixtures ----------------------------------------------------------------------------
class FakeClock:
    """Instant time: every sleep jumps to its deadline (plus ``late`` seconds of lateness)."""

    def __init__(self, late: float = 0.0) -> None:
        self.t = 1000.0
        self.late = late
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep_until(self, deadline: float) -> None:
        self.sleeps.append(deadline)
        self.t = max(self.t, deadline) + self.late
        await asyncio.sleep(0)


@pytest.fixture(scope="module")
def loop() -> Iterator[Callable[[Coroutine[Any, Any, Any]], Any]]:
    """One event loop for the module (litellm keeps its HTTP clients per loop)."""
    with asyncio.Runner() as runner:
        yield runner.run


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """litellm imported once, the way the engine does, with a hostile .env in reach."""
    import dotenv.main

    dotenv_file = tmp_path_factory.mktemp("dotenv") / ".env"
    dotenv_file.write_text("LLM_MODEL=openai/from-dotenv\nLLM_API_KEY=from-dotenv\n")
    before = {k: v for k, v in os.environ.items() if k.startswith("LLM_")}
    fresh = "litellm" not in sys.modules
    found: list[str] = []

    def find_dotenv(*args: Any, **kwargs: Any) -> str:
        found.append(str(dotenv_file))
        return found[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dotenv.main, "find_dotenv", find_dotenv)
        litellm = L._load_litellm()
    if fresh:  # litellm's import really loaded that .env, and LLM_* are as they were
        assert found
        assert {k: v for k, v in os.environ.items() if k.startswith("LLM_")} == before
    return litellm


@pytest.fixture(scope="module")
def _server() -> Iterator[fs.FaultServer]:
    with fs.FaultServer(models=("test-model", "llama-3.1-8b-instruct")) as server:
        yield server


@pytest.fixture
def srv(_server: fs.FaultServer, engine: Any) -> fs.FaultServer:
    _server.reset()
    return _server


def settings(srv: fs.FaultServer | None, **over: Any) -> dict[str, Any]:
    """Every field at its default, pointed at the fault server, with the canary key."""
    values = {f.name: f.default for f in F.FIELDS}
    values.update(model="openai/test-model", api_key=CANARY,
                  base_url=srv.url if srv else None, retry_min_wait=1, retry_max_wait=30,
                  retry_multiplier=2)
    values.update(over)
    return values


def collect(loop: Callable[..., Any], values: dict[str, Any], **kw: Any) -> list[E.Event]:
    """All events of one run (fake clock unless given); no event may carry the key."""
    kw.setdefault("clock", FakeClock())

    async def go() -> list[E.Event]:
        return [e async for e in L.run(values, **kw)]

    events = loop(go())
    for e in events:
        assert CANARY not in e.to_json() and CANARY not in e.summary()
        json.loads(e.to_json())
    assert isinstance(events[0], E.Started)
    assert isinstance(events[-1], E.Done | E.Failed)
    assert sum(isinstance(e, E.Done | E.Failed) for e in events) == 1
    return events


def of(events: list[E.Event], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def countdowns(events: list[E.Event]) -> list[list[int]]:
    """The Waiting sequences, as their seconds_left."""
    runs: list[list[int]] = []
    previous = None
    for e in events:
        if isinstance(e, E.Waiting):
            if not isinstance(previous, E.Waiting):
                runs.append([])
            runs[-1].append(e.seconds_left)
        previous = e
    return runs


# -- success -----------------------------------------------------------------------------
def test_success_streams_tokens_then_stats(loop: Any, srv: fs.FaultServer) -> None:
    events = collect(loop, settings(srv))
    assert [type(e) for e in events[:2]] == [E.Started, E.Attempt]
    assert "".join(t.text for t in of(events, E.Token)) == "Hello, I am ready."
    stats = events[-1].stats
    assert stats.text == "Hello, I am ready." and stats.attempts == 1
    assert (stats.prompt_tokens, stats.completion_tokens, stats.usage_reported) == (12, 6, True)
    assert stats.ttft_s is not None and 0 < stats.ttft_s <= stats.duration_s
    assert stats.ttft_s < 0.25  # litellm's ~0.3 s of first-call imports were paid at load
    assert stats.tokens_per_s and stats.tokens_per_s > 0
    assert stats.finish_reason == "stop"
    assert stats.request.key == "****" + CANARY[-4:] and stats.request.url == srv.url
    assert srv.count == 1
    assert srv.chat[0].key == CANARY  # the real key reaches the server, and only the server
    assert srv.chat[0].body["stream"] is True
    assert "stream_options" not in srv.chat[0].body  # OpenHands' request, plus streaming


def test_usage_is_estimated_when_the_server_sends_none(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.ok(usage=False))
    stats = collect(loop, settings(srv))[-1].stats
    assert stats.usage_reported is False
    assert stats.prompt_tokens and stats.completion_tokens


def test_cost_from_the_catalog_or_the_settings(loop: Any, srv: fs.FaultServer) -> None:
    price = entries()["gpt-4o"]
    stats = collect(loop, settings(srv, model="openai/gpt-4o"))[-1].stats
    assert stats.cost_source == "catalog"
    assert stats.cost_usd == pytest.approx(12 * price["input_cost_per_token"]
                                           + 6 * price["output_cost_per_token"])
    own = settings(srv, input_cost_per_token=1e-6, output_cost_per_token=2e-6)
    stats = collect(loop, own)[-1].stats
    assert (stats.cost_source, stats.cost_usd) == ("settings", pytest.approx(24e-6))
    assert collect(loop, settings(srv))[-1].stats.cost_usd is None  # unknown model, no price


def test_slow_first_token_is_measured(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.slow(0.3))
    stats = collect(loop, settings(srv))[-1].stats
    assert stats.ttft_s >= 0.3


# -- retries -----------------------------------------------------------------------------
def test_rate_limited_twice_then_success(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.rate_limited(), fs.rate_limited())
    clock = FakeClock()
    events = collect(loop, settings(srv, num_retries=4), clock=clock)
    assert srv.count == 3
    assert [(a.n, a.total) for a in of(events, E.Attempt)] == [(1, 4), (2, 4), (3, 4)]
    # backoff: max(1, min(2 * 2^(n-1), 30)) -> 2 s, then 4 s; one tick per second
    assert countdowns(events) == [[2, 1], [4, 3, 2, 1]]
    assert F.retry_schedule(4, 1, 30, 2)[:2] == [2, 4]
    w = of(events, E.Waiting)[0]
    assert (w.cause_kind, w.cause, w.retry_after, w.total_seconds) == (
        "rate_limit", "rate limited (429)", False, 2)
    assert w.summary() == "rate limited (429): attempt 2/4 in 2 s (backoff 2 s)"
    assert isinstance(events[-1], E.Done) and events[-1].stats.attempts == 3


def test_one_attempt_means_one_request(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.rate_limited())
    events = collect(loop, settings(srv, num_retries=1))
    assert srv.count == 1 and not of(events, E.Waiting)
    assert events[-1].cause_kind == "rate_limit" and events[-1].status == 429


def test_retry_after_is_honoured_when_longer_and_shown(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.rate_limited(retry_after=12))
    events = collect(loop, settings(srv))
    assert countdowns(events) == [list(range(12, 0, -1))]
    w = of(events, E.Waiting)[0]
    assert w.retry_after is True and w.total_seconds == 12
    assert "the provider asks to wait 12 s" in w.summary()
    assert srv.count == 2 and isinstance(events[-1], E.Done)
    # a shorter Retry-After than the backoff changes nothing
    srv.reset()
    srv.push(fs.rate_limited(retry_after=1), fs.rate_limited(retry_after=1))
    events = collect(loop, settings(srv, retry_min_wait=3))
    assert countdowns(events) == [[3, 2, 1], [4, 3, 2, 1]]
    assert not any(w.retry_after for w in of(events, E.Waiting))


def test_retry_after_of_hours_ends_the_test(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.rate_limited(retry_after=3600))
    events = collect(loop, settings(srv))
    assert srv.count == 1 and not of(events, E.Waiting)
    assert "asks to wait 60 min" in events[-1].message


def test_quota_exhausted_is_not_retried(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.quota())
    failed = collect(loop, settings(srv))[-1]
    assert srv.count == 1
    assert failed.cause_kind == "quota" and failed.status == 429
    assert "quota" in failed.message and "billing" in failed.advice


@pytest.mark.parametrize(("reply", "attempts", "requests", "kind"), [
    ([fs.server_error()] * 3, 3, 3, "server_error"),
    ([fs.unavailable()] * 2, 2, 2, "server_error"),
])
def test_server_errors_are_retried_until_attempts_run_out(
        loop: Any, srv: fs.FaultServer, reply: list[fs.Reply], attempts: int, requests: int,
        kind: str) -> None:
    srv.push(*reply)
    events = collect(loop, settings(srv, num_retries=attempts))
    assert srv.count == requests
    assert len(countdowns(events)) == attempts - 1
    failed = events[-1]
    assert failed.cause_kind == kind and f"all {attempts} attempts failed" in failed.message
    assert failed.attempts == attempts


def test_server_error_then_success(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.unavailable(), fs.server_error())
    events = collect(loop, settings(srv))
    assert srv.count == 3 and isinstance(events[-1], E.Done)
    assert [w.cause for w in of(events, E.Waiting)][::2][:1] == ["server error (503)"]


def test_empty_answer_is_retried_with_temperature_1(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.empty())
    events = collect(loop, settings(srv))
    assert srv.count == 2 and isinstance(events[-1], E.Done)
    assert of(events, E.Waiting)[0].cause_kind == "empty"
    assert [r.body["temperature"] for r in srv.chat] == [0.0, 1.0]  # as OpenHands does


def test_timeout_is_retried(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.slow(1.0), fs.slow(1.0))
    events = collect(loop, settings(srv, timeout=0.2, num_retries=2))
    failed = events[-1]
    assert srv.count == 2 and failed.cause_kind == "timeout"
    assert "within 0.2 s" in failed.message and "timeout" in failed.advice


def test_no_hidden_retries(loop: Any, srv: fs.FaultServer, engine: Any) -> None:
    async def bare() -> None:  # litellm's defaults: the OpenAI SDK retries silently
        with contextlib.suppress(Exception):
            r = await engine.acompletion(model="openai/test-model", api_key="k",
                                         base_url=srv.url, stream=True,
                                         messages=[{"role": "user", "content": "hi"}])
            async for _ in r:
                pass

    srv.default = fs.server_error()
    loop(bare())
    assert srv.count == 3  # 1 request + 2 hidden retries
    srv.reset()
    srv.default = fs.server_error()
    collect(loop, settings(srv, num_retries=1))
    assert srv.count == 1  # the engine: every request is one the user sees


# -- failures named in plain words -------------------------------------------------------
@pytest.mark.parametrize(("reply", "over", "kind", "status", "message", "advice"), [
    (fs.unauthorized(echo_key=True), {}, "auth", 401, "API key was rejected",
     "llm-settings set api_key"),
    (fs.forbidden(), {}, "forbidden", 403, "refused access (403 Forbidden)", "permissions"),
    (fs.model_not_found("test-modle"), {"model": "openai/test-modle"}, "model_not_found", 404,
     "model 'openai/test-modle' was not found", "closest names: openai/test-model"),
    (fs.unsupported_param("temperature"), {"drop_params": False}, "unsupported_param", 400,
     "rejected a parameter (400 Bad Request)", "set drop_params = true"),
    (fs.unsupported_param("temperature"), {}, "unsupported_param", 400,
     "Unsupported parameter: 'temperature'", "llm-settings unset temperature"),
    (fs.context_too_long(), {"max_output_tokens": 16000}, "context_too_long", 400,
     "does not fit the model's context window", "16000 tokens requested"),
    (fs.error(404, "Not Found", "not_found"), {}, "not_found", 404, "404 Not Found",
     "end in /v1"),
])
def test_failures_are_named_with_advice_and_not_retried(
        loop: Any, srv: fs.FaultServer, reply: fs.Reply, over: dict[str, Any], kind: str,
        status: int, message: str, advice: str) -> None:
    srv.push(reply)
    events = collect(loop, settings(srv, **over))
    failed = events[-1]
    assert srv.count == 1 and not of(events, E.Waiting)
    assert (failed.cause_kind, failed.status) == (kind, status)
    assert message in failed.message, failed.message
    assert advice in failed.advice, failed.advice
    assert "Traceback" not in failed.message and "litellm." not in failed.message


def test_the_key_a_server_echoes_is_masked(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.unauthorized(echo_key=True))
    failed = collect(loop, settings(srv))[-1]
    assert f"Incorrect API key provided: ****{CANARY[-4:]}" in failed.message


def test_model_not_found_suggests_catalog_names(loop: Any, srv: fs.FaultServer) -> None:
    srv.models = ()  # the server lists nothing: fall back to LiteLLM's catalog
    srv.push(fs.model_not_found("gpt-4o-mnii"))
    failed = collect(loop, settings(srv, model="openai/gpt-4o-mnii"))[-1]
    assert "Did you mean" in failed.advice and "openai/gpt-4o-mini" in failed.advice


def test_drop_params_decides_whether_litellm_sends_a_parameter(loop: Any,
                                                               srv: fs.FaultServer) -> None:
    extra = {"completion_kwargs": {"thinking": {"type": "disabled"}}}
    events = collect(loop, settings(srv, drop_params=True, **extra))
    assert isinstance(events[-1], E.Done) and "thinking" not in srv.chat[0].body
    srv.reset()
    failed = collect(loop, settings(srv, drop_params=False, **extra))[-1]
    assert srv.count == 0  # refused by LiteLLM before sending
    assert failed.cause_kind == "unsupported_param"
    assert "set drop_params = true" in failed.advice
    assert "remove thinking from completion_kwargs" in failed.advice


def test_cut_stream_keeps_the_partial_answer(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.cut(after=3))
    events = collect(loop, settings(srv))
    failed = events[-1]
    assert srv.count == 1
    assert "".join(t.text for t in of(events, E.Token)) == "Hello, I"
    assert failed.cause_kind == "stream_cut" and failed.partial_text == "Hello, I"
    assert "cut off midway: the server closed the connection" in failed.message


def test_connection_dropped_before_any_text_is_retried(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.cut(after=0))
    events = collect(loop, settings(srv))
    assert srv.count == 2 and isinstance(events[-1], E.Done)
    assert of(events, E.Waiting)[0].cause == "connection dropped"


def test_malformed_chunk(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.malformed(after=2))
    failed = collect(loop, settings(srv))[-1]
    assert srv.count == 1
    assert failed.cause_kind == "malformed_stream" and failed.partial_text == "Hello,"
    assert "malformed stream chunk" in failed.message


def test_refused_connection(loop: Any, srv: fs.FaultServer, engine: Any) -> None:
    url = f"http://127.0.0.1:{fs.closed_port()}/v1"

    async def raw() -> BaseException:
        try:
            await engine.acompletion(model="openai/x", api_key="k", base_url=url, stream=True,
                                     num_retries=0, max_retries=0,
                                     messages=[{"role": "user", "content": "hi"}])
        except Exception as e:
            return e
        raise AssertionError("connected to a closed port")

    import httpx

    exc = loop(raw())
    # litellm 1.110.2 calls a refused connection a 500 InternalServerError ...
    assert type(exc).__name__ == "InternalServerError" and exc.status_code == 500
    assert "Connection error." in str(exc)
    chain = C._chain(exc)  # ... with the real cause in its chain
    assert any(isinstance(e, httpx.ConnectError) for e in chain)
    assert any(isinstance(e, ConnectionRefusedError) for e in chain)
    events = collect(loop, settings(None, base_url=url, num_retries=2))
    failed = events[-1]
    assert failed.cause_kind == "unreachable" and failed.status is None
    assert failed.message == (f"cannot reach {url}: is the server running? "
                              "(all 2 attempts failed)")
    assert countdowns(events) == [[2, 1]]  # connection errors are retried


def test_unknown_host(loop: Any, engine: Any) -> None:
    failed = collect(loop, settings(None, base_url="http://no-such-host.invalid/v1",
                                    num_retries=1))[-1]
    assert failed.cause_kind == "unreachable" and "does not resolve" in failed.message


def test_settings_problems_fail_before_any_request(loop: Any, engine: Any) -> None:
    failed = collect(loop, settings(None, model=None))[-1]
    assert failed.cause_kind == "no_model"
    failed = collect(loop, settings(None, model="foo", base_url="http://127.0.0.1:9/v1"))[-1]
    assert failed.cause_kind == "bad_model" and "openai/NAME" in failed.advice


# -- the request -------------------------------------------------------------------------
def test_the_server_sees_openhands_parameters(loop: Any, srv: fs.FaultServer) -> None:
    values = settings(srv, temperature=0.3, top_p=0.9, max_output_tokens=77, seed=7, top_k=5,
                      completion_kwargs={"presence_penalty": 0.5,
                                         "extra_headers": {"X-Trace": "abc"}})
    collect(loop, values)
    body, headers = srv.chat[0].body, srv.chat[0].headers
    assert body["model"] == "test-model" and body["stream"] is True
    assert (body["temperature"], body["top_p"], body["max_completion_tokens"], body["seed"],
            body["top_k"], body["presence_penalty"]) == (0.3, 0.9, 77, 7, 5, 0.5)
    assert body["messages"] == [{"role": "user", "content": L.DEFAULT_PROMPT}]
    assert headers["x-trace"] == "abc" and headers["authorization"] == f"Bearer {CANARY}"
    assert headers["x-stainless-retry-count"] == "0"


def test_azure_gets_max_tokens_api_version_and_api_key_header(loop: Any,
                                                              srv: fs.FaultServer) -> None:
    collect(loop, settings(srv, model="azure/my-deploy", api_version="2024-10-21",
                           max_output_tokens=50, base_url=f"http://127.0.0.1:{srv.port}"))
    r = srv.chat[0]
    assert r.path == "/openai/deployments/my-deploy/chat/completions?api-version=2024-10-21"
    assert r.headers["api-key"] == CANARY
    assert r.body["max_tokens"] == 50 and "max_completion_tokens" not in r.body
    srv.reset()
    collect(loop, settings(srv, model="azure/my-deploy", base_url=f"http://127.0.0.1:{srv.port}"))
    assert srv.chat[0].path.endswith("api-version=2024-12-01-preview")  # OpenHands' default


def test_completion_kwargs_like_openhands() -> None:
    kw = L.completion_kwargs(settings(None, model="openai/o3", reasoning_effort="high"))
    assert kw["reasoning_effort"] == "high"
    assert "temperature" not in kw and "top_p" not in kw  # reasoning models
    kw = L.completion_kwargs(settings(None, model="anthropic/claude-sonnet-4-20250514",
                                      temperature=0.5))
    assert kw["temperature"] == 0.5 and kw["top_p"] == 1.0  # OpenHands 0.62 keeps both
    assert kw["max_completion_tokens"] == 64000
    kw = L.completion_kwargs(settings(None, model="openai/gpt-4o"))
    assert kw["max_completion_tokens"] == entries()["gpt-4o"]["max_output_tokens"]
    kw = L.completion_kwargs(settings(None, aws_region_name="us-east-1",
                                      aws_secret_access_key="s3cr3t-value", num_retries=9))
    assert kw["aws_region_name"] == "us-east-1" and kw["aws_secret_access_key"] == "s3cr3t-value"
    assert (kw["num_retries"], kw["max_retries"], kw["stream"]) == (0, 0, True)


def test_request_description_hides_secrets_and_labels_unsaved() -> None:
    values = settings(None, base_url="http://127.0.0.1:8000/v1",
                      completion_kwargs={"extra_headers": {"Authorization": f"Bearer {CANARY}"}},
                      aws_secret_access_key=CANARY + "aws")
    info = L.describe_request(L.completion_kwargs(values), unsaved=["temperature", "model",
                                                                    "nonsense"])
    assert info.unsaved == ("model", "temperature")
    assert info.describe() == ("openai/test-model at http://127.0.0.1:8000/v1, key ****8e0c "
                               "(unsaved: model, temperature)")
    assert CANARY not in json.dumps(dataclasses_dict(info), default=str)
    assert info.params["extra_headers"]["Authorization"] == "****" + CANARY[-4:]
    assert "aws_secret_access_key" not in info.params
    none = L.describe_request(L.completion_kwargs(settings(None, api_key=None)))
    assert none.key == "(not set)" and none.url == "the openai default endpoint"


def dataclasses_dict(info: L.RequestInfo) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(info)


def test_values_of_settings(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[llm]\nmodel = "openai/o3"\nnum_retries = 2\n')
    s = load(ConfigFile.load(cfg), environ={"LLM_API_KEY": CANARY})
    values = L.values_of(s)
    assert values["model"] == "openai/o3" and values["num_retries"] == 2
    assert values["api_key"] == CANARY and values["retry_min_wait"] == 5


# -- waits and cancellation --------------------------------------------------------------
def test_countdown_ticks_at_absolute_deadlines(loop: Any) -> None:
    clock = FakeClock(late=0.3)  # every wake-up 0.3 s late: ticks must not drift

    async def go() -> list[int]:
        def make(left: int) -> E.Waiting:
            return E.Waiting(left, 5, "x", False)

        return [w.seconds_left async for w in L._countdown(clock, 5, None, make)]

    assert loop(go()) == [5, 4, 3, 2, 1]
    assert clock.sleeps == [1001.0, 1002.0, 1003.0, 1004.0, 1005.0]


def test_real_clock_sleeps_to_the_deadline(loop: Any) -> None:
    clock = L.RealClock()
    start = clock.now()
    loop(clock.sleep_until(start + 0.05))
    assert 0.05 <= clock.now() - start < 5  # upper bound: far, a busy machine is slow


def _first(loop: Any, values: dict[str, Any], until: Callable[[list[E.Event]], bool],
           **kw: Any) -> tuple[list[E.Event], float]:
    """Run until ``until(events)``, then cancel; return the events and how long cancel took."""
    events: list[E.Event] = []

    async def go() -> float:
        async def consume() -> None:
            async for e in L.run(values, **kw):
                events.append(e)

        task = asyncio.create_task(consume())
        while not until(events):
            await asyncio.sleep(0.005)
        started = time.perf_counter()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return time.perf_counter() - started

    return events, loop(go())


def test_cancel_during_a_wait_stops_at_once(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.rate_limited(retry_after=30))
    t0 = time.perf_counter()
    events, took = _first(loop, settings(srv), lambda ev: bool(of(ev, E.Waiting)))
    assert took < 5 and time.perf_counter() - t0 < 20  # the wait is 30 s
    assert srv.count == 1 and of(events, E.Waiting)[0].seconds_left == 30


async def _disconnected(request: fs.Request, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if request.disconnected.is_set():
            return True
        await asyncio.sleep(0.02)
    return False


def test_cancel_during_a_stream_closes_the_connection(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.ok(*["tick "] * 100, token_delay=0.05))
    events, took = _first(loop, settings(srv), lambda ev: len(of(ev, E.Token)) >= 2)
    assert took < 4 and not of(events, E.Done | E.Failed)  # the stream lasts 5 s
    assert loop(_disconnected(srv.chat[0]))  # the server saw the client go
    assert srv.count == 1


def test_closing_the_generator_mid_stream_closes_the_connection(loop: Any,
                                                                srv: fs.FaultServer) -> None:
    srv.push(fs.ok(*["tick "] * 100, token_delay=0.05))

    async def go() -> None:
        async with contextlib.aclosing(L.run(settings(srv))) as events:
            async for e in events:
                if isinstance(e, E.Token):
                    break

    loop(go())
    assert loop(_disconnected(srv.chat[0]))


def test_retry_now_ends_the_wait(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.rate_limited(retry_after=30))
    retry_now = asyncio.Event()
    retry_now.set()  # pressed before the wait: ignored

    async def go() -> tuple[list[E.Event], float]:
        events: list[E.Event] = []
        t0 = 0.0
        async for e in L.run(settings(srv), retry_now=retry_now):
            events.append(e)
            if isinstance(e, E.Waiting) and e.seconds_left == 30:
                t0 = time.perf_counter()
                asyncio.get_running_loop().call_later(0.1, retry_now.set)
        return events, time.perf_counter() - t0

    events, took = loop(go())
    assert isinstance(events[-1], E.Done) and srv.count == 2
    assert 0.1 <= took < 10  # the wait is 30 s
    assert [w.seconds_left for w in of(events, E.Waiting)] == [30]


# -- import hygiene ----------------------------------------------------------------------
def test_import_is_contained() -> None:
    os.environ.pop("LLM_FROM_IMPORT", None)
    with L._contained() as sink:
        print("noise from an import")
        os.environ["LLM_FROM_IMPORT"] = "x"
        os.environ["LLM_MODEL"] = "changed-by-dotenv"
    assert "noise" in sink.getvalue()
    assert "LLM_FROM_IMPORT" not in os.environ
    assert os.environ.get("LLM_MODEL") != "changed-by-dotenv"


def test_modules_import_nothing_heavy() -> None:
    code = ("import sys; import tui.cli.main, tui.live.check; "
            "print(sorted(m for m in ('litellm', 'textual') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
    code = "import sys; import tui.cli.main; print('tui.live.check' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, check=True)
    assert out.stdout.strip() == "False"


# -- the CLI, as a user runs it ----------------------------------------------------------
@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_")}
    env.update(LLM_API_KEY=CANARY, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               HOME=str(tmp_path))
    return env


def config(tmp_path: Path, srv: fs.FaultServer, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[llm]\nmodel = "openai/test-model"\nbase_url = "{srv.url}"\n'
                    "num_retries = 3\nretry_min_wait = 0\nretry_max_wait = 30\n"
                    f"retry_multiplier = 0.5\n{extra}")
    return path


def cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    p = subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env, cwd=cwd,
                       timeout=240)  # it imports LiteLLM: ~2 s idle, minutes on a busy machine
    assert CANARY not in p.stdout and CANARY not in p.stderr
    assert "Traceback" not in p.stderr
    return p


def test_cli_streams_the_answer_with_countdown_and_stats(srv: fs.FaultServer, tmp_path: Path,
                                                         cli_env: dict[str, str]) -> None:
    srv.push(fs.rate_limited(retry_after=1))
    p = cli(["--config", str(config(tmp_path, srv)), "test", "--prompt", "Say hi"], cli_env,
            tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "Hello, I am ready.\n"
    lines = p.stderr.splitlines()
    assert lines[0] == f"testing openai/test-model at {srv.url}, key ****{CANARY[-4:]}"
    assert lines[1].startswith("limits: first token within 30 s")
    assert lines[2] == "streamed here; OpenHands asks without streaming"
    assert lines[3:6] == ["attempt 1/3",
                          "rate limited (429): attempt 2/3 in 1 s (the provider asks to wait "
                          "1 s; OpenHands ignores Retry-After and would retry after 0.5 s)",
                          "attempt 2/3"]
    assert lines[6].startswith("done: OK in ") and "tokens/s" in lines[6]
    assert "12 prompt + 6 completion tokens, after 2 attempts" in lines[6]
    assert srv.count == 2 and srv.chat[0].key == CANARY
    assert srv.chat[1].body["messages"][0]["content"] == "Say hi"


def test_cli_json_lines_and_failure_exit_code(srv: fs.FaultServer, tmp_path: Path,
                                              cli_env: dict[str, str]) -> None:
    srv.push(fs.unauthorized(echo_key=True))
    p = cli(["--config", str(config(tmp_path, srv)), "test", "--json"], cli_env, tmp_path)
    assert p.returncode == 1
    events = [json.loads(x) for x in p.stdout.splitlines()]
    assert [e["event"] for e in events] == ["started", "attempt", "failed"]
    assert events[0]["request"]["key"] == "****" + CANARY[-4:]
    assert events[-1]["cause_kind"] == "auth" and events[-1]["status"] == 401
    assert p.stderr.splitlines() == [f"llm-settings: {events[-1]['message']}",
                                     f"  {events[-1]['advice']}"]
    assert srv.count == 1


def test_cli_on_a_terminal_updates_one_line_and_ctrl_c_cancels(
        srv: fs.FaultServer, tmp_path: Path, cli_env: dict[str, str]) -> None:
    import pty
    import select

    srv.push(fs.rate_limited(retry_after=30))
    master, slave = pty.openpty()  # stderr is a terminal; stdout a pipe
    # Ctrl-C as a terminal's shell leaves it: a job started in the background of a
    # non-interactive shell (nohup, `cmd &`) inherits SIGINT ignored, and Python then keeps it so.
    proc = subprocess.Popen([str(BIN), "--config", str(config(tmp_path, srv)), "test"],
                            stdout=subprocess.PIPE, stderr=slave, env=cli_env, cwd=tmp_path,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    os.close(slave)
    seen = b""

    def read(until: Callable[[bytes], bool], timeout: float) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while not until(seen) and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the process closed the terminal
                    return
                if not chunk:
                    return
                seen += chunk

    try:
        read(lambda b: b"rate limited" in b, 120)
        assert b"rate limited" in seen, seen
        masks = [x for x in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                 if x.startswith(("SigBlk", "SigIgn", "SigCgt"))]  # said if it fails
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        took = time.perf_counter() - t0
        read(lambda b: False, 2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    err = seen.decode()
    assert proc.returncode == 130 and took < 10, (proc.returncode, took, masks, err)
    # the status line is rewritten in place: \r, clear to end of line, new text
    assert "\r\x1b[Kattempt 1/3\r\x1b[Krate limited (429): attempt 2/3 in 30 s (the provider asks "\
           "to wait 30 s; OpenHands ignores Retry-After and would retry after 0.5 s)" in err
    assert "test cancelled" in err and "Traceback" not in err
    assert CANARY not in err and CANARY.encode() not in out
    assert srv.count == 1


def test_bad_gateway_fails_at_once_as_openhands_0x_does(loop: Any, srv: fs.FaultServer) -> None:
    """OpenHands 0.62 retries six exception classes; a 502 (BadGatewayError) is not one of
    them, so a later attempt must not turn the test green where OpenHands fails."""
    srv.push(fs.error(502, "upstream trouble", "server_error"))
    failed = collect(loop, settings(srv))[-1]
    assert srv.count == 1 and isinstance(failed, E.Failed) and failed.status == 502
    assert "from SDK 1.58 on OpenHands retries it" in failed.advice
