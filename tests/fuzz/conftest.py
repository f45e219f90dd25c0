"""Print the fuzz counters at the end of a session that ran fuzz tests."""
from tests.fuzz.budget import STATS


def pytest_terminal_summary(terminalreporter):
  if STATS:
    terminalreporter.section("fuzz figures")
    for key, value in sorted(STATS.items()):
      terminalreporter.write_line(f"{key}: {value}")
