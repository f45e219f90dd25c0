"""Solver table: methods x game catalogue x dtypes; closed forms, gap, result-code honesty."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize

import dice_jax as dj
from dice_jax.games import random as rg
from dice_jax.markov.solve import METHODS as MARKOV_METHODS
from dice_jax.testing import gambit_logit_qre
from tests.tiers import rows

METHODS = sorted(dj.solvers.METHODS)
# The per-method tables run these in the default tier, every method in the slow tier.
DEFAULT_METHODS = ("continuation", "extragradient", "mirror")
DTYPES = [jnp.float32, jnp.float64]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("method", rows(METHODS, DEFAULT_METHODS))
@pytest.mark.parametrize(
  "make", [dj.games.matching_pennies, dj.games.rock_paper_scissors], ids=["pennies", "rps"]
)
def test_symmetric_zero_sum_classics_are_uniform(make, method, dtype):
  sol = dj.solve(make(dtype=dtype), 0.3, method=method)
  assert sol.result_names().item() == "converged"
  assert sol.logits[0].dtype == dtype and sol.residual.dtype == dtype
  for p in sol.probabilities:
    np.testing.assert_allclose(p, np.full(p.shape, 1 / p.shape[-1]), atol=1e-5)


def prisoners_dilemma_qre(lam):
  """Closed form up to a 1-D root: by symmetry both defect w.p. q with
  q = sigmoid(lam * (q * 1 + (1 - q) * 2)) (defection gains 2 against C, 1 against D)."""
  f = lambda q: q - 1 / (1 + np.exp(-lam * (2 - q)))
  return optimize.brentq(f, 0.0, 1.0, xtol=1e-15)


@pytest.mark.parametrize("method", rows(METHODS, DEFAULT_METHODS))
@pytest.mark.parametrize("lam", [0.5, 3.0])
def test_prisoners_dilemma_matches_its_closed_form(method, lam):
  q = prisoners_dilemma_qre(lam)
  sol = dj.solve(dj.games.prisoners_dilemma(), 1 / lam, method=method, tol=1e-12)
  assert sol.result_names().item() == "converged"
  for p in sol.probabilities:
    np.testing.assert_allclose(p, [1 - q, q], atol=1e-10)


def test_gap_equals_regularised_best_response_gain():
  """gap_i = max_y [<y, v_i> - tau KL(y||rho)] - [<x_i, v_i> - tau KL(x_i||rho)], with the max
  in closed form tau * logsumexp(log rho + v / tau) (Gibbs variational principle)."""
  g = rg.uniform(jax.random.PRNGKey(0), (4, 3))
  tau = jnp.array([0.7, 0.4])
  ref = (jnp.array([0.1, 0.2, 0.3, 0.4]), jnp.array([0.5, 0.25, 0.25]))
  sol = dj.solve(g, tau, reference=ref, max_steps=3)  # deliberately not converged
  x = sol.probabilities
  v = g.utilities(x)
  for i in range(2):
    best = tau[i] * jax.nn.logsumexp(jnp.log(ref[i]) + v[i] / tau[i])
    own = jnp.sum(x[i] * v[i]) - tau[i] * jnp.sum(x[i] * (jnp.log(x[i]) - jnp.log(ref[i])))
    np.testing.assert_allclose(sol.agent_gaps[i], best - own, rtol=1e-10, atol=1e-14)
  assert float(sol.gap) > 1e-6
  np.testing.assert_allclose(sol.gap, sol.agent_gaps.sum())


@pytest.mark.parametrize("method", rows(METHODS, DEFAULT_METHODS))
def test_reference_policy_shifts_the_equilibrium_as_defined(method):
  """x_i = softmax(log rho_i + v_i / tau_i), checked directly at the returned profile."""
  g = rg.uniform(jax.random.PRNGKey(1), (3, 4))
  ref = (jnp.array([0.6, 0.3, 0.1]), jnp.array([0.1, 0.2, 0.3, 0.4]))
  tau = jnp.array([0.8, 1.5])
  sol = dj.solve(g, tau, reference=ref, method=method, tol=1e-12)
  assert sol.result_names().item() == "converged"
  x = sol.probabilities
  v = g.utilities(x)
  for i in range(2):
    np.testing.assert_allclose(x[i], jax.nn.softmax(jnp.log(ref[i]) + v[i] / tau[i]), atol=1e-11)


@pytest.mark.parametrize("lam", [10.0, 50.0])
def test_perturbed_shapley_continuation_returns_gambits_qre(lam):
  base = dj.games.shapley_game()
  noise = rg.uniform(jax.random.PRNGKey(2), (3, 3))
  g = dj.NormalFormGame(tuple(u + 0.05 * e for u, e in zip(base.payoffs, noise.payoffs)))
  ref = gambit_logit_qre(g, lam)
  sol = dj.solve(g, 1 / lam, method="continuation", tol=1e-12)
  assert sol.result_names().item() == "converged"
  for a, b in zip(sol.probabilities, ref):
    np.testing.assert_allclose(a, b, atol=1e-8)


@pytest.mark.parametrize("lam", [10.0, 50.0])
@pytest.mark.parametrize("method", rows(METHODS, DEFAULT_METHODS))
def test_no_method_claims_convergence_above_its_tolerance(method, lam):
  """On perturbed Shapley games (not monotone: mirror dynamics cycle at low temperature) a
  method may fail, but "converged" always means residual <= tol, recomputed independently."""
  base = dj.games.shapley_game()
  games = rg.uniform(jax.random.PRNGKey(3), (3, 3), batch_shape=(8,))
  g = dj.NormalFormGame(tuple(u + 0.05 * e for u, e in zip(base.payoffs, games.payoffs)))
  tol = 1e-9
  sol = dj.solve(g, 1 / lam, method=method, tol=tol, max_steps=3000)
  x = sol.probabilities
  b = jax.vmap(lambda gg, xx: tuple(jax.nn.softmax(v * lam) for v in gg.utilities(xx)))(g, x)
  recomputed = np.max([np.abs(np.asarray(xi) - np.asarray(bi)).sum(-1) for xi, bi in zip(x, b)], 0)
  np.testing.assert_allclose(sol.residual, recomputed, rtol=1e-6, atol=1e-13)
  conv = np.asarray(sol.converged)
  assert np.all(recomputed[conv] <= tol * (1 + 1e-6))
  assert np.all(np.isin(sol.result_names(), ["converged", "max_steps", "breakdown"]))


@pytest.mark.parametrize("method", rows(METHODS, DEFAULT_METHODS))
def test_history_records_the_residuals(method):
  g = rg.zero_sum(jax.random.PRNGKey(4), (6, 6))
  sol = dj.solve(g, 0.5, method=method, history=True, max_steps=500)
  h = np.asarray(sol.history)
  k = int(sol.steps) // dj.solvers.METHODS[method]().check_every
  assert np.all(np.isfinite(h[:k])) and np.all(np.isnan(h[k:]))
  assert h[k - 1] == pytest.approx(float(sol.residual))
  assert h[k - 1] <= 1e-8 < h[0]


def test_explicit_step_size_overrides_the_automatic_one():
  g = rg.zero_sum(jax.random.PRNGKey(5), (8, 8))
  auto = dj.solve(g, 0.5, method="mirror")
  small = dj.solve(g, 0.5, method=dj.Mirror(step_size=0.05))
  big = dj.solve(g, 0.5, method=dj.Mirror(step_size=1e6))  # ~ logit best-response iteration
  assert int(small.steps) > int(auto.steps)
  for s in (auto, small, big):
    assert s.result_names().item() == "converged"
  np.testing.assert_allclose(small.probabilities[0], auto.probabilities[0], atol=1e-7)


def test_mirror_contracts_at_its_documented_rate_on_a_monotone_game():
  """Theoretical MMD step on a zero-sum game: the residual history decays geometrically at a
  rate no worse than the KL contraction 1 / (1 + eta min tau) of Sokota et al. (in sqrt,
  since KL is quadratic in the distance) once the iterates are close."""
  g = rg.zero_sum(jax.random.PRNGKey(6), (5, 5))
  tau = 0.5
  sol = dj.solve(g, tau, method=dj.Mirror(adaptive=False), history=True, tol=1e-13)
  lip = float(dj.HQREProblem(g, jnp.array([tau, tau]), (jnp.zeros(5), jnp.zeros(5))).lipschitz())
  eta = tau / lip**2
  predicted = 1 / np.sqrt(1 + eta * tau)
  h = np.asarray(sol.history)
  h = h[np.isfinite(h)]
  observed = (h[-1] / h[len(h) // 2]) ** (1 / (len(h) - 1 - len(h) // 2))
  assert observed <= predicted + 1e-3


def test_adaptive_mirror_backs_off_to_the_safe_step_and_no_further():
  """On a game whose best-response iteration cycles (perturbed Shapley, lambda = 10), the
  adaptive step must back off; its final step is never below eta_safe = min tau / L**2, and
  on an easy game it keeps the large step and beats the fixed safe step."""
  base = dj.games.shapley_game()
  noise = rg.uniform(jax.random.PRNGKey(8), (3, 3))
  g = dj.NormalFormGame(tuple(u + 0.05 * e for u, e in zip(base.payoffs, noise.payoffs)))
  solver = dj.Mirror()
  problem = dj.HQREProblem(g, jnp.array([0.5, 0.5]), (jnp.zeros(3), jnp.zeros(3)))
  state = solver.init(problem, (jnp.log(jnp.ones(3) / 3),) * 2)
  eta0 = np.asarray(state.eta)
  for _ in range(200):
    state = solver.step(problem, state).state
  eta, safe = np.asarray(state.eta), np.asarray(state.safe)
  assert np.all(eta < eta0) and np.all(eta >= safe * (1 - 1e-12))
  easy = rg.zero_sum(jax.random.PRNGKey(9), (16, 16))
  fast = dj.solve(easy, 0.5, method=solver)
  slow = dj.solve(easy, 0.5, method=dj.Mirror(adaptive=False))
  assert fast.result_names().item() == slow.result_names().item() == "converged"
  assert int(fast.steps) * 2 < int(slow.steps)
  np.testing.assert_allclose(fast.probabilities[0], slow.probabilities[0], atol=1e-8)


@pytest.mark.parametrize(
  "dtype,scale", [(jnp.float64, 1e-160), (jnp.float32, 1e-21)], ids=["f64", "f32"]
)
def test_optimistic_converges_when_the_payoff_halfrange_is_tiny(dtype, scale):
  """Issue 12: a half-range below 1e-154 (f64) / 1e-19 (f32) squared to 0 and the Lipschitz
  bound came out -0.0 under jit, so the optimistic step was -inf and the solve `nonfinite`."""
  g = rg.uniform(jax.random.PRNGKey(0), (3, 3), dtype=dtype)
  g = dj.NormalFormGame(tuple(u * scale for u in g.payoffs))
  lip = jax.jit(lambda p: p.lipschitz())(dj.HQREProblem(g, jnp.ones(2, dtype), ()))
  assert float(lip) > 0 and not np.signbit(lip)
  sol = dj.solve(g, 0.5, method="optimistic")
  assert sol.result_names().item() == "converged"


def _gambit_cases():
  """Non-monotone games (the vertex bound does not certify them, so "auto" must follow the
  principal branch): perturbed Shapley games at lambda 10 and 50, random 4x4 games at
  lambda 8 and 16, random 3-player games at lambda 3 and 8."""
  shapley = dj.games.shapley_game()
  noise = rg.uniform(jax.random.PRNGKey(11), (3, 3), batch_shape=(2,))
  perturbed = dj.NormalFormGame(tuple(u + 0.05 * e for u, e in zip(shapley.payoffs, noise.payoffs)))
  return [
    ("shapley", perturbed, [10.0, 50.0]),
    ("random 4x4", rg.uniform(jax.random.PRNGKey(12), (4, 4), batch_shape=(2,)), [8.0, 16.0]),
    ("random 2x3x2", rg.uniform(jax.random.PRNGKey(13), (2, 3, 2), batch_shape=(2,)), [3.0, 8.0]),
  ]


@pytest.mark.parametrize(
  "case", rows([0, 1, 2], default=(0,)), ids=["shapley", "random4x4", "3player"]
)
def test_auto_default_equals_gambit_on_non_monotone_games(case):
  name, games, lams = _gambit_cases()[case]
  tau = 1 / np.asarray(lams)[:, None]
  sol = dj.solve(games, tau, tol=1e-12)  # the default method is "auto"
  certified = np.asarray(
    jax.vmap(
      lambda g, t: dj.HQREProblem(
        g, t, tuple(jnp.zeros(k) for k in g.num_actions)
      ).uniqueness_certified()
    )(games, jnp.broadcast_to(tau, (2, games.num_players)))
  )
  assert not certified.any(), name
  assert list(sol.method_names()) == ["continuation"] * 2
  assert np.all(sol.converged)
  for b, lam in enumerate(lams):
    ref = gambit_logit_qre(games[b], lam)
    for x, y in zip(sol.probabilities, ref):
      np.testing.assert_allclose(np.asarray(x[b]), y, atol=1e-8, rtol=0)


def test_auto_uses_the_first_order_method_where_uniqueness_is_certified():
  """Zero-sum (alpha = 0 < tau): mirror, the same answer as explicit mirror, and the default of
  explicit methods is unchanged."""
  g = rg.zero_sum(jax.random.PRNGKey(14), (5, 5), batch_shape=(2,))
  auto = dj.solve(g, 0.3, tol=1e-11)
  mirror = dj.solve(g, 0.3, method="mirror", tol=1e-11)
  assert list(auto.method_names()) == ["mirror"] * 2
  assert list(mirror.method_names()) == ["mirror"] * 2
  np.testing.assert_array_equal(auto.steps, mirror.steps)
  for a, b in zip(auto.logits, mirror.logits):
    np.testing.assert_array_equal(a, b)
  ref = gambit_logit_qre(g[0], 1 / 0.3)
  for x, y in zip(auto.probabilities, ref):
    np.testing.assert_allclose(np.asarray(x[0]), y, atol=1e-8, rtol=0)


def test_auto_falls_back_to_continuation_when_the_first_order_method_stalls():
  g = rg.zero_sum(jax.random.PRNGKey(15), (6, 6))
  slow = dj.Mirror(step_size=1e-6, adaptive=False)
  sol = dj.solve(g, 0.01, method=dj.solvers.Auto(first_order=slow), tol=1e-10, max_steps=300)
  assert sol.method_names().item() == "continuation" and sol.converged
  assert int(sol.steps) > 300  # the 300 stalled mirror steps are counted


def _symmetric_branch(lam):
  """The principal branch of the game diag(1, 1, 1/2) (both players) stays on ``x = (p, p,
  1 - 2p)``: ``log(p / (1 - 2p)) = lam (2p - 1/2)``, one root in (1/3, 1/2) (the left side
  minus the right is convex there, negative at 1/3, unbounded at 1/2). Bisection."""
  lo, hi = 1 / 3, 0.5 - 1e-15
  for _ in range(200):
    mid = (lo + hi) / 2
    lo, hi = (mid, hi) if np.log(mid / (1 - 2 * mid)) < lam * (2 * mid - 0.5) else (lo, mid)
  return lo


def test_continuation_reports_the_pitchfork_it_passes_where_gambit_stalls():
  # Swapping actions 0 and 1 is a symmetry, so the branch keeps x_0 = x_1 = p; the mode
  # x_0 - x_1 of each player drives the other's with gain lam * p, so I - dF is singular where
  # lam * p(lam) = 1: a pitchfork at lam* (closed form below), and the symmetric branch goes on.
  a = np.diag([1.0, 1.0, 0.5])
  g = dj.NormalFormGame.from_arrays([a, a])
  p_star = optimize.brentq(
    lambda p: p * np.log(p / (1 - 2 * p)) / (2 * p - 0.5) - 1, 1 / 3 + 1e-9, 0.5 - 1e-9
  )
  lam_star = 1 / p_star
  for lam, passed in [(0.95 * lam_star, 0), (1.05 * lam_star, 1), (10.0, 1)]:
    sol = dj.solve(g, 1 / lam, tol=1e-12)  # the default, auto: continuation (uncertified)
    assert sol.method_names().item() == "continuation" and sol.converged
    assert int(sol.bifurcations) == passed, lam
    p = _symmetric_branch(lam)
    for x in sol.probabilities:
      np.testing.assert_allclose(np.asarray(x), [p, p, 1 - 2 * p], atol=1e-9, rtol=0)
  # Gambit's tracer stops at the pitchfork: past it, it returns the branch point's profile,
  # which is not the QRE at the lambda asked for.
  ref = gambit_logit_qre(g, 10.0)
  assert abs(float(ref[0][0]) - p_star) < 1e-5
  assert abs(float(ref[0][0]) - _symmetric_branch(10.0)) > 0.05


def test_every_solver_has_its_own_pytree_structure():
  """JAX's treedef equality ignores the type of ``register_dataclass`` nodes with equal static
  fields (their hashes differ), so two solvers of one layout could share a jit-cache entry on a
  hash collision; the static ``code`` field keeps every pair apart (dice_jax.solvers.METHOD)."""
  registries = [dj.solvers.METHODS, MARKOV_METHODS]
  solvers = [
    (f"{i}:{name}", make()) for i, reg in enumerate(registries) for name, make in reg.items()
  ]
  structures = {name: jax.tree_util.tree_structure(s) for name, s in solvers}
  for (a, sa), (b, sb) in itertools.combinations(solvers, 2):
    if type(sa) is not type(sb):
      assert structures[a] != structures[b], (a, b)
