"""The JSON game format and ``dice-jax solve-markov``."""

import json

import numpy as np
import pytest

from dice_jax import cli
from dice_jax.markov.io import game_from_dict, read_game, write_game

from tests.markov.reference import dense_values, hqre_violation, random_game_arrays


def _write(tmp_path, data):
  path = tmp_path / "game.json"
  path.write_text(json.dumps(data))
  return str(path)


def _data(seed=70):
  p, r, gamma, tau = random_game_arrays(seed, 3, (2, 3))
  return {
    "gamma": gamma,
    "transitions": p.tolist(),
    "rewards": [x.tolist() for x in r],
    "temperatures": tau.tolist(),
    "initial": [0.2, 0.3, 0.5],
  }, (p, r, gamma, tau)


def test_solve_markov_json_output_is_the_hqre(tmp_path, capsys):
  data, (p, r, gamma, tau) = _data()
  code = cli.main(["solve-markov", _write(tmp_path, data), "--json", "--tol", "1e-11"])
  out = json.loads(capsys.readouterr().out)
  assert code == 0 and out["result"] == "converged" and out["convention"] == "own"
  assert {"policies", "values", "residual", "steps", "result"} <= set(out)
  assert out["method"] == "auto" and out["method_ran"] in {
    "mirror",
    "extragradient",
    "continuation",
  }
  pol = [np.array(x) for x in out["policies"]]
  assert [x.shape for x in pol] == [(3, 2), (3, 3)]
  assert np.array(out["values"]).shape == (2, 3)
  assert hqre_violation(p, r, gamma, tau, pol) <= 1e-8
  np.testing.assert_allclose(out["values"], dense_values(p, r, gamma, tau, pol), atol=1e-10)
  assert out["residual"] <= 1e-11 and out["steps"] > 0


@pytest.mark.slow
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


@pytest.mark.parametrize(
  "edit,needle",
  [
    (lambda d: d.pop("gamma"), "gamma"),
    (lambda d: d.update(gamma=1.0), "gamma"),
    (lambda d: d.update(temperature=1.0), "temperature"),
    (lambda d: d.update(transitions=(np.array(d["transitions"]) * 2).tolist()), "transitions"),
    (lambda d: d.update(temperatures=[-1.0, 1.0]), "temperature"),
    (lambda d: d.update(convention="nash"), "convention"),
  ],
)
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


@pytest.mark.slow
def test_float32_flag(tmp_path, capsys):
  data, (p, r, gamma, tau) = _data()
  code = cli.main(["solve-markov", _write(tmp_path, data), "--json", "--float32"])
  out = json.loads(capsys.readouterr().out)
  assert code == 0 and out["residual"] <= 1e-5
  pol = [np.array(x, dtype=np.float64) for x in out["policies"]]
  pol = [x / x.sum(-1, keepdims=True) for x in pol]
  assert hqre_violation(p, r, gamma, tau, pol) <= 1e-4


# --- Issue #12: every bad file exits 2 with one line naming the file and field. ----------------


def _one_line_error(capsys, argv):
  code = cli.main(argv)
  err = capsys.readouterr().err
  assert code == 2, err
  assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
  return err


@pytest.mark.parametrize(
  "edit,needle",
  [
    (lambda d: d.update(rewards=5), "rewards must be a list with one entry per agent"),
    (lambda d: d.update(reference=0.5), "reference must be a list with one entry per agent"),
    (lambda d: d.update(gamma="0.9"), "gamma must be a real number; got str '0.9'"),
    (lambda d: d.update(gamma=True), "gamma must be a real number; got bool"),
    (lambda d: d.update(temperatures=[0.5, "1"]), "temperatures[1] must be a number; got str"),
    (lambda d: d.update(temperatures=None), "temperatures must be real numbers"),
    (
      lambda d: d["rewards"][1][0].__setitem__(0, [None, 1, 2]),
      "rewards[1][0][0][0] must be a number",
    ),
    (lambda d: d.update(initial=[1.0]), "initial must be a distribution over 3 states"),
    (
      lambda d: d.update(reference=[[1.0], [1.0]]),
      "reference[0] must be a distribution over 2 actions",
    ),
    (lambda d: d.update(convention=["own"]), "convention must be text"),
    (lambda d: d.update(transitions=[]), "transitions has shape (0,)"),
  ],
)
def test_bad_values_exit_2_naming_file_and_field(tmp_path, capsys, edit, needle):
  data, _ = _data()
  edit(data)
  path = _write(tmp_path, data)
  err = _one_line_error(capsys, ["solve-markov", path, "--json"])
  assert path in err and needle in err


def test_number_beyond_float64_and_nan_literal(tmp_path, capsys):
  data, _ = _data()
  text = json.dumps(data).replace('"gamma": ' + json.dumps(data["gamma"]), '"gamma": 1e400')
  path = tmp_path / "big.json"
  path.write_text(text)
  assert "gamma must be finite; found inf" in _one_line_error(capsys, ["solve-markov", str(path)])
  path.write_text(json.dumps(data).replace('"gamma": ' + json.dumps(data["gamma"]), '"gamma": NaN'))
  assert "NaN is not a JSON number" in _one_line_error(capsys, ["solve-markov", str(path)])


def test_duplicate_keys_are_rejected(tmp_path, capsys):
  """Before: json kept the last of two "gamma" keys silently."""
  data, _ = _data()
  text = json.dumps(data)
  path = tmp_path / "dup.json"
  path.write_text(text[:-1] + ', "gamma": 0.5}')
  assert "duplicate key 'gamma'" in _one_line_error(capsys, ["solve-markov", str(path)])


def test_deep_nesting_is_rejected_quickly(tmp_path, capsys):
  """Before: RecursionError (a traceback). 1 MB of '[' is rejected in well under a second."""
  import time

  for depth in (40, 500_000):
    path = tmp_path / f"deep{depth}.json"
    path.write_text('{"gamma": 0.5, "rewards": ' + "[" * depth + "1" + "]" * depth + "}")
    start = time.thread_time()
    err = _one_line_error(capsys, ["solve-markov", str(path)])
    assert time.thread_time() - start < 3.0  # runaway-work guard, not a speed target
    assert str(path) in err and "nested" in err


def test_not_utf8_names_the_file_and_line(tmp_path, capsys):
  path = tmp_path / "latin1.json"
  path.write_bytes(b'{"gamma": 0.5,\n "convention": "\xe9"}')
  err = _one_line_error(capsys, ["solve-markov", str(path)])
  assert f"{path}: line 2: the game file is not UTF-8" in err


def test_file_size_limit(tmp_path):
  data, _ = _data()
  path = _write(tmp_path, data)
  with pytest.raises(ValueError, match=r"the game file is \d[\d,]* bytes; the limit is 100 bytes"):
    read_game(path, max_bytes=100)


def test_max_steps_beyond_int32_is_a_usage_error(tmp_path, capsys):
  """Before: ``--max-steps 3000000000`` raised OverflowError (a traceback, exit 1)."""
  data, _ = _data()
  err = _one_line_error(
    capsys, ["solve-markov", _write(tmp_path, data), "--max-steps", "3000000000"]
  )
  assert "--max-steps" in err and "2147483647" in err
