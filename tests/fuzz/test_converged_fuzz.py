""" "converged" means it: on random games across dtypes, methods, payoff scales 1e-6...1e6 and
temperatures 1e-4...1e4, every game reported converged has, re-computed independently in NumPy
(float64), a fixed-point residual <= tol (up to the rounding the game's dtype allows at that
scale), and no returned profile holds NaN. A batch mixing good and overflowing games gives the
good ones the answer they get without the bad one.

The NumPy residual: r(x) = max_i ||x_i - softmax(log rho_i + v_i(x) / tau_i)||_1 with
v_i(x)[a] = sum over the others' actions of U_i[a, a_-i] prod_j x_j[a_j] (DESIGN section 3).
Rounding: an error of eps relative in x or U moves v_i / tau_i by about 2 N eps H / tau_i
(H = max |U|) and the softmax by at most that in l1, so the check allows
tol + 16 N eps (1 + H / tau) where eps is the game dtype's machine epsilon.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dice_jax as dj
from dice_jax.solvers._solve import METHODS
from tests.fuzz.budget import STATS, examples, time_limit

SHAPES = {(3, 3): 8, (2, 2, 2): 4}
MAX_STEPS = {"continuation": 300}


def numpy_residual(payoffs, probs, tau):
  """``max_i ||x_i - b_i(x)||_1`` in float64 for one game (independent of dice_jax)."""
  n = len(payoffs)
  worst = 0.0
  for i, u in enumerate(payoffs):
    v = np.moveaxis(u, i, 0)
    others = [probs[j] for j in range(n) if j != i]
    for x in reversed(others):
      v = v @ x
    z = v / tau[i] - np.log(len(probs[i]))
    z = z - z.max()
    b = np.exp(z) / np.exp(z).sum()
    worst = max(worst, float(np.abs(probs[i] - b).sum()))
  return worst


@st.composite
def batches(draw):
  shape = draw(st.sampled_from(sorted(SHAPES)))
  batch = SHAPES[shape]
  seed = draw(st.integers(0, 2**31 - 1))
  rng = np.random.default_rng(seed)
  scale = 10.0 ** rng.uniform(-6, 6, size=batch)
  tau = 10.0 ** rng.uniform(-4, 4, size=(batch, 1))
  payoffs = [
    rng.uniform(-1, 1, size=(batch, *shape)) * scale.reshape(-1, *(1,) * len(shape)) for _ in shape
  ]
  return shape, payoffs, tau


@settings(max_examples=examples(4, 1000))
@given(
  method=st.sampled_from(sorted(METHODS)),
  dtype=st.sampled_from(["float32", "float64"]),
  case=batches(),
)
def test_converged_means_residual_at_most_tol(method, dtype, case):
  """Each case: one batch (8 games of 3x3 or 4 of 2x2x2), one method and dtype; every (shape,
  method, dtype) compiles once, so the ci budget draws 4 cases and the thorough one 1,000."""
  shape, payoffs, tau = case
  game = dj.NormalFormGame.from_arrays(*payoffs, dtype=np.dtype(dtype))
  with time_limit(300, f"{method} {dtype} {shape}"):
    sol = dj.solve(game, tau, method=method, max_steps=MAX_STEPS.get(method, 2000))
  tol = 1e-8 if dtype == "float64" else 1e-5
  eps = float(np.finfo(dtype).eps)
  probs = [np.asarray(p, np.float64) for p in sol.probabilities]
  result = np.asarray(sol.result)
  for g in range(len(tau)):
    x = [p[g] for p in probs]
    assert all(np.all(np.isfinite(xi)) for xi in x), "NaN/inf in a returned profile"
    STATS["games solved (converged re-check)"] += 1
    if result[g] != dj.RESULT.CONVERGED:
      STATS["games not converged (honest codes)"] += 1
      continue
    u = [np.asarray(p[g], np.float64) for p in game.payoffs]
    h = max(float(np.abs(ui).max()) for ui in u)
    r = numpy_residual(u, x, np.full(len(shape), tau[g, 0]))
    slack = 16 * len(shape) * eps * (1 + h / tau[g, 0])
    STATS["games converged"] += 1
    if r > tol:
      STATS["converged with NumPy residual > tol (within rounding slack)"] += 1
    if r > tol + slack:
      STATS["wrong converged"] += 1
    assert r <= tol + slack, (method, dtype, g, r, tol, slack)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=examples(1, 100))
@given(seed=st.integers(0, 2**31 - 1), bad=st.integers(0, 3))
def test_overflowing_game_does_not_spoil_the_batch(dtype, seed, bad):
  rng = np.random.default_rng(seed)
  payoffs = [rng.uniform(-1, 1, size=(4, 3, 3)) for _ in range(2)]
  big = float(np.finfo(dtype).max) / 4  # finite payoffs whose utilities / tau overflow
  tau = np.full((4, 1), 0.5)
  clean = dj.solve(dj.NormalFormGame.from_arrays(*payoffs, dtype=np.dtype(dtype)), tau)
  payoffs[0][bad] *= big
  payoffs[1][bad] *= big
  tau[bad] = 1e-3
  with time_limit(120, "mixed batch"):
    mixed = dj.solve(dj.NormalFormGame.from_arrays(*payoffs, dtype=np.dtype(dtype)), tau)
  for g in range(4):
    for p in mixed.probabilities:
      assert np.all(np.isfinite(np.asarray(p[g])))
    if g == bad:
      STATS[f"overflowing games: {dj.RESULT.name(mixed.result[g])}"] += 1
      continue
    assert int(mixed.result[g]) == int(clean.result[g])
    for a, b in zip(mixed.probabilities, clean.probabilities):
      np.testing.assert_array_equal(np.asarray(a[g]), np.asarray(b[g]))
