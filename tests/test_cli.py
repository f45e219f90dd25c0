"""The dice-jax command line: once as a user runs it (a subprocess), otherwise in-process
through :func:`dice_jax.cli.main` (the same dispatcher and error handler, without paying an
interpreter start per case)."""

import json
import subprocess
import sys

import jax
import numpy as np
import pytest

import dice_jax as dj
from dice_jax import cli as dj_cli
from dice_jax.games import random as rg
from dice_jax.testing import gambit_logit_qre


def run(*args):
  return subprocess.run(
    [sys.executable, "-m", "dice_jax.cli", *args], capture_output=True, text=True, timeout=300
  )


def _in_process(capsys, *argv):
  code = dj_cli.main(list(argv))
  out = capsys.readouterr()
  return code, out.out, out.err


def _bad(capsys, *argv):
  code, _, err = _in_process(capsys, *argv)
  assert code == 2, err
  assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
  return err


def test_solve_nfg_json_matches_gambit(tmp_path):
  game = rg.uniform(jax.random.PRNGKey(0), (3, 4))
  path = tmp_path / "g.nfg"
  dj.write_nfg(game, path)
  out = run(
    "solve",
    str(path),
    "--temperature",
    "0.25",
    "--method",
    "continuation",
    "--tol",
    "1e-12",
    "--json",
  )
  assert out.returncode == 0, out.stderr
  data = json.loads(out.stdout)
  assert set(data) >= {"policies", "residual", "gap", "steps", "result"}
  assert data["result"] == "converged" and data["residual"] <= 1e-12
  for ours, theirs in zip(data["policies"], gambit_logit_qre(game, 4.0)):
    np.testing.assert_allclose(ours, theirs, atol=1e-8)


def test_per_player_temperatures_and_table_output(capsys):
  code, out, err = _in_process(
    capsys, "solve", "--example", "prisoners-dilemma", "--temperature", "0.5,1.0"
  )
  assert code == 0, err
  assert "Player 2" in out and "result converged" in out
  data = json.loads(
    _in_process(capsys, "solve", "--example", "prisoners-dilemma", "-t", "0.5,1.0", "--json")[1]
  )
  sol = dj.solve(dj.games.prisoners_dilemma(), np.array([0.5, 1.0]))
  np.testing.assert_allclose(data["policies"][1], sol.probabilities[1], atol=1e-7)
  # the CLI's default is the library's (method="auto") and says which method actually ran
  assert data["method"] == "auto"
  assert data["method_ran"] == str(sol.method_names().item())
  assert data["method_ran"] in {"mirror", "continuation"}


def test_solve_reports_a_bifurcation_on_the_principal_branch(capsys, tmp_path):
  # diag(1, 1, 1/2) for both players: a pitchfork at lambda* = 2.46 on the principal branch
  # (tests/test_solvers.py derives it); the table output says so, --json counts it.
  path = tmp_path / "pitchfork.nfg"
  pays = "1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0 0.5 0.5"
  path.write_text(f'NFG 1 R "pitchfork" {{ "1" "2" }} {{ 3 3 }}\n{pays}\n')
  code, out, err = _in_process(capsys, "solve", str(path), "-t", "0.1")
  assert code == 0, err
  assert "passed 1 bifurcation point" in out
  data = json.loads(_in_process(capsys, "solve", str(path), "-t", "0.1", "--json")[1])
  assert data["bifurcations"] == 1 and data["method_ran"] == "continuation"
  code, out, err = _in_process(capsys, "solve", str(path), "-t", "1.0")
  assert code == 0 and "bifurcation" not in out, err


@pytest.mark.parametrize(
  "args,message",
  [
    (
      ["solve", "--example", "shapley", "-t", "0.5,0.5,0.5"],
      "--temperature must give 1 or 2 values",
    ),
    (["solve", "--example", "shapley", "-t", "-1"], "temperature must be > 0"),
    (["solve", "/no/such.nfg", "-t", "1"], "/no/such.nfg"),
    (["solve", "-t", "1"], "give exactly one of GAME.nfg or --example NAME"),
    (["solve", "--example", "shapley", "-t", "abc"], "argument --temperature/-t: must be a number"),
    (
      ["solve", "--example", "shapley", "-t", "1", "--max-steps", "3000000000"],
      "argument --max-steps: must be an integer in [1, 2147483647]",
    ),
    (
      ["solve", "--example", "shapley", "-t", "1", "--tol", "nan"],
      "argument --tol: must be finite",
    ),
    (
      ["solve", "--example", "shapley", "-t", "1", "--method", "newton"],
      "invalid choice: 'newton'",
    ),
  ],
)
def test_bad_input_is_a_clear_error(capsys, args, message):
  assert message in _bad(capsys, *args)


def test_bad_input_through_the_installed_entry_point():
  out = run("solve", "--example", "shapley", "-t", "1", "--max-steps", "3000000000")
  assert out.returncode == 2 and "--max-steps" in out.stderr
  assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_max_steps_exit_code_and_result_string(capsys):
  code, out, _ = _in_process(
    capsys, "solve", "--example", "prisoners-dilemma", "-t", "0.1", "--max-steps", "3", "--json"
  )
  assert code == 1
  assert json.loads(out)["result"] == "max_steps"


