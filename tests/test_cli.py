"""The dice-jax command line, run as a user would (a subprocess of the installed script)."""
import json
import subprocess
import sys

import jax
import numpy as np
import pytest

import dice_jax as dj
from dice_jax.games import random as rg
from dice_jax.testing import gambit_logit_qre


def run(*args):
  return subprocess.run([sys.executable, "-m", "dice_jax.cli", *args], capture_output=True,
                        text=True, timeout=300)


def test_solve_nfg_json_matches_gambit(tmp_path):
  game = rg.uniform(jax.random.PRNGKey(0), (3, 4))
  path = tmp_path / "g.nfg"
  dj.write_nfg(game, path)
  out = run("solve", str(path), "--temperature", "0.25", "--method", "continuation",
            "--tol", "1e-12", "--json")
  assert out.returncode == 0, out.stderr
  data = json.loads(out.stdout)
  assert set(data) >= {"policies", "residual", "gap", "steps", "result"}
  assert data["result"] == "converged" and data["residual"] <= 1e-12
  for ours, theirs in zip(data["policies"], gambit_logit_qre(game, 4.0)):
    np.testing.assert_allclose(ours, theirs, atol=1e-8)


def test_per_player_temperatures_and_table_output():
  out = run("solve", "--example", "prisoners-dilemma", "--temperature", "0.5,1.0")
  assert out.returncode == 0, out.stderr
  assert "Player 2" in out.stdout and "result converged" in out.stdout
  data = json.loads(run("solve", "--example", "prisoners-dilemma", "-t", "0.5,1.0", "--json").stdout)
  sol = dj.solve(dj.games.prisoners_dilemma(), np.array([0.5, 1.0]))
  np.testing.assert_allclose(data["policies"][1], sol.probabilities[1], atol=1e-7)


@pytest.mark.parametrize("args,message", [
    (["solve", "--example", "shapley", "-t", "0.5,0.5,0.5"], "--temperature must give 1 or 2 values"),
    (["solve", "--example", "shapley", "-t", "-1"], "temperature must be > 0"),
    (["solve", "/no/such.nfg", "-t", "1"], "path '/no/such.nfg' is not a file"),
    (["solve", "-t", "1"], "give exactly one of GAME.nfg or --example NAME"),
    (["solve", "--example", "shapley", "-t", "abc"], "--temperature must be a number"),
])
def test_bad_input_is_a_clear_error(args, message):
  out = run(*args)
  assert out.returncode == 2
  assert message in out.stderr
  assert "Traceback" not in out.stderr


def test_max_steps_exit_code_and_result_string():
  data = run("solve", "--example", "prisoners-dilemma", "-t", "0.1", "--max-steps", "3", "--json")
  assert data.returncode == 1
  assert json.loads(data.stdout)["result"] == "max_steps"


def test_solve_markov_is_wired_into_dice_jax(tmp_path):
  """One state, gamma = 0: the Markov CLI answer is the normal-form HQRE."""
  a = np.array([[1.0, -1.0], [-0.5, 0.5]])
  game = {"gamma": 0.0, "transitions": [[[[1.0], [1.0]], [[1.0], [1.0]]]],
          "rewards": [[a.tolist()], [(-a).tolist()]], "temperatures": [0.5, 0.5], "initial": [1.0]}
  path = tmp_path / "m.json"
  path.write_text(json.dumps(game))
  out = run("solve-markov", str(path), "--json")
  assert out.returncode == 0, out.stderr
  data = json.loads(out.stdout)
  ref = dj.solve(dj.NormalFormGame.from_arrays(a, -a), 0.5, tol=1e-12)
  for i in range(2):
    np.testing.assert_allclose(data["policies"][i][0], ref.probabilities[i], atol=1e-7)


def test_certify_is_wired_into_dice_jax(tmp_path):
  """Zero-sum: alpha = 0, so the margin is tau and the game is certified."""
  game = rg.zero_sum(jax.random.PRNGKey(1), (3, 3))
  path = tmp_path / "z.nfg"
  dj.write_nfg(game, path)
  out = run("certify", str(path), "--temperature", "0.5", "--json")
  assert out.returncode == 0, out.stderr
  data = json.loads(out.stdout)
  assert data["certified"] is True and data["reason"] is None
  assert abs(data["alpha_upper"]) <= 1e-9 and abs(data["margin"] - 0.5) <= 1e-9
  for key in ("alpha_lower", "error_bound", "predicted_rate", "observed_rate"):
    assert key in data
