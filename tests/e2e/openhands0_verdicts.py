"""Run by an OpenHands 0.x venv: how ``load_from_toml`` treats each config.toml given.

Usage: ``python openhands0_verdicts.py FILE...``; prints one JSON object per file:
``{"file", "raised" (exception text or null), "warnings" (messages logged at WARNING or
above)}``. OpenHands' own loader is called on a fresh ``OpenHandsConfig()``, the way
``setup_config_from_args`` does, with the ``openhands`` logger captured.
"""

from __future__ import annotations

import json
import logging
import sys


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main(paths: list[str]) -> None:
    from openhands.core.config import OpenHandsConfig
    from openhands.core.config.utils import load_from_toml

    log = logging.getLogger("openhands")
    capture = _Capture()
    log.addHandler(capture)
    if log.level > logging.WARNING or log.level == logging.NOTSET:
        log.setLevel(logging.WARNING)
    for path in paths:
        capture.messages = []
        raised = None
        try:
            load_from_toml(OpenHandsConfig(), path)
        except Exception as e:  # what a user would see as a crash
            raised = f"{type(e).__name__}: {e}"
        print(json.dumps({"file": path, "raised": raised, "warnings": capture.messages}),
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
