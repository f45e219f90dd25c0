"""Acceptance: DICE-PC converges where simultaneous best response oscillates, tracks a drifting
HQRE where best response does not; the harness's logs, budgets and errors."""

import json
import os

import numpy as np
import pytest

from dice_jax.pc.policies import policies as P
from dice_jax.pc.harness.loop import compare, load_results, run
from dice_jax.pc.environments.synthetic import drift_suite, oscillation_suite

REF = [np.array([0.6, 0.2, 0.2])] * 2


@pytest.fixture(scope="module")
def oscillation_runs():
  """2,000 rounds x 32 tasks, seed 0, simultaneous updates; target tau 0.7 and reference REF."""
  env = oscillation_suite()
  kw = dict(rounds=2000, batch_size=32, seed=0, temperature=0.7, reference=REF, monotonicity=False)
  return (run(env, P.DICEPC(0.7, reference=REF), **kw), run(env, P.BestResponseDynamics(), **kw))


@pytest.mark.slow
def test_dice_pc_converges_on_the_oscillation_suite(oscillation_runs):
  dice, _ = oscillation_runs
  s = dice.summary
  assert s["final_distance_to_hqre"] < 0.02  # measured 0.005
  assert s["max_distance_last_half"] < 0.03
  assert s["regret_slope_ratio"] < 0.1  # sublinear equilibrium regret
  assert s["oscillation_index_last_half"] < 0.01
  assert s["max_solver_residual"] <= 1e-8  # the default float64 tolerance
  assert all(r["solver"]["result"] == ["converged"] * 2 for r in dice.records)


@pytest.mark.slow
def test_best_response_keeps_switching_conventions(oscillation_runs):
  dice, br = oscillation_runs
  assert br.summary["oscillation_index_last_half"] >= 5 * dice.summary["oscillation_index"]
  assert br.summary["oscillation_index_last_half"] >= 1.0  # >= one state swapping every round
  assert br.summary["regret_slope_ratio"] > 0.8  # linear equilibrium regret
  er = br.series("equilibrium_regret")
  assert er[-500:].mean() > 100 * dice.series("equilibrium_regret")[-500:].mean()
  # the switching is between conventions: consecutive rounds play different pure actions
  pol = np.array(br.records[-1]["policy"]), np.array(br.records[-2]["policy"])
  assert np.any(np.argmax(pol[0], -1) != np.argmax(pol[1], -1))


@pytest.mark.slow
def test_dice_pc_tracks_the_drifting_hqre_where_best_response_does_not():
  env = drift_suite(period=500.0)
  kw = dict(rounds=1000, batch_size=32, seed=0, temperature=0.7, monotonicity=False)
  dice = run(env, P.DICEPC(0.7, posterior=dict(discount=0.97)), **kw)
  frozen = run(env, P.DICEPC(0.7), **kw)  # no forgetting
  br = run(env, P.BestResponseDynamics(posterior=dict(discount=0.97)), **kw)
  d, d_frozen, d_br = (r.series("distance_to_hqre")[100:] for r in (dice, frozen, br))
  assert d.max() < 0.15 and d.mean() < 0.08  # measured ~0.10 / ~0.055
  assert d_br.min() > 0.5  # pure play, far from the HQRE
  assert d.mean() < 0.75 * d_frozen.mean()  # forgetting is what tracks the drift
  assert dice.summary["certified_fraction"] == 1.0


def test_records_summary_and_files(tmp_path):
  env = oscillation_suite(failure_rate=0.2)
  res = run(
    env,
    P.DICEPC(0.7, reference=REF),
    rounds=12,
    batch_size=16,
    seed=3,
    out_dir=str(tmp_path / "dice"),
    progress=True,
  )
  lines = (tmp_path / "dice" / "records.jsonl").read_text().splitlines()
  assert len(lines) == 12
  rec = json.loads(lines[-1])
  for key in (
    "round",
    "accuracy",
    "tokens_per_role",
    "tokens_per_task",
    "equilibrium_regret",
    "cumulative_equilibrium_regret",
    "hindsight_regret",
    "distance_to_hqre",
    "oscillation",
    "oscillation_index",
    "drift",
    "policy",
    "temperature",
    "solver",
    "certificate",
    "monotonicity",
    "num_failed",
  ):
    assert key in rec, key
  assert np.array(rec["policy"]).shape == (2, 2, 3)
  assert sum(r["num_failed"] for r in res.records) > 0
  assert all(r["num_scored"] + r["num_failed"] == 16 for r in res.records)
  summary = json.loads((tmp_path / "dice" / "summary.json").read_text())
  assert summary["rounds"] == 12 and summary["method"] == "dice-pc"
  assert summary["hindsight_regret_estimated"] is False
  m = rec["monotonicity"]
  assert len(m["estimate"]) == 2 and m["min_temperature"] == [0.7, 0.7]
  loaded = load_results(str(tmp_path))
  assert loaded["dice"].records[-1] == res.records[-1]


