"""The live test's own limits, stream failures named for what happened, Retry-After in both
numbers, and no header value shown: against the loopback fault server.

Limits are passed small (tenths of a second): every test waits for an event, never sleeps.
"""
# ruff: noqa: F811

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests import fault_server as fs
from tests.keyring_env import CANARY
from tests.test_live_test import (  # noqa: F401  (fixtures, used by name)
    _disconnected,
    _server,
    cli,
    cli_env,
    collect,
    config,
    engine,
    loop,
    of,
    settings,
    srv,
)
from tui.live import check as L
from tui.live import events as E

pytestmark = pytest.mark.filterwarnings("ignore:.*ReadOnly.*:UserWarning")

HEADER_CANARY = "CANARY-HEADER-7f3e9a1c5b2d4e6f"


def fast(**kw: Any) -> L.Limits:
    """Small limits, so a test never waits long."""
    base = {"first_token_s": 0.3, "idle_s": 0.3, "max_tokens": 2000, "max_answer_s": 60.0}
    return L.Limits(**{**base, **kw})


# -- 1. the test never hangs -------------------------------------------------------------
def test_a_server_that_never_answers_meets_the_first_token_deadline(
        loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.hang())
    events = collect(loop, settings(srv, timeout=None), limits=fast())
    failed = events[-1]
    assert isinstance(failed, E.Failed) and failed.cause_kind == "no_first_token"
    assert failed.message == ("no first token within 0.3 s (timeout is unset; OpenHands "
                              "would wait up to 600 s)")
    assert srv.count == 1  # the test's own limit ends the test: OpenHands would still wait
    assert loop(_disconnected(srv.chat[0]))  # and the request is closed


def test_the_first_token_deadline_counts_down_each_attempt(loop: Any,
                                                           srv: fs.FaultServer) -> None:
    srv.push(fs.rate_limited(), fs.hang())
    events = collect(loop, settings(srv, timeout=None), limits=fast(first_token_s=1.2))
    ticks = of(events, E.Awaiting)
    assert [(t.attempt, t.seconds_left, t.limit_s, t.own_limit) for t in ticks] == [
        (2, 1, 1.2, True)]  # attempt 2 gets its own deadline, ticked once a second
    assert ticks[0].summary() == "attempt 2/4: no first token yet, giving up in 1 s"
    assert "no first token within 1.2 s" in events[-1].message


def test_with_timeout_set_the_first_token_waits_the_timeout_and_retries(
        loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.hang(), fs.hang())
    events = collect(loop, settings(srv, timeout=0.3, num_retries=2), limits=fast(
        first_token_s=99))
    failed = events[-1]
    assert failed.cause_kind == "timeout" and "within 0.3 s" in failed.message
    assert srv.count == 2  # a timeout OpenHands retries
    assert "first token and each chunk within 0.3 s (timeout)" in events[0].limits


def test_the_limits_are_shown_before_the_request(loop: Any, srv: fs.FaultServer) -> None:
    started = collect(loop, settings(srv, timeout=None))[0]
    assert started.limits == (
        "first token within 30 s, then data every 30 s (timeout is unset; OpenHands would "
        "wait up to 600 s); the answer is cut at 2,000 tokens or 60 s")
    assert started.summary().splitlines()[1] == "limits: " + started.limits


def test_an_endless_stream_is_cut_at_the_token_cap_and_counts_as_answered(
        loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.endless())
    events = collect(loop, settings(srv))  # the default limits: 2,000 tokens
    done = events[-1]
    assert isinstance(done, E.Done)
    assert done.stats.cut == "answer cut at 2,000 tokens: the model answered"
    assert done.summary().endswith(", answer cut at 2,000 tokens: the model answered")
    assert len(of(events, E.Token)) == 2000
    assert done.stats.text == "".join(t.text for t in of(events, E.Token))
    assert loop(_disconnected(srv.chat[0]))  # the stream is closed, not left running


def test_the_answer_is_cut_at_the_time_cap_even_between_chunks(
        loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.stall(after=1, tokens=("a", "b", "c")))
    done = collect(loop, settings(srv, timeout=None),
                   limits=fast(max_tokens=10**9, max_answer_s=0.3, idle_s=10))[-1]
    assert isinstance(done, E.Done)  # the stall: data stopped, the answer time ran out first
    assert done.stats.cut == "answer cut at 0.3 s: the model answered"
    assert done.stats.duration_s < 10  # cut at its own deadline, not at the idle one
    assert done.stats.text == "a"


