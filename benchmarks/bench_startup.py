"""Start-up: `llm-settings --config F` from process start to the Settings pane on the terminal.

The real console script runs in a pseudo-terminal (80x24, TERM=xterm-256color); the clock
starts just before the spawn and stops when the terminal has received the Settings pane
("LLM Model" and "API Key" drawn). The resident memory (VmRSS) is read from /proc at that
moment, then ctrl+q quits the app. Interleaved with it, the same interpreter runs
`python -c "import litellm"` (LITELLM_LOCAL_MODEL_COST_MAP=True: no network fetch).

A probe run executes the same path (`tui.cli.main.main(["--config", F])`) with a hook on the app's
first refresh after mount, and checks there that litellm was not imported.

Goals: start-up median at most 10% of the litellm import median; RSS at the first screen
under 60 MB.

    .venv/bin/python benchmarks/bench_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import fcntl
import json
import os
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.files import TEMPLATE  # noqa: E402

BIN = Path(sys.executable).parent / "llm-settings"
GOAL_RATIO = 0.10
GOAL_RSS_MB = 60.0
SIZE = (80, 24)
DRAWN = ("LLM Model", "API Key")  # both on the Settings pane's first screen
ESCAPES = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
PROBE_FD = "LLM_SETTINGS_BENCH_PROBE_FD"
TIMEOUT = 30.0


# -- the probe (child side) ---------------------------------------------------------------
def probe(config: str) -> None:
    """Run the app exactly as the console script does, reporting at the first refresh."""
    fd = int(os.environ[PROBE_FD])
    import tui.ui.app
    from tui.cli import main as cli

    original = tui.ui.app.SettingsApp.on_mount

    def on_mount(self: tui.ui.app.SettingsApp) -> None:
        original(self)  # the app's own mount: title, rows, keyring and catalog workers
        self.call_after_refresh(first_frame, self)

    def first_frame(app: tui.ui.app.SettingsApp) -> None:
        import resource

        from textual.widgets import TabbedContent

        heavy = sorted(m for m in ("litellm", "openai", "httpx", "aiohttp", "tiktoken",
                                   "pydantic") if m in sys.modules)
        report = {"litellm": "litellm" in sys.modules, "heavy": heavy,
                  "pane": app.query_one(TabbedContent).active,
                  "modules": len(sys.modules),
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
        os.write(fd, (json.dumps(report) + "\n").encode())
        os.close(fd)
        app.exit()

    tui.ui.app.SettingsApp.on_mount = on_mount  # type: ignore[method-assign]
    cli.main(["--config", config])


# -- measuring (parent side) --------------------------------------------------------------
def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def in_pty(argv: list[str], env: dict[str, str], pass_fds: tuple[int, ...] = (),
           ) -> tuple[float, float, subprocess.Popen[bytes], int]:
    """Spawn argv on a new pty; (seconds to the Settings pane, RSS MB then, proc, pty fd)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True, pass_fds=pass_fds, close_fds=True)
    os.close(slave)
    seen = b""
    deadline = start + TIMEOUT
    while True:
        ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.perf_counter()))
        if not ready:
            end(proc, master)
            raise RuntimeError(f"no Settings pane within {TIMEOUT:g} s: {plain(seen)[-500:]}")
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the pty: it exited
            end(proc, master)
            raise RuntimeError(f"the app exited before drawing: {plain(seen)[-500:]}") from None
        seen += chunk
        text = plain(seen)
        if all(word in text for word in DRAWN):
            elapsed = time.perf_counter() - start
            return elapsed, rss_mb(proc.pid), proc, master


def plain(raw: bytes) -> str:
    return ESCAPES.sub(b"", raw).decode("utf-8", "replace")


def quit_app(proc: subprocess.Popen[bytes], master: int) -> None:
    """ctrl+q, as a user would; drain the pty until the app exits."""
    os.write(master, b"\x11")
    deadline = time.perf_counter() + 10
    while proc.poll() is None and time.perf_counter() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            with contextlib.suppress(OSError):
                os.read(master, 65536)
    end(proc, master)


