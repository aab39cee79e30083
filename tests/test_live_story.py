"""The Test pane's story, UI-free: the history of attempts, tokens/s while streaming, and the
request as a curl command (the key as $LLM_API_KEY), against the loopback fault server."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest

from tests import fault_server as fs
from tests import test_live_test as T
from tests.keyring_env import CANARY
from tests.test_live_test import collect, settings
from tui.live import events as E
from tui.live.attempts import AttemptLog, RateMeter
from tui.live.curl import curl_command
from tui.live.request import _secrets, completion_kwargs

pytestmark = pytest.mark.filterwarnings("ignore:.*ReadOnly.*:UserWarning")
# The engine's fixtures: one loop, one litellm import, the fault server.
loop, engine, _server, srv = T.loop, T.engine, T._server, T.srv


def history(events: list[E.Event]) -> AttemptLog:
    log = AttemptLog()
    for e in events:
        log.add(e)
    return log


# -- history -----------------------------------------------------------------------------
def test_history_keeps_each_attempt_with_status_message_wait_and_retry_after(
        loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.rate_limited(retry_after=12), fs.server_error(), fs.rate_limited())
    events = collect(loop, settings(srv, num_retries=3, retry_min_wait=1, retry_max_wait=30,
                                    retry_multiplier=2))
    log = history(events)
    first, second, third = log.rows
    assert (first.ok, first.status, first.wait_s, first.retry_after_s) == (False, 429, 12, 12)
    assert "Rate limit reached for requests per min" in first.message
    assert first.head() == ("✗ rate limited (429) · waited 12 s · Retry-After 12 s · "
                            "OpenHands: 2 s")
    assert (second.status, second.wait_s, second.retry_after_s) == (500, 4, None)
    assert "no Retry-After" in second.head() and "waited 4 s" in second.head()
    assert third.ok is False and third.status == 429 and third.wait_s is None
    assert "all 3 attempts failed" in third.message
    text = log.text()
    assert text.splitlines()[0].startswith("1/3 ✗ rate limited (429)")
    assert CANARY not in text
    assert all(len(line) <= 78 for line in (r.head() for r in log.rows))  # one line at 80


def test_history_marks_the_answered_attempt_and_a_wait_cut_short(
        loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.rate_limited(retry_after=30))
    events = collect(loop, settings(srv))
    log = AttemptLog()
    for e in events:
        if isinstance(e, E.Waiting) and e.seconds_left == 28:
            log.add(e)
            log.retried_now()  # R pressed with 28 s left
            continue
        if not (isinstance(e, E.Waiting) and e.seconds_left < 28):
            log.add(e)
    assert log.rows[0].head().startswith("✗ rate limited (429) · waited 2 s of 30 s "
                                         "(retried now) · Retry-After 30 s")
    assert log.rows[1].head() == "✓ answered" and log.rows[1].ok


def test_tokens_per_second_while_streaming() -> None:
    meter = RateMeter()
    assert meter.rate() is None and meter.describe() == "Streaming: 0 tokens"
    for t in (10.0, 10.5, 11.0, 11.5, 12.0):
        meter.add(t)
    assert meter.rate() == pytest.approx(2.0)
    assert meter.describe() == "Streaming: 5 tokens, ~2.0 tokens/s"


# -- copy as curl ------------------------------------------------------------------------
def test_curl_reproduces_the_request_and_never_holds_the_key(
        loop: Any, srv: fs.FaultServer) -> None:
    values = settings(srv, max_output_tokens=256, seed=7, timeout=30)
    collect(loop, values)
    sent = srv.chat[0].body
    kwargs = completion_kwargs(values)
    cmd = curl_command(kwargs, _secrets(values, kwargs)).command
    assert CANARY not in cmd and CANARY[-4:] not in cmd
    assert '"Authorization: Bearer $LLM_API_KEY"' in cmd and "--max-time 30" in cmd
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "LLM_API_KEY": CANARY}, check=True).stdout
    assert "ready" in out  # the server streamed its answer to curl
    got = srv.chat[1]
    assert got.key == CANARY  # the shell put the key in, from the variable
    for k in ("model", "messages", "stream", "temperature", "top_p",
              "max_completion_tokens", "seed"):
        assert got.body.get(k) == sent.get(k), k


def test_curl_for_anthropic_azure_and_the_providers_it_cannot_write() -> None:
    values = {"model": "anthropic/claude-sonnet-4-20250514", "api_key": CANARY}
    kw = completion_kwargs(values)
    cmd = curl_command(kw, _secrets(values, kw)).command
    assert cmd.startswith("curl -sN https://api.anthropic.com/v1/messages")
    assert '"x-api-key: $LLM_API_KEY"' in cmd and '"max_tokens": 64000' in cmd
    assert '"model": "claude-sonnet-4-20250514"' in cmd and CANARY not in cmd
    values = {"model": "azure/my-deploy", "api_key": CANARY,
              "base_url": "https://res.openai.azure.com"}
    kw = completion_kwargs(values)
    cmd = curl_command(kw, _secrets(values, kw)).command
    assert "/openai/deployments/my-deploy/chat/completions?api-version=" in cmd
    assert '"api-key: $LLM_API_KEY"' in cmd and CANARY not in cmd
    got = curl_command(completion_kwargs({"model": "gemini/gemini-2.5-pro"}))
    assert not got.command and "gemini speaks its own API" in got.problem
    assert "No model is set" in curl_command(completion_kwargs({"model": ""})).problem


def test_curl_masks_secrets_in_completion_kwargs() -> None:
    values = {"model": "openai/gpt-4o", "api_key": CANARY,
              "completion_kwargs": {"extra_headers": {"X-Token": CANARY + "-hdr"},
                                    "user": "me"}}
    kw = completion_kwargs(values)
    cmd = curl_command(kw, _secrets(values, kw)).command
    assert CANARY not in cmd and "extra_headers are left out" in cmd
    assert '"user": "me"' in cmd
