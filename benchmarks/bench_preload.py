"""LiteLLM loaded before F6: the first live test sends at once; the CLI's `test` adds little.

1. The app: the real program on a pseudo-terminal (80x24), on a config pointing at the fault
   server on loopback. Measured: start to the Settings pane and RSS then (as in
   bench_startup.py), RSS 10 s later (LiteLLM preloaded by then), and the time from writing
   F6 to the pty, 10 s after the first screen, to the server receiving the request.
   Goal: F6 to request <= 0.3 s (median).
2. Keystrokes during the preload: in a process like the app's, an event loop that wakes every
   5 ms while ``tui.live.preload`` imports LiteLLM; its worst lateness is the longest a keystroke
   would wait (reported, with the 99th percentile).
3. The CLI: `llm-settings test --json` as a whole process minus the completion itself (the
   engine's duration_s: request to last chunk), vs `python -c "import litellm"`.
   Goal: <= 1.1x (medians).

Runs are interleaved. ``--compare REV`` also runs the app and the CLI of a git revision of
this checkout (exported to a temporary directory) in the same rounds, e.g. ``--compare HEAD~3``
for before/after numbers.

    .venv/bin/python benchmarks/bench_preload.py [--runs N] [--compare REV]
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_startup import in_pty, quit_app, rss_mb  # noqa: E402

from tests import fault_server as fs  # noqa: E402

F6 = b"\x1b[17~"  # xterm
OPEN_S = 10.0
GOAL_F6_S = 0.3
GOAL_CLI = 1.1
MAIN = "import sys; sys.path.insert(0, sys.argv.pop(1)); from tui.cli.main import main; main()"


def drain(master: int, seconds: float) -> None:
    """Read (and drop) what the app draws for ``seconds``, as a terminal would."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([master], [], [], left)
        if ready:
            with contextlib.suppress(OSError):
                os.read(master, 65536)


def app_run(root: Path, config: Path, env: dict[str, str], server: fs.FaultServer,
            ) -> tuple[float, float, float, float]:
    """(start to first screen, RSS then, RSS 10 s later, F6 to the request at the server)."""
    server.reset()
    first_s, rss_first, proc, master = in_pty(
        [sys.executable, "-c", MAIN, str(root), "--config", str(config)], env)
    drain(master, OPEN_S)
    rss_open = rss_mb(proc.pid)
    sent = time.monotonic()
    os.write(master, F6)
    deadline = sent + 120
    while not server.chat and time.monotonic() < deadline:
        drain(master, 0.005)
    if not server.chat:
        quit_app(proc, master)
        raise RuntimeError("F6 sent no request within 120 s")
    f6_s = server.chat[0].arrived - sent
    drain(master, 0.5)  # the answer drawn; then quit
    quit_app(proc, master)
    return first_s, rss_first, rss_open, f6_s


STALL = r"""
import asyncio, json, sys, time
sys.path.insert(0, sys.argv[1])
from tui.live import preload


async def main():
    late = []
    preload.start(("tui.ui.check_pane",))
    while not preload.done():
        t = time.perf_counter()
        await asyncio.sleep(0.005)
        late.append(time.perf_counter() - t - 0.005)
    print(json.dumps(late))


asyncio.run(main())
"""


def stall_run(root: Path, env: dict[str, str]) -> list[float]:
    """How late a 5 ms timer fires, each time, while LiteLLM is preloaded."""
    out = subprocess.run([sys.executable, "-c", STALL, str(root)], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


def cli_run(root: Path, config: Path, env: dict[str, str]) -> float:
    """`llm-settings test --json`: wall time minus the completion's own duration."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", MAIN, str(root), "--config", str(config),
                          "test", "--json"], env=env, capture_output=True, text=True)
    total = time.perf_counter() - start
    done = [json.loads(line) for line in out.stdout.splitlines() if '"event": "done"' in line]
    if out.returncode or not done:
        raise RuntimeError(f"test failed: {out.stdout[-300:]} {out.stderr[-300:]}")
    return total - done[0]["stats"]["duration_s"]


def import_run(env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import litellm"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def export(rev: str, into: Path) -> Path:
    """The tui/ package of git revision ``rev``, compiled, under ``into``."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "tui"], check=True,
                         capture_output=True).stdout
    into.mkdir()
    subprocess.run(["tar", "-x", "-C", str(into)], input=tar, check=True)
    compileall.compile_dir(into / "tui", quiet=1)
    return into


def med(xs: list[float]) -> str:
    return f"{statistics.median(xs):7.3f}  (min {min(xs):.3f}, max {max(xs):.3f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compare", metavar="REV", help="also measure this git revision")
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "tui", quiet=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_")}
    env.update(TERM="xterm-256color", LITELLM_LOCAL_MODEL_COST_MAP="True",
               TEXTUAL_ANIMATIONS="none", LLM_API_KEY="sk-bench-0000000000000000",
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    with tempfile.TemporaryDirectory(prefix="llm-bench-") as tmp, fs.FaultServer() as server:
        env["HOME"] = tmp  # no ~/.openhands, no .env of the user's
        config = Path(tmp) / "config.toml"
        config.write_text(f'[llm]\nmodel = "openai/test-model"\nbase_url = "{server.url}"\n'
                          "num_retries = 1\n", encoding="utf-8")
        roots = {"now": ROOT}
        if args.compare:
            roots[args.compare] = export(args.compare, Path(tmp) / "old")
        app: dict[str, list[tuple[float, ...]]] = {name: [] for name in roots}
        cli: dict[str, list[float]] = {name: [] for name in roots}
        imports: list[float] = []
        stalls: list[float] = []
        import_run(env)  # warm the file cache
        for i in range(args.runs):
            names = list(roots) if i % 2 == 0 else list(reversed(roots))
            for name in names:
                app[name].append(app_run(roots[name], config, env, server))
            for name in names:
                cli[name].append(cli_run(roots[name], config, env))
            imports.append(import_run(env))
            stalls.extend(stall_run(ROOT, env))
    good = True
    print(f"runs: {args.runs} each, interleaved; pty 80x24; app open {OPEN_S:g} s before F6")
    lit = statistics.median(imports)
    stalls.sort()
    print(f"UI loop lateness during the preload   p99 {stalls[int(len(stalls) * .99)] * 1000:.0f}"
          f" ms, worst {stalls[-1] * 1000:.0f} ms ({len(stalls)} wake-ups)")
    print(f"python -c 'import litellm'            {med(imports)} s")
    for name in roots:
        first, rss_first, rss_open, f6 = (list(x) for x in zip(*app[name], strict=True))
        f6_ok = statistics.median(f6) <= GOAL_F6_S
        ratio = statistics.median(cli[name]) / lit
        print(f"[{name}]")
        print(f"  start to Settings pane              {med(first)} s")
        print(f"  RSS at the first screen             {statistics.median(rss_first):7.1f} MB")
        print(f"  RSS {OPEN_S:g} s later (preloaded)        {statistics.median(rss_open):7.1f} MB")
        print(f"  F6 to request at the server         {med(f6)} s  (goal <= {GOAL_F6_S:g} s: "
              f"{'OK' if f6_ok else 'OVER'})")
        print(f"  `test` minus the completion          {med(cli[name])} s  = {ratio:.2f}x the "
              f"import (goal <= {GOAL_CLI:g}x: {'OK' if ratio <= GOAL_CLI else 'OVER'})")
        if name == "now":
            good = f6_ok and ratio <= GOAL_CLI
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
