"""Certificates: soundness, uniqueness, rate, refutation, invariances, bad input (issue 3)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import dice_jax as dj
from dice_jax.certify import REASON, certify, observed_rate
from dice_jax.certify.monotonicity import alpha_vertex_bound
from dice_jax.equilibrium import HQREProblem
from dice_jax.games import NormalFormGame
from dice_jax.games import random as rg
from dice_jax.solvers import Mirror
from dice_jax.testing import assert_certificate_sound, assert_is_hqre, distance
from dice_jax.testing import strategies as dst

SHAPE = (3, 4)
BATCH = 16
TIGHT = dict(tol=1e-11, max_steps=200_000)


def _fewer(fraction):
  """A fraction of the active profile's examples for the costliest tests."""
  return settings(max_examples=max(5, int(settings.default.max_examples * fraction)))


def _reference_solution(game, tau):
  star = dj.solve(game, tau, **TIGHT)
  assert np.all(star.converged), star.result_names()
  assert_is_hqre(game, tau, star.probabilities, atol=2e-11)
  return star


@pytest.mark.slow
def test_soundness_on_256_generated_games():
  """>= 200 certified games per run, zero violations: 192 two-player games (exact alpha) and
  64 three-player games (vertex bound), early-stopped iterates from random starts. Batches of
  ``BATCH`` games so that every compilation is shared with the other tests."""
  rng = np.random.default_rng(13)
  problems = [dst.certified_batch(100 + k, SHAPE, BATCH) for k in range(12)]
  for k in range(4):
    g3 = rg.uniform(jax.random.PRNGKey(200 + k), (2, 2, 3), (BATCH,))
    alpha3 = np.asarray(alpha_vertex_bound(g3))
    tau3 = alpha3[:, None] * rng.uniform(1.05, 3.0, (BATCH, 1)) * rng.uniform(1.0, 1.5, (BATCH, 3))
    problems.append((g3, tau3))
  checked = 0
  for seed, (game, tau) in enumerate(problems):
    star = _reference_solution(game, tau)
    init = dst.random_profiles(seed, game.num_actions, game.batch_shape)
    early = dj.solve(game, tau, method="mirror", init=init, max_steps=1 + seed % 5)
    cert = certify(game, tau, early)
    d = distance(early.probabilities, star.probabilities)
    assert np.all(d > 1e-9)  # genuinely early-stopped
    checked += assert_certificate_sound(cert, early.probabilities, star.probabilities)
    # issue 16 item 5: certified => a rate < 1 (at the step the certificate names)
    assert np.all(np.asarray(cert.predicted_rate)[np.asarray(cert.certified)] < 1)
    # the unweighted and weighted bounds are each sound, not only their minimum
    for field in ("error_bound_unweighted", "error_bound_weighted"):
      assert np.all(d <= np.asarray(getattr(cert, field)))
  assert checked >= 200


@pytest.mark.slow
@given(dst.certified_problems(SHAPE, BATCH), st.integers(1, 30))
def test_error_bound_is_sound(problem, steps):
  game, tau, seed = problem
  star = _reference_solution(game, tau)
  early = dj.solve(
    game, tau, method="mirror", init=dst.random_profiles(seed, SHAPE, (BATCH,)), max_steps=steps
  )
  cert = certify(game, tau, early)
  assert np.all(cert.certified)
  assert np.all(np.asarray(cert.predicted_rate) < 1)
  assert assert_certificate_sound(cert, early.probabilities, star.probabilities) == BATCH


@pytest.mark.slow
@_fewer(1 / 3)
@given(dst.certified_problems(SHAPE, BATCH))
def test_uniqueness_solves_from_five_starts_agree_within_the_bound(problem):
  game, tau, seed = problem
  for steps in (3, 10_000):
    sols, bounds = [], []
    for k in range(5):
      init = dst.random_profiles(seed + k, SHAPE, (BATCH,))
      s = dj.solve(game, tau, method="mirror", init=init, max_steps=steps)
      c = certify(game, tau, s)
      assert np.all(c.certified)
      sols.append(s.probabilities)
      bounds.append(np.asarray(c.error_bound))
    for a in range(5):
      for b in range(a + 1, 5):
        assert np.all(distance(sols[a], sols[b]) <= bounds[a] + bounds[b])


