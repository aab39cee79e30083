"""Run every benchmark, one after the other; each prints its medians, ratios and goals.

    make bench            (or .venv/bin/python benchmarks/run.py)

Exit status 1 if any benchmark misses its goal. Numbers depend on the machine: run them on an
idle one (2 cores here); every comparison is measured side by side in the same run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["bench_save.py", "bench_cli.py", "bench_catalog.py", "bench_startup.py",
         "bench_live_test.py", "bench_pane.py", "bench_preload.py"]


def main() -> int:
    failed = []
    for name in ORDER:
        path = HERE / name
        if not path.exists():
            continue
        print(f"== {name}", flush=True)
        if subprocess.run([sys.executable, str(path)], cwd=HERE.parent).returncode:
            failed.append(name)
        print(flush=True)
    if failed:
        print("missed a goal or failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