def end(proc: subprocess.Popen[bytes], master: int) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    with contextlib.suppress(OSError):
        os.close(master)


def run_app(config: Path, env: dict[str, str]) -> tuple[float, float]:
    elapsed, rss, proc, master = in_pty([str(BIN), "--config", str(config)], env)
    quit_app(proc, master)
    if proc.returncode != 0:
        raise RuntimeError(f"llm-settings exited with {proc.returncode}")
    return elapsed, rss


def run_litellm(env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import litellm"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def run_probe(config: Path, env: dict[str, str]) -> dict[str, object]:
    read, write = os.pipe()
    child_env = dict(env, **{PROBE_FD: str(write)})
    _, _, proc, master = in_pty([sys.executable, __file__, "--probe", str(config)], child_env,
                                pass_fds=(write,))
    os.close(write)
    with os.fdopen(read) as f:
        line = f.readline()
    quit_app(proc, master)
    if not line:
        raise RuntimeError("the probe reported nothing")
    return json.loads(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--probe", metavar="CONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe(args.probe)
        return 0
    # An installed package has its bytecode compiled (pip does it); so does this checkout here,
    # even where PYTHONDONTWRITEBYTECODE would make every run compile the sources again.
    compileall.compile_dir(ROOT / "tui", quiet=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_")}
    env.update(TERM="xterm-256color", LITELLM_LOCAL_MODEL_COST_MAP="True",
               TEXTUAL_ANIMATIONS="none")
    env.pop("TEXTUAL", None)
    with tempfile.TemporaryDirectory(prefix="llm-bench-") as tmp:
        config = Path(tmp) / "config.toml"
        shutil.copyfile(TEMPLATE, config)  # has a model: no wizard
        report = run_probe(config, env)  # also warms the file cache
        run_litellm(env)
        app_s, rss, lit_s = [], [], []
        for i in range(args.runs):
            order = (0, 1) if i % 2 == 0 else (1, 0)  # interleaved, alternating first
            for which in order:
                if which == 0:
                    t, r = run_app(config, env)
                    app_s.append(t)
                    rss.append(r)
                else:
                    lit_s.append(run_litellm(env))
    app_med, lit_med, rss_med = (statistics.median(x) for x in (app_s, lit_s, rss))
    ratio = app_med / lit_med
    no_litellm = not report["litellm"]
    print(f"runs: {args.runs} each, interleaved; pty {SIZE[0]}x{SIZE[1]}")
    print(f"start to Settings pane    median {app_med * 1000:7.0f} ms  "
          f"(min {min(app_s) * 1000:.0f}, max {max(app_s) * 1000:.0f})")
    print(f"python -c 'import litellm' median {lit_med * 1000:7.0f} ms  "
          f"(min {min(lit_s) * 1000:.0f}, max {max(lit_s) * 1000:.0f})")
    print(f"ratio {ratio:.1%} (goal <= {GOAL_RATIO:.0%})  "
          f"{'OK' if ratio <= GOAL_RATIO else 'OVER'}")
    print(f"RSS at the first screen   median {rss_med:.1f} MB  (max {max(rss):.1f}; goal < "
          f"{GOAL_RSS_MB:g} MB)  {'OK' if rss_med < GOAL_RSS_MB else 'OVER'}")
    print(f"probe at the first refresh: pane {report['pane']!r}, {report['modules']} modules, "
          f"peak RSS {int(report['maxrss_kb']) / 1024:.1f} MB, litellm "
          f"{'not imported  OK' if no_litellm else 'IMPORTED  FAIL'}"
          + (f" (also loaded: {', '.join(report['heavy'])})" if report["heavy"] else ""))
    good = ratio <= GOAL_RATIO and rss_med < GOAL_RSS_MB and no_litellm \
        and report["pane"] == "settings"
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