@jax.jit
def _mirror_path(game, tau):
  """The iterates of Mirror(adaptive=False), i.e. eta = eta_safe, from the uniform profile."""

  def run(g, t):
    lr = tuple(jnp.full((k,), -jnp.log(k)) for k in g.num_actions)
    prob = HQREProblem(g, t, lr)
    m = Mirror(adaptive=False)

    def body(s, _):
      out = m.step(prob, s)  # out.residual: residual of the iterate the step started from
      return out.state, (out.state.logits, out.residual)

    _, (ls, rs) = jax.lax.scan(body, m.init(prob, lr), None, length=150)
    return tuple(jnp.concatenate([l0[None], l], 0) for l0, l in zip(lr, ls)), rs

  return jax.vmap(run)(game, tau)


@pytest.mark.slow
@_fewer(1 / 3)
@given(dst.certified_problems(SHAPE, BATCH))
def test_rate_observed_decay_never_exceeds_predicted(problem):
  game, tau, _ = problem
  star = _reference_solution(game, tau)
  cert = certify(game, tau, star)
  kl_factor = np.asarray(cert.contraction)
  guaranteed = kl_factor < 1
  path, residuals = _mirror_path(game, jnp.asarray(tau))
  xs = [np.asarray(l) for l in star.logits]
  kl = sum(np.sum(np.exp(x)[:, None] * (x[:, None] - np.asarray(l)), -1) for x, l in zip(xs, path))
  ratio = kl[:, 1:] / np.maximum(kl[:, :-1], 1e-300)
  usable = kl[:, :-1] > 1e-11  # KL computed to ~1e-16 absolute: ratios below are rounding
  worst = np.max(np.where(usable, ratio, 0.0), axis=1)
  assert np.all(worst[guaranteed] <= kl_factor[guaranteed] + 1e-8)
  # the observed rate (geometric fit of the residual history, down to 1e-10) is within the
  # predicted distance rate sqrt(1 / (1 + c)) once the run is in its asymptotic regime (the
  # guarantee is on an envelope of the residual, which may plateau early on: require a decay
  # by 1e3 over the fitted window)
  res = np.asarray(residuals)
  hist = np.where(res > 1e-10, res, np.nan)
  obs = np.asarray(observed_rate(hist))
  pred = np.asarray(cert.predicted_rate)
  decayed = np.nanmin(hist, axis=1) <= 1e-3 * hist[:, 0]
  ok = guaranteed & np.isfinite(obs) & decayed
  assert np.all(obs[ok] <= pred[ok] + 1e-6)
  # the step bound is honoured: after step_bound steps the distance is below tol
  bound = np.asarray(cert.step_bound)
  for k in np.flatnonzero(guaranteed & (bound <= 150)):
    x_t = [np.exp(np.asarray(l[k, int(bound[k])])) for l in path]
    assert distance(x_t, [p[k] for p in star.probabilities]) <= 1e-8 + 1e-10


def test_rate_monotone_safe_step_matches_sokota():
  """Zero-sum, eta = min tau / L^2: c = eta min tau, the MMD rate of Sokota et al. (2023)."""
  game = rg.zero_sum(jax.random.PRNGKey(5), SHAPE, (BATCH,))
  tau = np.full((BATCH, 2), 0.3)
  cert = certify(game, tau, dj.solve(game, tau))
  eta = np.asarray(cert.step_size)
  h = np.asarray(game.payoff_halfrange()).max(-1)
  np.testing.assert_allclose(eta, 0.3 / h**2, rtol=1e-12)
  np.testing.assert_allclose(cert.contraction, 1 / (1 + eta * 0.3), rtol=1e-12)