def test_monotonicity_diagnostic_is_consistent_with_the_certified_margin():
  res = run(oscillation_suite(), P.DICEPC(0.7, reference=REF), rounds=150, batch_size=32, seed=4)
  # m_hat estimates <V(x_t) - V(x_{t-1}), dx> / |dx|^2 <= alpha (0.51 / 0.61) < tau = 0.7
  assert res.summary["monotonicity_median_ratio"] < 1.0
  assert res.summary["monotonicity_refuted_fraction"] < 0.05


class _NoTruth:
  """An environment without known payoffs (as an LLM one): delegates to a synthetic suite."""

  def __init__(self):
    self._env = oscillation_suite()
    self.spec = self._env.spec

  def tasks(self, rng, n, *, round):
    return self._env.tasks(rng, n, round=round)

  def play(self, tasks, actions, *, round):
    return self._env.play(tasks, actions, round=round)

  def best_of_n(self, tasks, n, *, round):
    return self._env.best_of_n(tasks, n, round=round)

  def true_payoffs(self, round):
    return None


def test_without_true_payoffs_hindsight_regret_is_estimated_and_labelled():
  res = run(_NoTruth(), P.UniformPolicy(), rounds=20, batch_size=32, seed=0)
  assert res.summary["hindsight_regret_estimated"] is True
  assert len(res.summary["hindsight_regret_curve"]) == 20
  assert res.records[-1]["equilibrium_regret"] is None
  # uniform play vs the best convention (~0.78 - 0.36 per round and state): grows linearly
  assert 20 * 0.3 < res.summary["hindsight_regret"] < 20 * 0.6


def test_compare_runs_every_method_on_the_same_tasks_and_budget(tmp_path):
  env = oscillation_suite()
  out = compare(
    env,
    {"dice": P.DICEPC(0.7, reference=REF), "br": "best-response", "uniform": "uniform"},
    rounds=8,
    batch_size=16,
    seed=5,
    out_dir=str(tmp_path),
    monotonicity=False,
  )
  assert set(out) == {"dice", "br", "uniform"}
  for r in out.values():
    assert r.summary["rounds"] == 8 and r.summary["batch_size"] == 16
    assert r.summary["target_temperature"] == [[0.7, 0.7], [0.7, 0.7]]  # DICE-PC's target
  budget = out["dice"].summary["tokens_per_task"]
  bon = run(env, P.BestOfN(token_budget=budget), rounds=8, batch_size=16, seed=5)
  assert abs(bon.summary["tokens_per_task"] - budget) < 0.35 * budget + 120 / 2
  assert sorted(os.listdir(tmp_path)) == ["br", "dice", "uniform"]


@pytest.mark.parametrize(
  "kwargs, name",
  [
    (dict(batch_size=0), "batch_size"),
    (dict(rounds=0), "rounds"),
    (dict(seed=-1), "seed"),
    (dict(temperature=0.0), "temperature"),
    (dict(temperature=[1.0, 1.0, 1.0]), "temperature"),
    (dict(reference=[np.full(3, 1 / 3)]), "reference"),
    (dict(reference=[np.array([0.2, 0.2, 0.2]), None]), r"reference\[0\]"),
    (dict(policy="oracle"), "method must be one of"),
    (dict(policy=3), "policy"),
    (dict(env=object()), "env"),
  ],
)
def test_bad_arguments_raise_before_any_round(kwargs, name):
  args = dict(env=oscillation_suite(), policy="uniform", rounds=2, batch_size=4, seed=0)
  args.update(kwargs)
  env, policy = args.pop("env"), args.pop("policy")
  with pytest.raises(ValueError, match=name):
    run(env, policy, **args)
