"""`llm-settings show` as a whole process vs `python -c "import textual, tomlkit, keyring"`.

Goal: within 1.5x, measured side by side (interleaved runs, medians), with a real Secret
Service when gnome-keyring is installed. Also checks that litellm is never imported.

    .venv/bin/python benchmarks/bench_cli.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.files import TEMPLATE  # noqa: E402
from tests.keyring_env import missing_programs, start_keyring_session  # noqa: E402

BIN = Path(sys.executable).parent / "llm-settings"
GOAL = 1.5


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    session = None if missing_programs() else start_keyring_session()
    try:
        import os

        env = dict(os.environ)
        if session:
            env.update(session.env)
        else:
            env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
        with tempfile.TemporaryDirectory() as tmp:
            cfg = Path(tmp) / "config.toml"
            shutil.copyfile(TEMPLATE, cfg)
            show = [str(BIN), "--config", str(cfg), "show"]
            base = [sys.executable, "-c", "import textual, tomlkit, keyring"]
            for cmd in (show, base):  # warm the file cache
                timed(cmd, env)
            a, b = [], []
            for _ in range(args.runs):
                a.append(timed(show, env))
                b.append(timed(base, env))
            trace = subprocess.run(
                [sys.executable, "-X", "importtime", "-m", "tui.cli.main", "--config", str(cfg),
                 "show"], env=env, capture_output=True, text=True, cwd=ROOT)
        heavy = sorted({line.split("|")[-1].strip().split(".")[0]
                        for line in trace.stderr.splitlines()
                        if line.split("|")[-1].strip().split(".")[0] in ("litellm", "textual")})
    finally:
        if session:
            session.stop()
    ma, mb = statistics.median(a), statistics.median(b)
    keyring = "real gnome-keyring" if session else "fail backend (gnome-keyring not installed)"
    print(f"keyring: {keyring}; {args.runs} interleaved runs each")
    print(f"llm-settings show                        median {ma * 1000:7.1f} ms")
    print(f"python -c 'import textual,tomlkit,keyring' median {mb * 1000:7.1f} ms")
    print(f"ratio {ma / mb:.2f}x (goal <= {GOAL}x)  {'OK' if ma / mb <= GOAL else 'OVER'}")
    print(f"heavy imports during show: {', '.join(heavy) or 'none'} (goal: none)")
    return 0 if ma / mb <= GOAL and not heavy else 1


if __name__ == "__main__":
    sys.exit(main())