def _coordination_with_several_qre(seed, shape, tau_max):
  game = rg.coordination(jax.random.PRNGKey(seed), shape, (BATCH,))
  tau = np.random.default_rng(seed).uniform(0.02, tau_max, (BATCH, 1)) * np.ones(len(shape))
  sols = []
  for k in range(2):  # start near convention k for every player
    init = tuple(
      np.broadcast_to(np.where(np.arange(n) == k, 0.9, 0.1 / (n - 1)), (BATCH, n)) for n in shape
    )
    s = dj.solve(game, tau, method="mirror", init=init)
    assert np.all(s.converged)
    sols.append(s)
  # independent evidence of several equilibria: two converged HQRE far apart
  assert np.all(distance(sols[0].probabilities, sols[1].probabilities) > 0.1)
  return game, tau, sols


@pytest.mark.parametrize("shape", [SHAPE, (2, 2, 3)])
def test_refutation_coordination_below_critical_temperature(shape):
  game, tau, sols = _coordination_with_several_qre(21, shape, 0.1)
  for s in sols:
    cert = certify(game, tau, s)
    assert not np.any(cert.certified)
    assert np.all(np.isinf(cert.error_bound))
    for r in np.ravel(cert.reason):
      assert "monotonicity margin check failed" in r
    if len(shape) == 2:  # exact alpha: the sampled bound refutes, with evidence
      assert np.all(cert.reason_code == REASON.REFUTED)
      assert np.all(np.asarray(cert.alpha_lower) >= np.asarray(cert.min_temperature))


@pytest.mark.slow
def test_refutation_catalogue_coordination():
  g = dj.games.coordination_game(2)
  for tau in (0.1, 0.3, 0.45):  # critical temperature 1/2 (several QRE below it)
    c = certify(g, tau, dj.solve(g, tau, history=True))  # the CLI's compilations
    assert not bool(c.certified) and c.reason.startswith("refuted")


def _permute(game, perms):
  """Relabel every player's actions: new action a of player i is old perms[i][a]."""
  out = []
  for u in game.payoffs:
    for i, p in enumerate(perms):
      u = jnp.take(u, jnp.asarray(p), axis=u.ndim - len(perms) + i)
    out.append(u)
  return NormalFormGame(tuple(out))


FIELDS = ("alpha_upper", "margin", "weighted_margin", "alpha_lower", "error_bound")


@_fewer(1 / 3)
@given(
  dst.certified_problems(SHAPE, BATCH),
  st.permutations(range(3)),
  st.permutations(range(4)),
  st.floats(-3, 3),
  st.floats(0.1, 10),
)
@pytest.mark.slow
def test_invariances(problem, p1, p2, shift, scale):
  game, tau, seed = problem
  # early-stopped: a non-trivial error bound
  sol = dj.solve(game, tau, method="mirror", max_steps=5)
  base = certify(game, tau, sol)
  x = sol.probabilities
  perms = (np.asarray(p1), np.asarray(p2))

  # relabelling actions permutes the solution and leaves the certificate unchanged
  g_perm = _permute(game, perms)
  s_perm = dj.solve(g_perm, tau, method="mirror", max_steps=5)
  for a, b, p in zip(s_perm.probabilities, x, perms):
    np.testing.assert_allclose(a, np.asarray(b)[:, p], atol=1e-12)
  c_perm = certify(g_perm, tau, tuple(np.asarray(b)[:, p] for b, p in zip(x, perms)))
  for f in FIELDS:
    np.testing.assert_allclose(getattr(c_perm, f), getattr(base, f), rtol=1e-9, atol=1e-12)

  # relabelling players (swap, transposing the tensors) swaps the solution
  g_swap = NormalFormGame(
    (jnp.swapaxes(game.payoffs[1], -1, -2), jnp.swapaxes(game.payoffs[0], -1, -2))
  )
  tau_swap = tau[:, ::-1]
  s_swap = dj.solve(g_swap, tau_swap, method="mirror", max_steps=5)
  np.testing.assert_allclose(s_swap.probabilities[0], x[1], atol=1e-12)
  np.testing.assert_allclose(s_swap.probabilities[1], x[0], atol=1e-12)
  c_swap = certify(g_swap, tau_swap, (x[1], x[0]))
  for f in FIELDS:
    np.testing.assert_allclose(getattr(c_swap, f), getattr(base, f), rtol=1e-9, atol=1e-12)

  # a constant added to one player's payoffs changes nothing
  g_shift = NormalFormGame((game.payoffs[0] + shift, game.payoffs[1]))
  s_shift = dj.solve(g_shift, tau, method="mirror", max_steps=5)
  for a, b in zip(s_shift.probabilities, x):
    np.testing.assert_allclose(a, b, atol=1e-12)
  c_shift = certify(g_shift, tau, x)
  for f in FIELDS:
    np.testing.assert_allclose(getattr(c_shift, f), getattr(base, f), rtol=1e-9, atol=1e-12)

  # scaling payoffs and temperatures by c > 0 changes the solution not, alpha and mu by c
  g_scale = NormalFormGame(tuple(u * scale for u in game.payoffs))
  s_scale = dj.solve(g_scale, tau * scale, method="mirror", max_steps=5)
  for a, b in zip(s_scale.probabilities, x):
    np.testing.assert_allclose(a, b, atol=1e-12)
  c_scale = certify(g_scale, tau * scale, x)
  np.testing.assert_array_equal(c_scale.certified, base.certified)
  for f in ("alpha_upper", "margin", "alpha_lower"):
    np.testing.assert_allclose(
      getattr(c_scale, f), scale * np.asarray(getattr(base, f)), rtol=1e-9, atol=1e-12
    )
  for f in ("weighted_margin", "error_bound", "contraction"):
    np.testing.assert_allclose(getattr(c_scale, f), getattr(base, f), rtol=1e-9, atol=1e-12)


