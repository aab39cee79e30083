"""Catalog load time and per-keystroke fuzzy search time on the full chat catalog.

Goal: a search per keystroke well under one 60 Hz frame (16 ms). Each typing sequence is
typed one character at a time (as the model picker's input does), with the incremental
narrowing of :func:`tui.core.search.search`, and again with it disabled ("cold": every
keystroke searches the whole catalog).

    .venv/bin/python benchmarks/bench_catalog.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.core import catalog as C  # noqa: E402
from tui.core import search as Q  # noqa: E402

GOAL_MS = 16.0
SEQUENCES = (
    "claude sonnet",
    "cl37son",
    "anthropic/claude-3-7",
    "gpt-4o",
    "gpt4omini",
    "o4-mini",
    "gemini 2.5 pro",
    "vertex gemini flash",
    "deepseek chat",
    "openrouter openhands",
    "llama 3.3 70b instruct",
    "qwen coder",
    "mistral large",
    "bedrock claude",
    "groq gpt oss",
)


def ms(seconds: float) -> float:
    return seconds * 1000


def bench_load(runs: int) -> dict[str, list[float]]:
    """Read the JSON, then build models/providers, with the caches cleared each run."""
    out: dict[str, list[float]] = {"json": [], "models": [], "total": []}
    for _ in range(runs):
        C.entries.cache_clear()
        C._catalog.cache_clear()
        t0 = time.perf_counter()
        C.entries()
        t1 = time.perf_counter()
        C.chat_models()
        C.providers()
        t2 = time.perf_counter()
        out["json"].append(ms(t1 - t0))
        out["models"].append(ms(t2 - t1))
        out["total"].append(ms(t2 - t0))
    return out


def bench_import(runs: int) -> list[float]:
    """``import tui.core.catalog`` in a fresh interpreter (no catalog read), via -X importtime."""
    times = []
    for _ in range(runs):
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import tui.core.catalog"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stderr
        line = next(x for x in err.splitlines() if x.rstrip().endswith("| tui.core.catalog"))
        times.append(int(line.split("|")[1]) / 1000)
    return times


def bench_typing(runs: int, incremental: bool) -> tuple[list[float], dict[str, float]]:
    """Every keystroke's time, and each keystroke's best of ``runs`` (noise removed)."""
    models = C.chat_models()
    per_key: list[float] = []
    best: dict[str, float] = {}
    for _ in range(runs):
        for seq in SEQUENCES:
            Q._last = None
            for n in range(1, len(seq) + 1):
                if not incremental:
                    Q._last = None
                start = time.perf_counter()
                Q.search(seq[:n], models)
                took = ms(time.perf_counter() - start)
                per_key.append(took)
                key = f"{seq!r}[:{n}]"
                best[key] = min(best.get(key, took), took)
    return per_key, best


def describe(times: list[float]) -> str:
    q = statistics.quantiles(times, n=20)
    return (f"median {statistics.median(times):6.2f} ms   p95 {q[-1]:6.2f} ms   "
            f"max {max(times):6.2f} ms   (n={len(times)})")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    load = bench_load(args.runs)
    imports = bench_import(max(5, args.runs // 3))
    models = C.chat_models()
    print(f"catalog: {len(C.entries())} entries, {len(models)} chat models, "
          f"{len(C.providers())} providers")
    print(f"import tui.core.catalog       median {statistics.median(imports):6.2f} ms")
    for name, label in (("json", "read JSON (entries)"), ("models", "build models+providers"),
                        ("total", "load total")):
        print(f"{label:<24} median {statistics.median(load[name]):6.2f} ms")

    Q.search("warm up", models)
    for incremental in (True, False):
        per_key, best = bench_typing(args.runs, incremental)
        med = statistics.median(per_key)
        label = "incremental" if incremental else "cold (no narrowing)"
        print(f"\nsearch per keystroke, {label}: {describe(per_key)}")
        print(f"  median / {GOAL_MS:.0f} ms goal = {med / GOAL_MS:.2f}   "
              f"p95 / goal = {statistics.quantiles(per_key, n=20)[-1] / GOAL_MS:.2f}")
        slowest = sorted(best.items(), key=lambda kv: -kv[1])[:3]
        print(f"  slowest keystrokes (best of {args.runs} runs): "
              + ", ".join(f"{key} {t:.1f} ms" for key, t in slowest)
              + f"   worst / goal = {slowest[0][1] / GOAL_MS:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
