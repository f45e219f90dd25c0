"""The ``certify`` command (through ``dice_jax.cli.main``) against the library call."""

import json

import numpy as np
import pytest

import dice_jax as dj
from dice_jax.certify import certify
from dice_jax import cli

KEYS = {
  "certified",
  "margin",
  "alpha_upper",
  "alpha_lower",
  "error_bound",
  "predicted_rate",
  "observed_rate",
  "reason",
}


def _main(argv):
  return cli.main(["certify", *argv])


def _json(capsys, argv):
  code = _main(argv)
  return code, json.loads(capsys.readouterr().out)


def test_json_for_a_certified_nfg_file(tmp_path, capsys):
  game = dj.games.random.perturbed_zero_sum(__import__("jax").random.PRNGKey(0), (2, 2), 0.2)
  path = tmp_path / "g.nfg"
  dj.write_nfg(game, path)
  code, out = _json(capsys, [str(path), "--temperature", "0.5", "--json"])
  assert code == 0 and KEYS <= set(out)
  assert out["certified"] is True and out["reason"] is None
  g = dj.read_nfg(path)
  sol = dj.solve(g, 0.5, history=True)
  ref = certify(g, 0.5, sol)
  for k in (
    "margin",
    "alpha_upper",
    "alpha_lower",
    "error_bound",
    "predicted_rate",
    "observed_rate",
  ):
    assert out[k] == pytest.approx(float(getattr(ref, k)), rel=1e-9)
  np.testing.assert_allclose(out["policies"][0], sol.probabilities[0], atol=1e-12)


def test_json_not_certified_names_the_failed_check(capsys):
  code, out = _json(capsys, ["--example", "coordination", "--temperature", "0.2", "--json"])
  assert code == 1 and out["certified"] is False and out["error_bound"] is None
  assert "monotonicity margin check failed" in out["reason"]
  assert out["alpha_lower"] >= 0.2


def test_text_output_and_per_player_temperatures(capsys):
  assert _main(["--example", "matching-pennies", "-t", "0.5,0.7"]) == 0
  text = capsys.readouterr().out
  assert "CERTIFIED" in text and "error bound" in text


@pytest.mark.parametrize(
  "argv,word",
  [
    (["--example", "matching-pennies", "-t", "-1"], "temperature"),
    (["--example", "matching-pennies", "-t", "1,2,3"], "--temperature"),
    (["-t", "1"], "GAME.nfg"),
    (["/nonexistent/game.nfg", "-t", "1"], "nonexistent"),
  ],
)
def test_bad_input_exit_code_2_with_message(capsys, argv, word):
  assert _main(argv) == 2
  assert word in capsys.readouterr().err


# --- Markov games: dice-jax certify MARKOV.json and solve-markov --certify -------------------


def _markov_file(tmp_path, tau):
  from dice_jax.markov import MarkovGame
  from dice_jax.markov.io import write_game

  rng = np.random.default_rng(3)
  p = rng.dirichlet(np.ones(2), size=(2, 2, 2))
  r = [rng.normal(size=(2, 2, 2)) for _ in range(2)]
  game = MarkovGame.from_arrays(p, r, 0.5, temperature=tau)
  path = tmp_path / "m.json"
  write_game(str(path), game)
  return str(path), game


@pytest.mark.slow
@pytest.mark.parametrize("tau,code", [(20.0, 0), (0.05, 1)])
def test_certify_markov_json_matches_the_library(tmp_path, capsys, tau, code):
  from dice_jax.certify import certify_markov
  from dice_jax.markov import solve_markov

  path, game = _markov_file(tmp_path, tau)
  code_, out = _json(capsys, [path, "--json", "--tol", "1e-12"])
  assert code_ == code and out["certified"] is (code == 0)
  ref = certify_markov(game, solve_markov(game, tol=1e-12, history=True))
  assert out["certified"] == bool(ref.certified)
  for key in ("contraction", "predicted_rate"):
    assert out[key] == pytest.approx(float(getattr(ref, key)), rel=1e-9)
  if code == 0:
    assert out["reason"] is None and out["error_bound"] >= 0
  else:
    assert out["reason"] and out["error_bound"] is None
  assert out["result"] == "converged" and out["convention"] == "own"


def test_solve_markov_certify_flag(tmp_path, capsys):
  path, _ = _markov_file(tmp_path, 20.0)
  assert cli.main(["solve-markov", path, "--certify", "--json"]) == 0
  out = json.loads(capsys.readouterr().out)
  assert out["result"] == "converged" and out["certificate"]["certified"] is True
  assert out["certificate"]["contraction"] < 1
  assert cli.main(["solve-markov", path, "--certify"]) == 0
  assert "CERTIFIED unique HQRE" in capsys.readouterr().out


@pytest.mark.parametrize(
  "extra,word",
  [
    (["-t", "1"], "--temperature applies to normal-form"),
    (["--method", "newton"], "invalid choice: 'newton'"),
  ],
)
def test_certify_markov_options_that_do_not_apply(tmp_path, capsys, extra, word):
  path, _ = _markov_file(tmp_path, 20.0)
  assert _main([path, *extra]) == 2
  assert word in capsys.readouterr().err