def _bad_inputs():
  g = dj.games.matching_pennies()
  good = (np.array([0.5, 0.5]), np.array([0.5, 0.5]))
  nan_game = NormalFormGame((jnp.array([[1.0, jnp.nan], [0.0, 1.0]]), -jnp.eye(2)))
  return [
    (dict(game=object(), temperature=1.0, solution=good), "game"),
    (dict(game=nan_game, temperature=1.0, solution=good), "game"),
    (dict(game=g, temperature=np.ones(3), solution=good), "temperature"),
    (dict(game=g, temperature=-1.0, solution=good), "temperature"),
    (dict(game=g, temperature=np.inf, solution=good), "temperature"),
    (dict(game=g, temperature=np.nan, solution=good), "temperature"),
    (dict(game=g, temperature=1.0, solution=good[:1]), "solution"),
    (dict(game=g, temperature=1.0, solution=(np.ones(3) / 3, good[1])), r"solution\[0\]"),
    (dict(game=g, temperature=1.0, solution=(np.array([np.nan, 1.0]), good[1])), r"solution\[0\]"),
    (dict(game=g, temperature=1.0, solution=(np.array([0.7, 0.7]), good[1])), r"solution\[0\]"),
    (
      dict(game=g, temperature=1.0, solution=good, reference=(np.ones(3) / 3, good[1])),
      "reference",
    ),
    # A length-1 "distribution" sums to 1; it used to broadcast over the actions.
    (
      dict(game=g, temperature=1.0, solution=good, reference=([1.0], [1.0])),
      r"reference\[0\] must be a distribution over 2",
    ),
    (dict(game=g, temperature=1.0, solution=good, step_size=0.0), "step_size"),
    (dict(game=g, temperature=1.0, solution=good, step_size=np.ones(2)), "step_size"),
    (dict(game=g, temperature=1.0, solution=good, tol=-1.0), "tol"),
    (dict(game=g, temperature=1.0, solution=good, num_samples=0), "num_samples"),
  ]


@pytest.mark.parametrize("kwargs,name", _bad_inputs())
def test_bad_input_raises_value_error_naming_the_argument(kwargs, name):
  with pytest.raises(ValueError, match=name):
    certify(**kwargs)