# -- 2. a stream that stops is named for what happened -----------------------------------
def test_a_stalled_stream_is_named_with_timeout_unset(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.stall(after=2))
    failed = collect(loop, settings(srv, timeout=None), limits=fast())[-1]
    assert failed.cause_kind == "stalled" and failed.partial_text == "Hello,"
    assert failed.message == ("the stream stalled: no data for 0.3 s (timeout is unset; "
                              "OpenHands would wait up to 600 s)")
    assert "closed" not in failed.message
    assert srv.count == 1


def test_a_stalled_stream_is_named_with_timeout_set(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.stall(after=2), fs.stall(after=2))
    events = collect(loop, settings(srv, timeout=0.3, num_retries=2), limits=fast())
    failed = events[-1]
    assert failed.cause_kind == "stalled", failed.message
    assert failed.message.startswith("the stream stalled: no data for 0.3 s")
    assert "closed" not in failed.message
    assert srv.count == 2  # OpenHands retries a read timeout


def test_litellm_repeat_guard_is_named(loop: Any, srv: fs.FaultServer, engine: Any) -> None:
    srv.push(fs.endless(" again", numbered=False))
    failed = collect(loop, settings(srv))[-1]
    times = engine.REPEATED_STREAMING_CHUNK_LIMIT
    assert failed.cause_kind == "repeating", failed.message
    assert failed.message == ("LiteLLM stopped the stream: the model repeated the same chunk "
                              f"{times} times")
    assert failed.partial_text.startswith(" again again")


# -- 3. Retry-After: both numbers --------------------------------------------------------
def test_a_short_retry_after_is_named_with_openhands_wait(loop: Any,
                                                          srv: fs.FaultServer) -> None:
    srv.push(fs.rate_limited(retry_after=1))
    events = collect(loop, settings(srv, retry_min_wait=3))
    w = of(events, E.Waiting)[0]
    assert (w.asked_s, w.openhands_s, w.total_seconds, w.retry_after) == (1, 3, 3, False)
    assert w.summary() == ("rate limited (429): attempt 2/4 in 3 s (the provider asks to wait "
                           "1 s; OpenHands waits 3 s)")


def test_a_long_retry_after_says_openhands_ignores_it(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.rate_limited(retry_after=12))
    w = of(collect(loop, settings(srv)), E.Waiting)[0]
    assert (w.asked_s, w.openhands_s, w.total_seconds, w.retry_after) == (12, 2, 12, True)
    assert w.why() == ("the provider asks to wait 12 s; OpenHands ignores Retry-After and "
                       "would retry after 2 s")


def test_cli_shows_both_waits(srv: fs.FaultServer, tmp_path: Path,
                              cli_env: dict[str, str]) -> None:
    srv.push(fs.rate_limited(retry_after=1))
    p = cli(["--config", str(config(tmp_path, srv)), "test"], cli_env, tmp_path)
    assert p.returncode == 0, p.stderr
    assert ("rate limited (429): attempt 2/3 in 1 s (the provider asks to wait 1 s; OpenHands "
            "ignores Retry-After and would retry after 0.5 s)") in p.stderr.splitlines()


# -- 4. no header value is ever shown ----------------------------------------------------
def test_cli_json_never_shows_a_header_value(srv: fs.FaultServer, tmp_path: Path,
                                             cli_env: dict[str, str]) -> None:
    extra = ('[llm.probe]\ncompletion_kwargs = {extra_headers = {X-Custom = "' + HEADER_CANARY
             + '"}, metadata = {session_token = "' + HEADER_CANARY + '-2"}}\n')
    srv.push(fs.error(400, "bad header X-Custom: " + HEADER_CANARY))  # a server echoing it
    p = cli(["--config", str(config(tmp_path, srv, extra)), "--llm", "probe", "test", "--json"],
            cli_env, tmp_path)
    assert p.returncode == 1
    assert HEADER_CANARY not in p.stdout + p.stderr
    params = json.loads(p.stdout.splitlines()[0])["request"]["params"]
    assert params["extra_headers"]["X-Custom"] == "****" + HEADER_CANARY[-4:]
    assert params["metadata"]["session_token"] == "****" + (HEADER_CANARY + "-2")[-4:]
    assert srv.chat[0].headers["x-custom"] == HEADER_CANARY  # it still reaches the server


