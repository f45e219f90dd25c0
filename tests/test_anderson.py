"""Anderson-accelerated mirror steps: the same HQRE as the plain method (and as Gambit where the
plain method is too slow), fewer steps where it should pay, and a safeguard that really falls
back to the plain step."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dice_jax as dj
from dice_jax.equilibrium.problem import HQREProblem
from dice_jax.solvers.mirror import mirror_update, proximal_weight


@pytest.fixture(scope="module")
def zero_sum():
  return dj.games.random.zero_sum(jax.random.PRNGKey(3), (6, 5), batch_shape=(8,))


@pytest.mark.parametrize("lam", [2.0, 10.0])
def test_same_hqre_as_mirror_in_fewer_steps(zero_sum, lam):
  plain = dj.solve(zero_sum, 1 / lam, method="mirror", tol=1e-10, max_steps=20_000)
  fast = dj.solve(zero_sum, 1 / lam, method="anderson", tol=1e-10, max_steps=20_000)
  assert np.all(np.asarray(plain.converged)) and np.all(np.asarray(fast.converged))
  for a, b in zip(plain.probabilities, fast.probabilities):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-8)
  assert np.all(np.asarray(fast.residual) <= 1e-10)
  assert np.median(fast.steps) < np.median(plain.steps)
  assert set(np.asarray(fast.method_names()).ravel()) == {"anderson"}


@pytest.mark.slow
def test_matches_gambit_where_mirror_is_slow(zero_sum):
  """lambda = 20 on a zero-sum game (unique QRE): Gambit's path-following answer, in a small
  fraction of the plain method's steps (it needs ~10,000 here)."""
  from dice_jax.testing import gambit_logit_qre

  game = zero_sum[3]
  sol = dj.solve(game, 1 / 20, method="anderson", tol=1e-10, max_steps=20_000)
  plain = dj.solve(game, 1 / 20, method="mirror", tol=1e-10, max_steps=20_000)
  assert bool(sol.converged) and bool(plain.converged)
  assert int(sol.steps) * 10 < int(plain.steps)
  ref = gambit_logit_qre(game, 20.0)
  for a, b in zip(sol.probabilities, ref):
    np.testing.assert_allclose(np.asarray(a), b, atol=1e-7)


def _problem(game, lam):
  n = game.num_actions
  return HQREProblem(
    game=game,
    temperature=jnp.full((2,), 1 / lam),
    log_reference=tuple(jnp.full((k,), -math.log(k)) for k in n),
  )


@pytest.mark.slow
def test_safeguard_rejects_and_falls_back_to_the_plain_step(zero_sum):
  """With a zero envelope every Anderson point is rejected: the next iterate is then exactly
  the plain mirror step from the last accepted point, and the solve still reaches the HQRE;
  with the default envelope the Anderson points are accepted."""
  problem = _problem(zero_sum[1], 10.0)
  step = jax.jit(lambda solver, s: solver.step(problem, s))
  s = dj.Anderson().init(problem, problem.log_reference)
  for _ in range(20):
    s = step(dj.Anderson(), s).state
  assert int(s.accepted) >= 12 and int(s.rejected) == 0

  solver = dj.Anderson(safeguard=0.0)
  s = solver.init(problem, problem.log_reference)
  rejections = 0
  for _ in range(24):
    was_extrapolated = bool(s.extrapolated)
    new = step(solver, s).state
    if was_extrapolated:
      assert int(new.rejected) == int(s.rejected) + 1
      expected, _ = mirror_update(
        s.mirror.prev_logits, s.mirror.prev_z, proximal_weight(new.mirror.eta, problem)
      )
      if not bool(new.extrapolated):
        for a, b in zip(new.mirror.logits, expected):
          np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
      rejections += 1
    s = new
  assert rejections >= 5 and int(s.accepted) == 0
  guarded = dj.solve(zero_sum[1], 0.1, method=solver, tol=1e-10, max_steps=20_000)
  plain = dj.solve(zero_sum[1], 0.1, method="mirror", tol=1e-10, max_steps=20_000)
  assert bool(guarded.converged)
  for a, b in zip(guarded.probabilities, plain.probabilities):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-8)