def test_bad_solution_logits_and_batch_mismatch():
  g = rg.uniform(jax.random.PRNGKey(0), (2, 2), (3,))
  sol = dj.solve(g, 1.0)
  bad = sol.replace(logits=(sol.logits[0].at[1, 0].set(jnp.inf), sol.logits[1]))
  with pytest.raises(ValueError, match=r"solution\[0\]"):
    certify(g, 1.0, bad)
  with pytest.raises(ValueError, match=r"solution\[1\]"):
    certify(g, 1.0, (sol.probabilities[0], np.full((4, 2), 0.5)))
  with pytest.raises(ValueError, match="temperature"):
    certify(g, np.ones((4, 2)), sol)


def test_certificate_is_a_pytree_with_batch_axes():
  g, tau = dst.certified_batch(3, SHAPE, BATCH)
  c = certify(g, tau, dj.solve(g, tau, method="mirror", max_steps=4))
  leaves, treedef = jax.tree_util.tree_flatten(c)
  assert all(l.shape[0] == BATCH for l in leaves)
  c2 = jax.tree_util.tree_unflatten(treedef, [l[::-1] for l in leaves])
  assert float(c2.margin[0]) == float(c.margin[-1])
  assert float(c[5].error_bound) == float(c.error_bound[5])


def _certified_by_tau_above_alpha(seed, shape=SHAPE):
  """Games with alpha > 0 at temperatures just above alpha (the safe step has no rate)."""
  game = rg.uniform(jax.random.PRNGKey(seed), shape, (BATCH,))
  alpha = np.asarray(alpha_vertex_bound(game))
  rng = np.random.default_rng(seed)
  tau = alpha[:, None] * rng.uniform(1.02, 1.6, (BATCH, 1)) * rng.uniform(1.0, 1.3, (BATCH, 2))
  return game, tau


@jax.jit
def _mirror_path_at(game, tau, eta):
  """Iterates of ``Mirror(step_size=eta, adaptive=False)`` (per-player ``eta``) from uniform."""

  def run(g, t, e):
    lr = tuple(jnp.full((k,), -jnp.log(k)) for k in g.num_actions)
    prob = HQREProblem(g, t, lr)
    m = Mirror(step_size=e, adaptive=False)

    def body(s, _):
      out = m.step(prob, s)
      return out.state, (out.state.logits, out.residual)

    _, (ls, rs) = jax.lax.scan(body, m.init(prob, lr), None, length=300)
    return tuple(jnp.concatenate([l0[None], l], 0) for l0, l in zip(lr, ls)), rs

  return jax.vmap(run)(game, tau, eta)


@pytest.mark.parametrize("seed", [31, 32])
def test_certified_means_a_rate_below_one_at_a_runnable_step(seed):
  """Issue 16 item 5: games certified through tau > alpha > 0 (where eta_safe has no
  guarantee) get predicted_rate < 1 at best_step or the weighted theorem's per-player steps;
  running Mirror there, KL(x* || x_t) shrinks at least by the predicted factor every step."""
  game, tau = _certified_by_tau_above_alpha(seed)
  star = _reference_solution(game, tau)
  cert = certify(game, tau, star)
  ok = np.asarray(cert.certified)
  assert ok.sum() >= BATCH // 2
  assert np.all(np.asarray(cert.predicted_rate)[ok] < 1)
  prob = HQREProblem(game, jnp.asarray(tau), tuple(jnp.full((BATCH, k), -np.log(k)) for k in SHAPE))
  safe = np.asarray(Mirror().safe_step(prob))[:, 0]
  steps = np.asarray(cert.step_sizes)
  assert np.any(np.abs(steps[ok, 0] - safe[ok]) > 1e-6 * safe[ok])  # not the default step
  path, residuals = _mirror_path_at(game, jnp.asarray(tau), jnp.asarray(steps))
  xs = [np.asarray(l) for l in star.logits]
  kl = sum(np.sum(np.exp(x)[:, None] * (x[:, None] - np.asarray(l)), -1) for x, l in zip(xs, path))
  ratio = kl[:, 1:] / np.maximum(kl[:, :-1], 1e-300)
  usable = kl[:, :-1] > 1e-11
  worst = np.max(np.where(usable, ratio, 0.0), axis=1)
  factor = np.asarray(cert.contraction)
  assert np.all(worst[ok] <= factor[ok] + 1e-8)
  hist = np.where(np.asarray(residuals) > 1e-10, np.asarray(residuals), np.nan)
  obs = np.asarray(observed_rate(hist))
  fit = ok & np.isfinite(obs)
  assert fit.sum() >= 3 and np.all(obs[fit] <= np.asarray(cert.predicted_rate)[fit] + 1e-6)


