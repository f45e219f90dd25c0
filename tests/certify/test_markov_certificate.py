"""The Markov certificate (dice_jax.certify.markov): every inequality of its proof checked on
generated games -- the set D holds the HQRE, the value-oscillation bound, the Lipschitz bound
of the response map at sampled pairs in D, the error bound at solved and perturbed policies --
and the predicted rate against the solver it names (issue 16, items 3 and 5).

Each hypothesis example is a batch of 16 games (one compilation per convention);
``HYPOTHESIS_PROFILE=thorough`` checks 500 x 16 = 8,000 games per convention."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dice_jax.certify import certify, certify_markov, observed_rate
from dice_jax.markov import MarkovGame, solve_markov
from dice_jax.solvers import Mirror
from dice_jax.markov import evaluation as ev
from dice_jax.markov.observation import ObservationGame

from tests.markov.reference import dense_q, dense_values, softmax

S, ACTIONS, BATCH = 3, (2, 3), 16
SOFT_PI = Mirror(step_size=jnp.inf, adaptive=False)  # pi <- T pi, the certificate's solver


def _fewer(n):
  """``n`` examples under the CI profile; the profile's own count (500) under ``thorough``."""
  default = settings.default.max_examples
  return settings(max_examples=default if default >= 300 else n)


def _games(seed, convention, batch=BATCH, num_states=S, actions=ACTIONS):
  """A batch of random games spanning certified and uncertified temperatures: peaked
  transitions (a quarter independent of the actions), rewards N(0, scale^2) (a quarter
  additively separable), random references, per-agent-and-state temperatures."""
  rng = np.random.default_rng(seed)
  n = len(actions)
  p = rng.random((batch, num_states, *actions, num_states)) ** 3
  still = rng.random(batch) < 0.25
  p[still] = (
    p[still][:, :, :1, :1].repeat(actions[0], 2).repeat(actions[1], 3) if n == 2 else p[still]
  )
  p /= p.sum(-1, keepdims=True)
  scale = rng.uniform(0.1, 3.0, (batch,) + (1,) * (n + 1))
  r = [rng.normal(size=(batch, num_states, *actions)) * scale for _ in range(n)]
  sep = rng.random(batch) < 0.25
  if n == 2:
    for i in range(n):
      r[i][sep] = r[i][sep][:, :, :, :1] + r[i][sep][:, :, :1, :]
  if convention == "zero_sum":
    r = [r[0], -r[0]]
  gamma = rng.uniform(0.0, 0.9, batch)
  osc = np.max(
    [x.max(axis=tuple(range(1, n + 2))) - x.min(axis=tuple(range(1, n + 2))) for x in r], axis=0
  )
  base = osc / (1 - gamma) ** 2 * np.exp(rng.uniform(np.log(0.05), np.log(30.0), batch))
  tau = base[:, None, None] * rng.uniform(1.0, 2.0, (batch, n, num_states))
  refs = []
  for k in actions:
    rho = rng.uniform(0.05, 1.0, (batch, num_states, k))
    refs.append(rho / rho.sum(-1, keepdims=True))
  return MarkovGame.from_arrays(p, r, gamma, temperature=tau, reference=refs)


@jax.jit
def _response(game, probs, convention_code):
  """``T pi`` under each convention (selected by an integer so one compilation serves all)."""

  def one(g, pr):
    logits = tuple(jnp.log(x) for x in pr)
    outs = [
      tuple(jax.nn.softmax(z, -1) for z in ev.response_logits(g, ev.q_values(g, logits, c)))
      for c in ev.CONVENTIONS
    ]
    return tuple(jnp.stack([o[i] for o in outs])[convention_code] for i in range(len(pr)))

  return jax.vmap(one)(game, probs)


@jax.jit
def _values(game, probs, convention_code):
  def one(g, pr):
    logits = tuple(jnp.log(x) for x in pr)
    return jnp.stack([ev.values(g, logits, c) for c in ev.CONVENTIONS])[convention_code]

  return jax.vmap(one)(game, probs)


@functools.lru_cache(maxsize=None)
def _solved(seed, convention="own"):
  """A batch of games and their soft-policy-iteration solve (one compilation per convention)."""
  game = _games(seed, convention)
  return game, solve_markov(
    game, method=SOFT_PI, convention=convention, tol=1e-13, max_steps=600, history=True
  )


def _delta(a, b):
  return np.max(sum(np.sum(np.abs(np.asarray(x) - np.asarray(y)), -1) for x, y in zip(a, b)), -1)