@pytest.mark.slow
def test_solve_markov_is_wired_into_dice_jax(tmp_path, capsys):
  """One state, gamma = 0: the Markov CLI answer is the normal-form HQRE."""
  a = np.array([[1.0, -1.0], [-0.5, 0.5]])
  game = {
    "gamma": 0.0,
    "transitions": [[[[1.0], [1.0]], [[1.0], [1.0]]]],
    "rewards": [[a.tolist()], [(-a).tolist()]],
    "temperatures": [0.5, 0.5],
    "initial": [1.0],
  }
  path = tmp_path / "m.json"
  path.write_text(json.dumps(game))
  code, out, err = _in_process(capsys, "solve-markov", str(path), "--json")
  assert code == 0, err
  data = json.loads(out)
  ref = dj.solve(dj.NormalFormGame.from_arrays(a, -a), 0.5, tol=1e-12)
  for i in range(2):
    np.testing.assert_allclose(data["policies"][i][0], ref.probabilities[i], atol=1e-7)


@pytest.mark.slow
def test_certify_is_wired_into_dice_jax(tmp_path, capsys):
  """Zero-sum: alpha = 0, so the margin is tau and the game is certified."""
  game = rg.zero_sum(jax.random.PRNGKey(1), (3, 3))
  path = tmp_path / "z.nfg"
  dj.write_nfg(game, path)
  code, out, err = _in_process(capsys, "certify", str(path), "--temperature", "0.5", "--json")
  assert code == 0, err
  data = json.loads(out)
  assert data["certified"] is True and data["reason"] is None
  assert abs(data["alpha_upper"]) <= 1e-9 and abs(data["margin"] - 0.5) <= 1e-9
  for key in ("alpha_lower", "error_bound", "predicted_rate", "observed_rate"):
    assert key in data


# --- Issue #12: one dispatcher, one error handler; bad input exits 2 in one line. --------------


def _nfg(tmp_path, body, name="g.nfg"):
  path = tmp_path / name
  path.write_text('NFG 1 R "g" { "P1" "P2" } { 2 2 }\n' + body + "\n")
  return str(path)


def test_overflowing_payoff_in_nfg_exits_2(tmp_path, capsys):
  """Before: a ``1e400`` payoff raised OverflowError: a traceback and exit 1."""
  path = _nfg(tmp_path, "1e400 0 0 0 0 0 0 0")
  _bad(capsys, "solve", path, "-t", "1")
  _bad(capsys, "certify", path, "-t", "1")


def test_huge_strategy_counts_exit_2_quickly(tmp_path, capsys):
  """Before: ``{ 50000 100000 }`` strategies raised MemoryError (a traceback, exit 1)."""
  import time

  path = tmp_path / "huge.nfg"
  path.write_text('NFG 1 R "g" { "P1" "P2" } { 50000 100000 }\n1 2 3 4\n')
  start = time.thread_time()
  _bad(capsys, "solve", str(path), "-t", "1")
  assert time.thread_time() - start < 5  # CPU of this thread: a runaway-work guard


def test_non_utf8_nfg_exits_2(tmp_path, capsys):
  path = tmp_path / "latin1.nfg"
  path.write_bytes(b'NFG 1 R "caf\xe9" { "P1" "P2" } { 2 2 }\n1 2 3 4 5 6 7 8\n')
  _bad(capsys, "solve", str(path), "-t", "1")


def test_debug_flag_shows_the_traceback(capsys):
  code, _, err = _in_process(capsys, "--debug", "solve", "--example", "shapley", "-t", "1,2,3")
  assert code == 2 and "Traceback" in err and "--temperature must give 1 or 2 values" in err


def test_exit_status_of_each_kind_of_error():
  from dice_jax.cli.errors import exit_status

  assert (
    exit_status(ValueError("a\nb"))[0] == 2 and exit_status(ValueError("a\nb"))[1] == "error: a | b"
  )
  assert exit_status(TypeError("x"))[0] == 2
  assert exit_status(FileNotFoundError(2, "No such file", "f.json")) == (
    2,
    "error: f.json: No such file",
  )
  for resource in (OverflowError("big"), MemoryError(), RecursionError("deep")):
    assert exit_status(resource)[0] == 2
  code, message = exit_status(IndexError("list index out of range"))
  assert code == 3 and "internal error: IndexError" in message and "--debug" in message
  assert exit_status(KeyboardInterrupt())[0] == 130


def test_every_command_is_routed_and_help_is_plain_text(capsys):
  parser = dj_cli.build_parser()
  sub = next(a for a in parser._actions if a.dest == "command")
  assert {"solve", "examples", "certify", "solve-markov", "llm", "pc"} <= set(sub.choices)
  for name, p in sub.choices.items():
    assert callable(p.get_default("_run")), name
    text = p.format_help()
    assert "``" not in text and ":func:" not in text and ":mod:" not in text, name
  assert dj_cli.main(["solve", "--help"]) == 0
  assert "--max-steps" in capsys.readouterr().out


def test_group_modules_import_on_their_own():
  """certify's module imports first in a fresh interpreter (before: it imported _temperatures
  from dice_jax.cli, which imported it back), and no group imports another group's private name."""
  import pathlib
  import subprocess

  code = "import dice_jax.cli.certify, dice_jax.cli.markov, dice_jax.cli.llm, dice_jax.cli.solve"
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
  assert out.returncode == 0, out.stderr
  folder = pathlib.Path(dj_cli.__file__).parent
  for f in folder.glob("*.py"):
    assert "import _" not in f.read_text() and "cli import _" not in f.read_text(), f