def test_weighted_route_gives_per_player_steps():
  """A game certified only through mu_W > 0 (mu <= 0) gets its rate from the weighted
  theorem: per-player steps eta_W / tau_i, a rate < 1, and the KL decay honours it."""
  rng = np.random.default_rng(4)
  base = rg.uniform(jax.random.PRNGKey(41), SHAPE, (BATCH,))
  game = NormalFormGame((0.05 * base.payoffs[0], base.payoffs[1]))  # player 1 barely cares
  alpha = np.asarray(alpha_vertex_bound(game))
  tau = np.stack([alpha * rng.uniform(0.3, 0.7, BATCH), alpha * rng.uniform(10, 20, BATCH)], -1)
  cert = certify(game, tau, dj.solve(game, tau, **TIGHT))
  only_w = np.asarray(cert.certified) & (np.asarray(cert.margin) <= 0)
  assert only_w.sum() >= 4
  steps = np.asarray(cert.step_sizes)[only_w]
  assert np.all(np.isnan(np.asarray(cert.step_size)[only_w]))
  np.testing.assert_allclose(steps[:, 0] * tau[only_w, 0], steps[:, 1] * tau[only_w, 1], rtol=1e-12)
  assert np.all(np.asarray(cert.predicted_rate)[only_w] < 1)


@pytest.mark.slow
def test_games_with_one_action_per_player_certify():
  """Issue 12: the 1x1x1 game said ``nonfinite`` (the empty tangent space gave -inf); the only
  profile is the HQRE, at distance 0."""
  game = rg.uniform(jax.random.PRNGKey(0), (1, 1, 1))
  for tiered in (True, False):
    cert = certify(game, 1.0, (np.ones(1),) * 3, tiered=tiered)
    assert bool(cert.certified), cert.reason
    assert float(cert.alpha_lower) == float(cert.alpha_upper) == 0.0
    assert float(cert.error_bound) < 1e-12


@pytest.mark.slow
def test_tiered_certify_gives_the_exact_verdicts_for_n_players():
  """Tiers (cheap norm bounds, Rayleigh quotients and Cholesky tests at every sampled profile
  first) against the full computation for every game: the same verdicts; bounds on the same
  side of the exact ones (equal where the exact tier ran)."""
  game = rg.uniform(jax.random.PRNGKey(5), (3, 3, 3), (64,))
  seen = set()
  for tau in (0.6, 1.2, 4.0):
    sol = dj.solve(game, tau, method="mirror")
    tiered, exact = certify(game, tau, sol), certify(game, tau, sol, tiered=False)
    np.testing.assert_array_equal(tiered.reason_code, exact.reason_code)
    seen |= set(np.asarray(exact.reason_code).tolist())
    up, up_exact = np.asarray(tiered.alpha_upper), np.asarray(exact.alpha_upper)
    lo, lo_exact = np.asarray(tiered.alpha_lower), np.asarray(exact.alpha_lower)
    assert np.all(up >= up_exact) and np.all(lo <= lo_exact + 1e-12)
  assert {REASON.REFUTED, REASON.MARGIN_NOT_POSITIVE} <= seen


def _helmert_free_basis(n):
  """An orthonormal basis of {d : sum d = 0} from NumPy's SVD (independent of the package)."""
  return np.linalg.svd(np.ones((1, n)))[2][1:].T


