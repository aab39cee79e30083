"""Live test engine benchmarks, against the fault server on loopback.

1. Time to first token through ``tui.live.check.run`` vs a bare ``litellm.acompletion`` stream
   with the same arguments (median of interleaved runs; goal: < 2 ms added).
2. Countdown drift over a real 30 s wait (``--quick``: 5 s): when each Waiting tick and the
   next attempt happen vs when they should (goal: < 100 ms).

Run: .venv/bin/python benchmarks/bench_live_test.py [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import fault_server as fs
from tui.core import fields as F
from tui.live import check as L
from tui.live import events as E


def settings(url: str, **over: Any) -> dict[str, Any]:
    values = {f.name: f.default for f in F.FIELDS}
    values.update(model="openai/test-model", api_key="sk-bench-0000000000000000", base_url=url)
    values.update(over)
    return values


async def engine_ttft(values: dict[str, Any]) -> float:
    """Seconds from calling the engine to its first Token event (the run is drained)."""
    first = None
    start = time.perf_counter()
    async for e in L.run(values):
        if first is None and isinstance(e, E.Token):
            first = time.perf_counter()
    assert first is not None and isinstance(e, E.Done), e
    return first - start


async def bare_ttft(litellm: Any, values: dict[str, Any]) -> float:
    """Seconds from calling litellm.acompletion to the first content chunk (drained)."""
    kwargs = L.completion_kwargs(values)
    first = None
    start = time.perf_counter()
    stream = await litellm.acompletion(**kwargs)
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter()
    assert first is not None
    return first - start


async def ttft(server: fs.FaultServer, runs: int) -> None:
    litellm = L._load_litellm()
    values = settings(server.url)
    for _ in range(5):  # warm up both paths (clients, catalog, first-call caches)
        await engine_ttft(values)
        await bare_ttft(litellm, values)
    engine: list[float] = []
    bare: list[float] = []
    for i in range(runs):
        if i % 2:
            bare.append(await bare_ttft(litellm, values))
            engine.append(await engine_ttft(values))
        else:
            engine.append(await engine_ttft(values))
            bare.append(await bare_ttft(litellm, values))
    me, mb = statistics.median(engine) * 1000, statistics.median(bare) * 1000
    print(f"time to first token, median of {runs} interleaved runs each:")
    print(f"  bare litellm.acompletion stream: {mb:7.2f} ms")
    print(f"  through tui.live.check.run:       {me:7.2f} ms")
    verdict = "ok" if me - mb < 2 else "OVER GOAL"
    print(f"  added by the engine:             {me - mb:+7.2f} ms  (goal < 2 ms: {verdict})")


async def drift(server: fs.FaultServer, seconds: int) -> None:
    server.push(fs.rate_limited(retry_after=seconds))
    values = settings(server.url, retry_min_wait=0, retry_max_wait=0)
    ticks: list[tuple[int, float]] = []
    retried = None
    async for e in L.run(values):
        now = time.perf_counter()
        if isinstance(e, E.Waiting):
            ticks.append((e.seconds_left, now))
        elif isinstance(e, E.Attempt) and e.n == 2:
            retried = now
    assert retried is not None and ticks[0][0] == seconds
    start = ticks[0][1]
    errors = [abs(t - (start + seconds - left)) for left, t in ticks]
    end = retried - (start + seconds)
    print(f"countdown drift over a real {seconds} s wait ({len(ticks)} ticks):")
    print(f"  worst tick off its deadline: {max(errors) * 1000:6.2f} ms")
    verdict = "ok" if abs(end) < 0.1 else "OVER GOAL"
    print(f"  retry started late by:       {end * 1000:6.2f} ms  (goal < 100 ms: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 5 s wait instead of 30 s")
    parser.add_argument("--runs", type=int, default=30, help="runs of each (default 30)")
    args = parser.parse_args()
    with fs.FaultServer() as server:
        asyncio.run(ttft(server, args.runs))
        server.reset()
        asyncio.run(drift(server, 5 if args.quick else 30))


if __name__ == "__main__":
    main()
