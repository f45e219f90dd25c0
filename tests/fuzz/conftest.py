"""Print the fuzz counters at the end of a session that ran fuzz tests; with
``DICE_JAX_FUZZ_STATS=path`` also write them (as JSON) after every test, so a long thorough run
that is stopped early still leaves its figures."""

import json
import os

from tests.fuzz.budget import STATS


def pytest_runtest_logreport(report):
  path = os.environ.get("DICE_JAX_FUZZ_STATS")
  if path and report.when == "call":
    STATS[f"tests {report.outcome}"] += 1
    with open(path, "w") as f:
      json.dump(dict(STATS), f, indent=1, sort_keys=True)


def pytest_terminal_summary(terminalreporter):
  if STATS:
    terminalreporter.section("fuzz figures")
    for key, value in sorted(STATS.items()):
      terminalreporter.write_line(f"{key}: {value}")
