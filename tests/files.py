"""Files the tests and the benchmarks read, kept in the repository so a fresh clone has them."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# OpenHands' own config.template.toml, byte for byte as it ships: 542 lines of comments,
# commented-out keys and sections that every edit must keep.
TEMPLATE = FIXTURES / "openhands-config.template.toml"