def _top_eigenvalue_numpy(payoffs, profile):
  """lambda_max of Q^T sym(J(x)) Q for one normal-form game, J from np.einsum on the payoffs
  and NumPy's eigvalsh: an independent check of a refutation witness."""
  n = len(profile)
  sizes = [len(x) for x in profile]
  letters = "abcdefgh"[:n]
  blocks = [[np.zeros((sizes[i], sizes[j])) for j in range(n)] for i in range(n)]
  for i in range(n):
    for j in range(n):
      if i != j:
        others = [k for k in range(n) if k not in (i, j)]
        subs = letters + "".join("," + letters[k] for k in others) + "->" + letters[i] + letters[j]
        blocks[i][j] = np.einsum(subs, payoffs[i], *[profile[k] for k in others])
  jac = np.block(blocks)
  q = np.zeros((sum(sizes), sum(sizes) - n))
  r = c = 0
  for k in sizes:
    q[r : r + k, c : c + k - 1] = _helmert_free_basis(k)
    r, c = r + k, c + k - 1
  return np.linalg.eigvalsh(q.T @ ((jac + jac.T) / 2) @ q)[-1]


@pytest.mark.slow  # 45 s, mostly compiling both tiers for 3 players: the slow tier
def test_tiered_verdicts_equal_exact_ones_at_boundary_temperatures():
  """Issue 13 item 4: per-game temperatures placed on the exact computation's own thresholds
  (its sampled lower bound, its vertex bound, the cheap tier's floor, each +- a relative
  1e-13 and 1e-6) and between them: the tiered verdicts equal the exact ones everywhere; the
  cheap tier settles margin_not_positive on its own for the games clearly inside (the
  exact bounds confirm: vertex bound >= tau, every sampled eigenvalue < tau by NumPy), and
  every refutation's evidence profile has a NumPy eigenvalue >= tau (up to rounding)."""
  from dice_jax.certify.monotonicity import alpha_vertex_floor, sample_profiles  # noqa: PLC0415

  shape = (2, 2, 3)
  game = rg.uniform(jax.random.PRNGKey(9), shape, (BATCH,))
  profile = tuple(np.full((BATCH, k), 1.0 / k) for k in shape)
  ref = certify(game, 1.0, profile, tiered=False)
  lo, up = np.asarray(ref.alpha_lower), np.asarray(ref.alpha_upper)
  floor = np.asarray(alpha_vertex_floor(game))
  assert np.all(lo < floor) and np.all(floor <= up)
  payoffs = [np.asarray(u) for u in game.payoffs]
  draws = [np.asarray(d) for d in sample_profiles(jax.random.PRNGKey(0), shape, 8, jnp.float64)]
  settled_seen = refuted_seen = 0
  for at in (lo, up, floor, (lo + floor) / 2):
    for offset in (-1e-6, -1e-13, 0.0, 1e-13, 1e-6):
      tau = (at * (1 + offset))[:, None]
      tiered, exact = certify(game, tau, profile), certify(game, tau, profile, tiered=False)
      np.testing.assert_array_equal(tiered.reason_code, exact.reason_code)
      code = np.asarray(tiered.reason_code)
      settled = (code == REASON.MARGIN_NOT_POSITIVE) & (
        np.asarray(tiered.alpha_upper) != np.asarray(exact.alpha_upper)
      )
      for b in np.flatnonzero(settled):
        assert np.asarray(exact.alpha_upper)[b] >= tau[b, 0]
        for k in range(9):
          x = [d[k] for d in draws] if k < 8 else [p[b] for p in profile]
          assert _top_eigenvalue_numpy([u[b] for u in payoffs], x) < tau[b, 0]
      for b in np.flatnonzero(code == REASON.REFUTED):
        x = [np.asarray(e)[b] for e in tiered.evidence]
        top = _top_eigenvalue_numpy([u[b] for u in payoffs], x)
        # (at tau = the exact lower bound itself the two eigensolvers may differ by rounding)
        assert top >= tau[b, 0] * (1 - 1e-12)
        assert top >= float(np.asarray(tiered.alpha_lower)[b]) - 1e-12
      settled_seen += int(settled.sum())
      refuted_seen += int(np.sum(code == REASON.REFUTED))
  assert settled_seen >= BATCH and refuted_seen >= BATCH
