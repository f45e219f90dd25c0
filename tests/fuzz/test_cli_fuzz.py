"""The command line under random arguments and files: exit 0/1 with output, or exit 2 with one
line on stderr -- never a traceback, never exit 3 (an internal error), never a hang."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dice_jax import cli
from tests.fuzz.budget import STATS, examples, temp_file, time_limit
from tests.fuzz.markov_files import mutated

TEMPERATURES = ["1", "0.5,1", "1e-300", "1e300", "-1", "0", "nan", "a", "1,2,3", "", ",", "1e400"]
TOLS = ["0", "-1", "1e-8", "nan", "inf", "1e400", "x", "1e-300", "1e-3"]
STEPS = ["0", "-1", "1", "50", "3000000000", "2147483648", "1e3", "abc", "nan", ""]
EXAMPLES = ["matching-pennies", "rock-paper-scissors", "shapley", "nope"]
FLAGS = ["--json", "--float32", "--bogus", "--debug-not", "-m", "--method", "--convention"]


@st.composite
def options(draw):
  argv = []
  for _ in range(draw(st.integers(0, 4))):
    kind = draw(st.sampled_from(["-t", "--tol", "--max-steps", "flag", "method"]))
    if kind == "-t":
      argv += ["-t", draw(st.sampled_from(TEMPERATURES))]
    elif kind == "--tol":
      argv += ["--tol", draw(st.sampled_from(TOLS))]
    elif kind == "--max-steps":
      argv += ["--max-steps", draw(st.sampled_from(STEPS))]
    elif kind == "method":
      argv += ["--method", draw(st.sampled_from(["mirror", "continuation", "damped", "x"]))]
    else:
      argv.append(draw(st.sampled_from(FLAGS)))
  return argv


def _check(capsys, argv):
  with time_limit(120, "dice-jax " + " ".join(argv)):
    code = cli.main(argv)
  out = capsys.readouterr()
  STATS[f"CLI exit {code}"] += 1
  assert code in (0, 1, 2), f"exit {code}: {out.err}"
  assert "Traceback" not in out.err
  if code == 2:
    assert len(out.err.strip().splitlines()) == 1, out.err
  else:
    assert out.out.strip()


@settings(
  max_examples=examples(8, 600), suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
  command=st.sampled_from(["solve", "certify"]), example=st.sampled_from(EXAMPLES), argv=options()
)
def test_solve_and_certify_arguments(capsys, command, example, argv):
  if "-t" not in argv:
    argv = argv + ["-t", "1"]
  _check(capsys, [command, "--example", example, *argv])


@settings(
  max_examples=examples(8, 600), suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=mutated(), argv=options())
def test_solve_markov_files(capsys, data, argv):
  kept = [a for i, a in enumerate(argv) if a != "-t" and (i == 0 or argv[i - 1] != "-t")]
  with temp_file(json.dumps(data).encode()) as path:
    _check(capsys, ["solve-markov", path, *kept])


@settings(
  max_examples=examples(8, 300), suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
  raw=st.binary(max_size=64),
  suffix=st.sampled_from([".json", ".nfg"]),
  command=st.sampled_from(["solve", "certify", "solve-markov", "llm"]),
)
def test_garbage_files(capsys, raw, suffix, command):
  with temp_file(raw, suffix) as path:
    if command == "llm":
      argv = ["llm", "logits", "--model", path, "--prompt", "x"]
    elif command == "solve-markov":
      argv = ["solve-markov", path]
    else:
      argv = [command, path, "-t", "1"]
    _check(capsys, argv)