def _in_set(rng, game, lam):
  """Random policies with ``osc log(pi / rho) <= lam`` (the set D of the proof)."""
  out = []
  for i, lr in enumerate(game.log_reference):
    u = rng.random(lr.shape) * np.asarray(lam)[:, i, :, None]
    lp = np.asarray(lr) + u
    out.append(np.exp(lp - np.log(np.sum(np.exp(lp), -1, keepdims=True))))
  return tuple(out)


CONVENTIONS = ("own", "logit", "zero_sum")


@_fewer(5)
@given(st.integers(0, 2**31 - 1))
@pytest.mark.parametrize(
  "convention", [c if c == "own" else pytest.param(c, marks=pytest.mark.slow) for c in CONVENTIONS]
)
def test_every_inequality_of_the_proof_holds_on_generated_games(convention, seed):
  game, star = _solved(seed, convention)
  code = ev.CONVENTIONS.index(convention)  # the order _values and _response stack them in
  rng = np.random.default_rng(seed)
  cs = certify_markov(game, star)
  q = np.asarray(cs.contraction)
  lam = np.asarray(cs.log_ratio_oscillation)
  ok = np.asarray(cs.certified)
  assert np.all(np.isfinite(q)) and np.all(q >= 0)
  # (1) the converged solve of a certified game is in D (osc log(pi*/rho) <= Lam)
  own = np.stack(
    [np.ptp(np.asarray(l - lr), -1) for l, lr in zip(star.logits, game.log_reference)], 1
  )
  done = ok & np.asarray(star.converged)
  assert np.all((own <= lam * (1 + 1e-9) + 1e-9)[done])
  # (2) the value-oscillation bound and (3) the Lipschitz bound of T, at pairs sampled in D
  for _ in range(2):
    a, b = _in_set(rng, game, lam), _in_set(rng, game, lam)
    va = np.asarray(_values(game, a, code))
    assert np.all(np.ptp(va, -1) <= np.asarray(cs.value_oscillation) * (1 + 1e-9) + 1e-12)
    ta, tb = _response(game, a, code), _response(game, b, code)
    assert np.all(_delta(ta, tb) <= q * _delta(a, b) * (1 + 1e-9) + 1e-13)
  # (4) the error bound at the solution and at perturbed policies (triangle inequality with the
  # reference's own certified bound: rigorous, no tolerance)
  for t in (1.0, 0.3, 1e-2, 1e-5):
    noise = _in_set(rng, game, lam * 3)
    pol = tuple((1 - t) * np.asarray(x) + t * y for x, y in zip(star.probabilities, noise))
    c = certify_markov(game, pol, convention=convention)
    d = _delta(pol, star.probabilities)
    sure = np.asarray(c.certified) & ok
    assert np.all((d <= np.asarray(c.error_bound) + np.asarray(cs.error_bound))[sure])
    assert np.all(np.isinf(np.asarray(c.error_bound))[~np.asarray(c.certified)])


def test_both_verdicts_occur_and_bound_is_tight_at_the_solution():
  certified = 0
  for seed in range(4):
    game, star = _solved(seed)
    c = certify_markov(game, star)
    ok = np.asarray(c.certified)
    certified += ok.sum()
    assert np.all(np.asarray(c.error_bound)[ok] < 1e-10)
    assert set(c.reason_names()[~ok]) <= {"contraction_not_below_one"}
    for k in np.flatnonzero(~ok)[:1]:
      assert "q = " in c[int(k)].reason
  assert 10 <= certified <= 54


def test_response_map_matches_dense_numpy():
  """The T used by the tests above equals a dense loop-based NumPy evaluation."""
  game = _games(3, "own", batch=BATCH)
  rng = np.random.default_rng(3)
  pol = _in_set(rng, game, np.full((BATCH, 2, S), 2.0))
  t = _response(game, pol, 0)
  k = 5
  g = game[k]
  tau = np.asarray(g.temperature)
  pk = [np.asarray(x[k]) for x in pol]
  lr = [np.asarray(l) for l in g.log_reference]
  v = dense_values(
    np.asarray(g.transitions), [np.asarray(r) for r in g.rewards], float(g.gamma), tau, pk, lr
  )
  q = dense_q(np.asarray(g.transitions), [np.asarray(r) for r in g.rewards], float(g.gamma), pk, v)
  for i in range(2):
    np.testing.assert_allclose(t[i][k], softmax(lr[i] + q[i] / tau[i][:, None]), atol=1e-12)


