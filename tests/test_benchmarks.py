"""Smoke test: the throughput benchmark runs end to end on a tiny setting and its figures are
consistent (every solver met the accuracy it claims)."""

import json

import pytest

from benchmarks import throughput

pytestmark = pytest.mark.slow  # the slow tier (pyproject.toml): run with -m slow


def test_throughput_quick(tmp_path):
  out = tmp_path / "t.json"
  record = throughput.main(
    [
      "--sizes",
      "4",
      "--batches",
      "1",
      "3",
      "--gambit-games",
      "1",
      "--repeats",
      "1",
      "--json",
      str(out),
      "--plot",
      str(tmp_path / "t.png"),
    ]
  )
  saved = json.loads(out.read_text())
  assert saved["rows"] == record["rows"] and saved["env"]["x64"] is True
  assert (tmp_path / "t.png").stat().st_size > 1000
  for row in saved["rows"]:
    assert row["dice_jax_converged"] == 1.0
    for key in ("dice_jax_max_residual", "numpy_max_residual", "gambit_max_residual"):
      assert row[key] <= throughput.TOL
    assert row["numpy_vs_dice_jax_max_diff"] <= 1e-7
    assert row["numpy_steps_equal"]  # the same algorithm: every game stops at the same step
    assert row["gambit_vs_dice_jax_max_diff"] <= 1e-7
    assert row["numpy_best_effort_s"] == min(
      row["timings"][f"numpy_{c}"]["median_s"] for c in ("einsum", "matmul")
    )
    assert row["ratio_vs_numpy_best_effort"] == pytest.approx(
      row["numpy_best_effort_s"] / row["dice_jax_s"]
    )


def test_bench_quick_summary_keys(tmp_path):
  from benchmarks.__main__ import main

  out = tmp_path / "s.json"
  main(["--quick", "--n", "5", "--batch", "16", "--small-n", "6", "--json", str(out)])
  record = json.loads(out.read_text())
  for key in (
    "vs_gambit",
    "vs_numpy",
    "vs_numpy_best_effort",
    "roofline_fraction",
    "bandwidth_fraction",
    "certify_vs_solve",
    "small_tau_vs_gambit",
  ):
    assert record[key] > 0, key
  assert record["certify_vs_solve"] == record["certify_cost"][0]["ratio"]
  assert record["roofline"]["binds"] in ("bytes", "flops", "transcendentals")
  assert record["small_tau"]["max_diff_vs_gambit"] <= 1e-8
  assert record["env"]["device"].startswith("cpu")


def test_ablations_quick_record_is_consistent(tmp_path):
  from benchmarks import ablations

  record = ablations.main(
    ["--quick", "--json", str(tmp_path / "a.json"), "--plot", str(tmp_path / "a.png")]
  )
  assert json.loads((tmp_path / "a.json").read_text())["rows"] == record["rows"]
  assert [r["name"] for r in record["rows"]] == [
    "adaptive_step",
    "chunking",
    "check_every",
    "float32",
    "acceleration",
    "small_tau",
  ]
  for r in record["rows"]:
    for side in ("before", "after"):
      assert r[side]["converged_fraction"] == 1.0, (r["name"], side)
      assert r[side]["max_residual"] <= r[side]["tol"], (r["name"], side)
    assert r["speedup"] == pytest.approx(r["before"]["seconds"] / r["after"]["seconds"])
  # the fixed MMD-safe step needs more steps than the adaptive one it was replaced by
  adaptive = record["rows"][0]
  assert adaptive["before"]["max_steps"] > adaptive["after"]["max_steps"]
  accel = record["rows"][4]  # anderson needs fewer steps than plain mirror at lambda 10
  assert accel["before"]["mean_steps"] > accel["after"]["mean_steps"]
  assert (tmp_path / "a.png").stat().st_size > 1000


def test_adidas_pairwise_matrices_give_the_exact_utility_vectors():
  """benchmarks/adidas.py feeds ADIDAS exact polymatrix payoffs: sum_j M_ij x_j / (N - 1) must be
  dice_jax's v_i(x) for every player (the identity that makes ADIDAS's gradient exact)."""
  import jax
  import numpy as np

  import dice_jax as dj
  from benchmarks.adidas import pairwise_matrices

  game = dj.games.random.uniform(jax.random.PRNGKey(3), (3, 4, 2, 3))
  rng = np.random.default_rng(0)
  x = [rng.dirichlet(np.ones(k)) for k in game.num_actions]
  mats = pairwise_matrices([np.asarray(u) for u in game.payoffs], x)
  n = len(x)
  for i, v in enumerate(game.utilities(tuple(x))):
    est = sum(
      (mats[(i, j)][0] @ x[j]) if i < j else (mats[(j, i)][1].T @ x[j]) for j in range(n) if j != i
    ) / (n - 1)
    np.testing.assert_allclose(est, np.asarray(v), atol=1e-12)


