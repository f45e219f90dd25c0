"""The JSON game format and ``dice-jax solve-markov``."""
import json

import numpy as np
import pytest

from dice_jax.markov import MarkovGame
from dice_jax.markov import cli
from dice_jax.markov.io import game_from_dict, read_game, write_game

from tests.markov.reference import dense_values, hqre_violation, random_game_arrays


def _write(tmp_path, data):
  path = tmp_path / "game.json"
  path.write_text(json.dumps(data))
  return str(path)


def _data(seed=70):
  p, r, gamma, tau = random_game_arrays(seed, 3, (2, 3))
  return {"gamma": gamma, "transitions": p.tolist(), "rewards": [x.tolist() for x in r],
          "temperatures": tau.tolist(), "initial": [0.2, 0.3, 0.5]}, (p, r, gamma, tau)


def test_solve_markov_json_output_is_the_hqre(tmp_path, capsys):
  data, (p, r, gamma, tau) = _data()
  code = cli.main(["solve-markov", _write(tmp_path, data), "--json", "--tol", "1e-11"])
  out = json.loads(capsys.readouterr().out)
  assert code == 0 and out["result"] == "converged" and out["convention"] == "own"
  assert {"policies", "values", "residual", "steps", "result"} <= set(out)
  pol = [np.array(x) for x in out["policies"]]
  assert [x.shape for x in pol] == [(3, 2), (3, 3)]
  assert np.array(out["values"]).shape == (2, 3)
  assert hqre_violation(p, r, gamma, tau, pol) <= 1e-8
  np.testing.assert_allclose(out["values"], dense_values(p, r, gamma, tau, pol), atol=1e-10)
  assert out["residual"] <= 1e-11 and out["steps"] > 0


def test_per_agent_temperatures_and_file_convention(tmp_path, capsys):
  data, (p, r, gamma, tau) = _data(71)
  data["temperatures"] = [0.4, 0.7]
  data["convention"] = "logit"
  code = cli.main(["solve-markov", _write(tmp_path, data), "--json", "--tol", "1e-11"])
  out = json.loads(capsys.readouterr().out)
  assert code == 0 and out["convention"] == "logit"
  tau = np.array([[0.4] * 3, [0.7] * 3])
  pol = [np.array(x) for x in out["policies"]]
  assert hqre_violation(p, r, gamma, tau, pol, "logit") <= 1e-8


@pytest.mark.parametrize("edit,needle", [
    (lambda d: d.pop("gamma"), "gamma"),
    (lambda d: d.update(gamma=1.0), "gamma"),
    (lambda d: d.update(temperature=1.0), "temperature"),
    (lambda d: d.update(transitions=(np.array(d["transitions"]) * 2).tolist()), "transitions"),
    (lambda d: d.update(temperatures=[-1.0, 1.0]), "temperature"),
    (lambda d: d.update(convention="nash"), "convention"),
])
def test_bad_files_exit_2_with_the_key_named(tmp_path, capsys, edit, needle):
  data, _ = _data()
  edit(data)
  code = cli.main(["solve-markov", _write(tmp_path, data), "--json"])
  assert code == 2 and needle in capsys.readouterr().err


def test_not_json_and_missing_file(tmp_path, capsys):
  bad = tmp_path / "bad.json"
  bad.write_text("{gamma: ")
  assert cli.main(["solve-markov", str(bad)]) == 2
  assert "JSON" in capsys.readouterr().err
  assert cli.main(["solve-markov", str(tmp_path / "none.json")]) == 2


def test_round_trip(tmp_path):
  data, _ = _data()
  game, conv = game_from_dict(data)
  write_game(str(tmp_path / "g.json"), game, "zero_sum")
  again, conv2 = read_game(str(tmp_path / "g.json"))
  assert conv2 == "zero_sum"
  for a, b in zip(jax_leaves(game), jax_leaves(again)):
    np.testing.assert_allclose(a, b, atol=1e-15)


def jax_leaves(x):
  import jax
  return jax.tree_util.tree_leaves(x)


def test_float32_flag(tmp_path, capsys):
  data, (p, r, gamma, tau) = _data()
  code = cli.main(["solve-markov", _write(tmp_path, data), "--json", "--float32"])
  out = json.loads(capsys.readouterr().out)
  assert code == 0 and out["residual"] <= 1e-5
  pol = [np.array(x, dtype=np.float64) for x in out["policies"]]
  pol = [x / x.sum(-1, keepdims=True) for x in pol]
  assert hqre_violation(p, r, gamma, tau, pol) <= 1e-4