def test_request_description_masks_every_header() -> None:
    kwargs = L.completion_kwargs({"model": "openai/m", "max_output_tokens": 4096,
                                  "completion_kwargs": {
        "extra_headers": {"X-Custom": HEADER_CANARY, "X-Number": 12345678},
        "headers": {"X-Other": HEADER_CANARY}, "my_secret": HEADER_CANARY,
        "nested": {"auth_token": HEADER_CANARY}}})
    info = L.describe_request(kwargs)
    text = json.dumps(info.params)
    assert HEADER_CANARY not in text and "12345678" not in text
    assert info.params["max_completion_tokens"] == 4096  # a number under "token": no secret
    assert info.params["extra_headers"] == {"X-Custom": "****4e6f", "X-Number": "****"}


# -- the Test pane -----------------------------------------------------------------------
def _pane_app(tmp_path: Path, url: str, extra: str = "", attempts: int = 1) -> Any:
    from tests.test_wizard_and_test_pane import _server_config
    from tui.core.secrets import SecretStore
    from tui.ui.app import SettingsApp

    cfg = _server_config(tmp_path, url, attempts)
    cfg.write_text(cfg.read_text() + extra)
    return SettingsApp(cfg, group="probe" if extra else None, store=SecretStore(),
                       environ={"LLM_API_KEY": CANARY})


def _pane_text(app: Any) -> str:
    """Everything the Test pane shows as text: status, request view, stats."""
    from textual.widgets import Static

    from tui.ui.check_pane import LiveTestPanel

    panel = app.query_one(LiveTestPanel)
    return "\n".join(str(panel.query_one(f"#{i}", Static).render())
                     for i in ("test-status", "test-request", "test-stats"))


def test_pane_counts_down_to_the_first_token_and_names_the_result(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_wizard_and_test_pane import FAIL, drive, status, until
    from tui.ui.check_pane import LiveTestPanel

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    with fs.FaultServer() as server:
        server.push(fs.hang())
        app = _pane_app(tmp_path, server.url)

        monkeypatch.setattr(LiveTestPanel, "limits", fast(first_token_s=1.5))

        async def steps(pilot: Any) -> None:
            await pilot.press("f6")
            await until(pilot, lambda: "no first token yet: giving up in 1 s" in status(app))
            assert "Attempt 1 of 1" in status(app)
            await until(pilot, lambda: status(app).startswith("✗"))
            assert status(app) == ("✗ no first token within 1.5 s (timeout is unset; OpenHands "
                                   "would wait up to 600 s)")
            assert "Limits: first token within 1.5 s" in _pane_text(app)

        drive(app, steps)
        assert server.count == 1


def test_pane_shows_both_waits_and_never_a_header_value(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_wizard_and_test_pane import FAIL, drive, status, until

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    extra = ('[llm.probe]\ncompletion_kwargs = {extra_headers = {X-Custom = "' + HEADER_CANARY
             + '"}}\n')
    with fs.FaultServer() as server:
        server.push(fs.rate_limited(30), fs.error(400, "bad header: " + HEADER_CANARY))
        app = _pane_app(tmp_path, server.url, extra, attempts=2)

        async def steps(pilot: Any) -> None:
            await pilot.press("f6")
            await until(pilot, lambda: "Retrying in" in status(app))
            assert ("the provider asks to wait 30 s; OpenHands ignores Retry-After and would "
                    "retry after 1 s") in status(app)
            assert 'extra_headers {"X-Custom": "****' + HEADER_CANARY[-4:] in _pane_text(app)
            await pilot.press("r")
            await until(pilot, lambda: status(app).startswith("✗"))
            assert HEADER_CANARY not in _pane_text(app)
            assert HEADER_CANARY not in app.export_screenshot()

        drive(app, steps)
        assert [r.headers["x-custom"] for r in server.chat] == [HEADER_CANARY] * 2