def test_numpy_best_effort_is_the_same_algorithm_as_dice_jax():
  """Both contractions of the best-effort baseline stop every game at dice_jax's step with
  dice_jax's iterate (a batch with games that converge at different steps, so the live-game
  repacking runs), and agree with the former baseline."""
  import jax
  import numpy as np

  import dice_jax as dj
  from benchmarks.numpy_best import solve_numpy_best
  from benchmarks.numpy_mirror import solve_numpy_mirror

  game = dj.games.random.uniform(jax.random.PRNGKey(5), (6, 4), batch_shape=(40,))
  tau = 0.25
  sol = dj.solve(game, tau, method="mirror", tol=1e-10)
  a, b = (np.asarray(u) for u in game.payoffs)
  assert len(set(np.asarray(sol.steps).tolist())) > 3
  former = solve_numpy_mirror(a, b, tau, tol=1e-10)
  for contraction in ("einsum", "matmul"):
    x1, x2, res, steps = solve_numpy_best(a, b, tau, tol=1e-10, contraction=contraction)
    np.testing.assert_array_equal(steps, np.asarray(sol.steps))
    np.testing.assert_allclose(x1, np.asarray(sol.probabilities[0]), atol=1e-12)
    np.testing.assert_allclose(x2, np.asarray(sol.probabilities[1]), atol=1e-12)
    assert np.all(res <= 1e-10)
    np.testing.assert_allclose(x1, former[0], atol=1e-13)
  # a step budget that stops every game early returns the last iterate of each
  x1, _, res, steps = solve_numpy_best(a, b, tau, tol=1e-10, max_steps=3)
  assert np.all(steps == 3) and np.all(res > 1e-10)
  with pytest.raises(ValueError, match="contraction"):
    solve_numpy_best(a, b, tau, contraction="loop")


def test_roofline_model_counts_and_binding_resource():
  """Per-step counts from the closed forms; the binding resource is the one whose model time
  is largest, and the fractions follow from the counts, the steps and the time."""
  from benchmarks import roofline

  c = roofline.counts((32, 32), 8)
  assert c == {"bytes": 2 * 1024 * 8, "flops": 4 * 1024 + 15 * 64, "transcendentals": 130}
  k = {"n": 32, "players": 2, "dtype": "float64", "total_steps": 1000.0, "seconds": 0.01}
  peaks = {
    "read_bytes_per_s": 1e10,
    "cache_read_bytes_per_s": 2e10,
    "flops_per_s": 1e12,
    "exp_per_s": 1e7,
  }
  m = roofline.model(k, peaks)
  assert m["binds"] == "transcendentals"
  assert m["model_s"]["transcendentals"] == pytest.approx(1000 * 130 / 1e7)
  assert m["roofline_fraction"] == pytest.approx(1000 * 130 / 1e7 / 0.01)
  assert m["bandwidth_fraction"] == pytest.approx(1000 * 16384 / 0.01 / 1e10)
  peaks["exp_per_s"] = 1e12
  assert roofline.model(k, peaks)["binds"] == "bytes"


def test_auto_sweep_quick_record(tmp_path):
  """The sweep's record: every cell counted, the fractions consistent with the rows, and its
  independent NumPy residual agrees with dice_jax's (small on the answer, large off it)."""
  import jax
  import numpy as np

  import dice_jax as dj
  from benchmarks import auto_sweep

  game = dj.games.random.uniform(jax.random.PRNGKey(2), (2, 3, 2))
  sol = dj.solve(game, 0.2, tol=1e-12)
  payoffs = [np.asarray(u) for u in game.payoffs]
  assert auto_sweep.numpy_residual(payoffs, [np.asarray(p) for p in sol.probabilities], 5.0) < 1e-9
  uniform = [np.full(k, 1 / k) for k in (2, 3, 2)]
  assert auto_sweep.numpy_residual(payoffs, uniform, 5.0) > 1e-3

  out = tmp_path / "sweep.json"
  auto_sweep.main(["--quick", "--games", "2", "--gambit-games", "1", "--json", str(out)])
  rec = json.loads(out.read_text())
  assert len(rec["rows"]) == len(auto_sweep.QUICK_SHAPES) * len(auto_sweep.TAUS)
  for row in rec["rows"]:
    assert sum(row["results"].values()) == row["games"] == 2
    assert sum(row["methods_used"].values()) == 2
    if "gambit_games" in row:
      assert row["gambit_not_a_qre"] == 0 and row["max_diff_to_gambit"] < 1e-6
  main = [r for r in rec["rows"] if r["tau"] >= 1e-3]
  frac = sum(r["converged"] for r in main) / sum(r["games"] for r in main)
  assert rec["converged_fraction_1e-3_to_1e4"] == frac >= 0.99


def test_kernel_breakdown_times_the_same_work_on_both_sides():
  """The two contraction loops compute the same iterates (NumPy's both ways); the quick
  record's game-step counts are the solve's, and its parts add up to the solve time."""
  import jax
  import numpy as np

  import dice_jax as dj
  from benchmarks import kernel_breakdown as kb

  a, b = (
    np.asarray(u)
    for u in dj.games.random.uniform(jax.random.PRNGKey(3), (6, 5), batch_shape=(32,)).payoffs
  )
  xj, yj = kb.jax_contractions(a, b, 5)()
  for c in ("einsum", "matmul"):
    xn, yn = kb.numpy_contractions(a, b, c, 5)()
    np.testing.assert_allclose(np.asarray(xj), xn, rtol=1e-13)
    np.testing.assert_allclose(np.asarray(yj), yn, rtol=1e-13)
  rec = kb.measure(n=8, batch=64, repeats=2)
  game = dj.games.random.uniform(jax.random.PRNGKey(0), (8, 8), batch_shape=(64,))
  steps = np.asarray(dj.solve(game, 0.5, method="mirror", tol=kb.TOL).steps)
  p = rec["parts"]["dice_jax"]
  assert rec["parts"]["numpy_best_effort"]["game_steps"] == steps.sum()
  c = rec["chunk"]
  assert p["game_steps"] == sum(
    steps[i : i + c].max() * len(steps[i : i + c]) for i in range(0, 64, c)
  )
  assert kb.chunk_game_steps(np.array([1, 5, 2, 2, 3]), 2) == 2 * 5 + 2 * 2 + 1 * 3
  assert p["host_checks_ms"] + p["contractions_ms"] + p["elementwise_rest_ms"] == pytest.approx(
    p["total_ms"]
  )
  assert "2x target" in kb.table(rec)
