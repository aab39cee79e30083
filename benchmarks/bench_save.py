"""Median time of ConfigFile.load + save of one key vs a full tomlkit parse + dumps.

Run: ``.venv/bin/python benchmarks/bench_save.py [runs]`` (default 200 runs).
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tomlkit  # noqa: E402

from tests.files import TEMPLATE as FIXTURE  # noqa: E402
from tui.core.config_file import ConfigFile  # noqa: E402


def bench(runs: int) -> None:
    """Print both medians and their ratio."""
    original = FIXTURE.read_bytes()
    text = original.decode("utf-8")
    ours: list[float] = []
    full: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        shutil.copyfile(FIXTURE, path)
        ConfigFile.load(path).save({(("llm",), "model"): "warm/up"})  # imports, caches
        for i in range(runs):
            path.write_bytes(original)  # every run really changes a line
            t0 = time.perf_counter()
            cfg = ConfigFile.load(path)
            changed = cfg.save({(("llm",), "model"): f"anthropic/claude-{i}"})
            ours.append(time.perf_counter() - t0)
            assert changed

            t0 = time.perf_counter()
            doc = tomlkit.parse(text)
            doc["llm"]["model"] = f"anthropic/claude-{i}"  # type: ignore[index]
            tomlkit.dumps(doc)
            full.append(time.perf_counter() - t0)
    a, b = statistics.median(ours), statistics.median(full)
    lines = text.count("\n")
    print(f"fixture: {FIXTURE.name} ({lines} lines), {runs} runs")
    print(f"ConfigFile.load + save (one key, fsync'd): median {a * 1000:7.2f} ms")
    print(f"tomlkit parse + dumps (no write):          median {b * 1000:7.2f} ms")
    print(f"ratio tomlkit / ConfigFile:                {b / a:7.2f}x")


if __name__ == "__main__":
    bench(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