def test_predicted_rate_at_the_named_solver():
  """Certified => predicted rate q < 1 for soft policy iteration (step inf) from the reference;
  the solver run there decays at most that fast: residual_t <= N q^t residual_0 at every step
  (the residual is max_i, delta is sum_i), and the fitted rate is at or below q."""
  fitted = 0
  for seed in range(4):
    game, sol = _solved(seed)
    c = certify_markov(game, sol)
    c0 = certify_markov(game, tuple(np.exp(np.asarray(l)) for l in game.log_reference))
    np.testing.assert_array_equal(np.asarray(c0.contraction), np.asarray(c.contraction))
    ok = np.asarray(c.certified)
    q = np.asarray(c.predicted_rate)
    assert np.all(q[ok] < 1) and np.all(np.isinf(np.asarray(c.step_size)))
    hist = np.asarray(sol.history)
    t = np.arange(hist.shape[1])
    env = 2 * q[:, None] ** t * hist[:, :1]
    assert np.all(np.where(np.isfinite(hist) & ok[:, None], hist <= env * (1 + 1e-9) + 1e-13, True))
    obs = np.asarray(observed_rate(np.where(hist > 1e-12, hist, np.nan)))
    fit = ok & np.isfinite(obs)
    fitted += fit.sum()
    assert np.all(obs[fit] <= q[fit])
    assert np.all(np.asarray(sol.steps)[ok] <= np.asarray(c.step_bound)[ok] + 1)
  assert fitted >= 5


def test_decoupled_game_contracts_at_zero():
  """Separable rewards and transitions that no action moves: T pi does not depend on pi."""
  game = _games(2, "own")
  p = np.broadcast_to(np.asarray(game.transitions)[:, :, :1, :1], game.transitions.shape)
  r = [np.asarray(x)[:, :, :, :1] + np.asarray(x)[:, :, :1, :] for x in game.rewards]
  g = game.replace(transitions=jnp.asarray(p), rewards=tuple(jnp.asarray(x) for x in r))
  c = certify_markov(g, tuple(np.exp(np.asarray(l)) for l in g.log_reference))
  assert np.all(np.asarray(c.certified)) and np.all(np.asarray(c.contraction) < 1e-12)


def test_dispatch_and_observation_games():
  games, sols = _solved(0)
  c = certify_markov(games, sols)
  k = int(np.flatnonzero(np.asarray(c.certified))[0])
  g = games[k]
  sol = tuple(np.asarray(x[k]) for x in sols.probabilities)
  a, b = certify(g, sol), certify_markov(g, sol)
  assert bool(a.certified)
  for f in ("contraction", "error_bound", "residual"):
    assert float(getattr(a, f)) == float(getattr(b, f))
  # full observability (states relabelled): the Markov certificate of the same game. The
  # observation HQRE is then the Markov one (tests/markov/test_observation.py).
  perm = [np.array([2, 0, 1]), np.arange(S)]
  relabel = lambda per_state: [np.asarray(x)[np.argsort(o)] for x, o in zip(per_state, perm)]
  og = ObservationGame.create(g, perm, reference=relabel([np.exp(l) for l in g.log_reference]))
  obs_pol = relabel(sol)
  co = certify(og, obs_pol)
  assert bool(co.certified)
  assert float(co.error_bound) == float(b.error_bound)
  # aliasing, or a state of zero initial probability: honestly not certified
  al = ObservationGame.create(g, [np.array([0, 0, 1]), np.arange(S)])
  ca = certify(al, [np.full((2, 2), 0.5), np.full((S, 3), 1 / 3)])
  assert not bool(ca.certified) and ca.reason_names() == "not_supported"
  assert "same observation in states 0 and 1" in ca.reason
  zero = ObservationGame.create(g.replace(initial=jnp.asarray([1.0, 0.0, 0.0])), perm)
  assert "initial probability 0" in certify(zero, obs_pol).reason
  to = a.to_dict()
  assert to["certified"] and to["step_size"] == "inf"


@pytest.mark.parametrize(
  "call,name",
  [
    (lambda g, s: certify_markov(object(), s), "game"),
    (lambda g, s: certify_markov(g, s.probabilities[:1]), "policy"),
    (
      lambda g, s: certify_markov(g, (np.full((BATCH, S, 3), 1 / 3), s.probabilities[1])),
      r"policy\[0\]",
    ),
    (lambda g, s: certify_markov(g, s, convention="nash"), "convention"),
    (lambda g, s: certify_markov(g, s, convention="zero_sum"), "zero_sum"),
    (lambda g, s: certify_markov(g, s, tol=0.0), "tol"),
    (lambda g, s: certify(g, 1.0, s), "temperature"),
    (lambda g, s: certify(g, s, step_size=0.1), "step_size"),
    (lambda g, s: certify(g, s, reference=s.probabilities), "reference"),
  ],
)
def test_bad_input_names_the_argument(call, name):
  g, s = _solved(0)
  with pytest.raises(ValueError, match=name):
    call(g, s)
