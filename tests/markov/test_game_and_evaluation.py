"""MarkovGame validation and exact evaluation against dense NumPy references."""

import jax
import numpy as np
import pytest

from dice_jax.markov import MarkovGame, evaluate
from dice_jax.markov import evaluation as ev

from tests.markov.reference import dense_q, dense_values, random_game_arrays

SHAPES = [(3, (2, 3)), (2, (2, 2, 2))]


def _random_policies(rng, num_states, num_actions):
  return [rng.dirichlet(np.ones(k), size=num_states) for k in num_actions]


def _evaluate_all(conventions):
  """One jitted function evaluating every convention (one compilation per game shape)."""
  return jax.jit(lambda g, l: tuple(ev.evaluate_profile(g, l, c) for c in conventions))


@pytest.mark.parametrize("num_states,num_actions", SHAPES)
def test_values_and_q_match_dense_numpy(num_states, num_actions):
  conventions = ("own", "logit", "zero_sum") if len(num_actions) == 2 else ("own", "logit")
  p, r, gamma, tau = random_game_arrays(1, num_states, num_actions)
  if len(num_actions) == 2:
    r = [r[0], -r[0]]  # zero-sum rewards, so that every convention applies
  rng = np.random.default_rng(2)
  ref = [rng.dirichlet(np.ones(k), size=num_states) for k in num_actions]
  game = MarkovGame.from_arrays(p, r, gamma, temperature=tau, reference=ref)
  pol = _random_policies(rng, num_states, num_actions)
  results = _evaluate_all(conventions)(game, tuple(np.log(x) for x in pol))
  for convention, e in zip(conventions, results):
    v = dense_values(p, r, gamma, tau, pol, [np.log(x) for x in ref], convention)
    q = dense_q(p, r, gamma, pol, v)
    np.testing.assert_allclose(e.values, v, atol=1e-12, rtol=0)
    for qi, qr in zip(e.q, q):
      np.testing.assert_allclose(qi, qr, atol=1e-12, rtol=0)
    # The Bellman equation by truncated value iteration (another algorithm, same fixed point).
    vi = np.zeros_like(v)
    for _ in range(400):
      vi = np.stack(
        [
          np.einsum(
            "sa,sa->s",
            _joint(pol).reshape(num_states, -1),
            (r[i] + gamma * p @ vi[i]).reshape(num_states, -1),
          )
          for i in range(len(r))
        ]
      ) - _reg(tau, pol, ref, convention)
    np.testing.assert_allclose(vi, v, atol=1e-10)


def _joint(pol):
  out = pol[0]
  for x in pol[1:]:
    out = out[..., None] * x.reshape(x.shape[0], *(1,) * (out.ndim - 1), x.shape[1])
  return out


def _reg(tau, pol, ref, convention):
  kl = np.stack([np.sum(x * np.log(x / rho), -1) for x, rho in zip(pol, ref)])
  if convention == "logit":
    return 0 * kl
  if convention == "own":
    return tau * kl
  c = tau[0] * kl[0] - tau[1] * kl[1]
  return np.stack([c, -c])


def test_single_self_loop_state_closed_form():
  # One state, every action loops back: V = (r - tau KL) / (1 - gamma).
  rng = np.random.default_rng(3)
  r = [rng.normal(size=(1, 2, 3)) for _ in range(2)]
  tau = np.array([0.7, 1.3])
  game = MarkovGame.from_arrays(np.ones((1, 2, 3, 1)), r, 0.75, temperature=tau)
  x, y = rng.dirichlet(np.ones(2)), rng.dirichlet(np.ones(3))
  e = evaluate(game, (np.log(x)[None], np.log(y)[None]))
  for i, (pol, n) in enumerate([(x, 2), (y, 3)]):
    kl = np.sum(pol * np.log(pol * n))
    expected = (x @ r[i][0] @ y - tau[i] * kl) / (1 - 0.75)
    np.testing.assert_allclose(e.values[i, 0], expected, atol=1e-12)


def test_zero_sum_values_are_antisymmetric_and_differ_from_own():
  p, r, gamma, tau = random_game_arrays(4, 3, (2, 3), zero_sum=True)
  game = MarkovGame.from_arrays(p, r, gamma, temperature=tau)
  rng = np.random.default_rng(5)
  lg = tuple(np.log(x) for x in _random_policies(rng, 3, (2, 3)))
  zs = evaluate(game, lg, "zero_sum").values
  own = evaluate(game, lg, "own").values
  logit = evaluate(game, lg, "logit").values
  np.testing.assert_allclose(zs[1], -zs[0], atol=1e-14)
  assert np.max(np.abs(zs - own)) > 1e-3 and np.max(np.abs(own - logit)) > 1e-3


def test_batched_evaluation_equals_loop():
  games = [random_game_arrays(s, 3, (2, 3)) for s in range(3)]
  batch = MarkovGame.from_arrays(
    np.stack([g[0] for g in games]),
    [np.stack([g[1][i] for g in games]) for i in range(2)],
    [g[2] for g in games],
    temperature=np.stack([g[3] for g in games]),
  )
  rng = np.random.default_rng(6)
  pols = [_random_policies(rng, 3, (2, 3)) for _ in games]
  lg = tuple(np.log(np.stack([p[i] for p in pols])) for i in range(2))
  e = jax.jit(evaluate, static_argnums=2)(batch, lg, "own")
  for b, (p, r, gamma, tau) in enumerate(games):
    np.testing.assert_allclose(e.values[b], dense_values(p, r, gamma, tau, pols[b]), atol=1e-12)
  assert batch[1].batch_shape == () and batch.batch_shape == (3,)


def _good():
  p, r, gamma, tau = random_game_arrays(0, 2, (2, 2))
  return dict(transitions=p, rewards=r, gamma=gamma, temperature=tau)


@pytest.mark.parametrize(
  "change,name",
  [
    (lambda a: a.update(transitions=a["transitions"] * 1.1), "transitions"),
    (
      lambda a: a.update(
        transitions=np.where(np.arange(2) == 0, -0.5, 1.5) * np.ones((2, 2, 2, 2))
      ),
      "transitions",
    ),
    (lambda a: a.update(gamma=1.0), "gamma"),
    (lambda a: a.update(gamma=-0.1), "gamma"),
    (lambda a: a.update(temperature=-a["temperature"]), "temperature"),
    (lambda a: a.update(temperature=np.zeros(2)), "temperature"),
    (lambda a: a.update(rewards=[[[1.0, 2.0], [3.0]], a["rewards"][1]]), "rewards"),
    (lambda a: a.update(rewards=[a["rewards"][0], a["rewards"][1][:, :1]]), "rewards"),
    (lambda a: a.update(transitions=a["transitions"][..., :1]), "transitions"),
    (lambda a: a.update(rewards=[a["rewards"][0] * np.nan, a["rewards"][1]]), "rewards"),
    (lambda a: a.update(temperature=np.ones((3, 2))), "temperature"),
    (lambda a: a.update(initial=[0.5, 0.6]), "initial"),
    (lambda a: a.update(reference=[np.array([0.2, 0.9]), np.array([0.5, 0.5])]), "reference"),
  ],
)
def test_bad_input_raises_value_error_naming_argument(change, name):
  args = _good()
  change(args)
  with pytest.raises(ValueError, match=name):
    MarkovGame.from_arrays(**args)


def test_temperature_layouts_broadcast():
  args = _good()
  args["temperature"] = [0.5, 2.0]  # one per agent
  g = MarkovGame.from_arrays(**args)
  np.testing.assert_array_equal(g.temperature, [[0.5, 0.5], [2.0, 2.0]])
  args["temperature"] = 0.3
  assert np.all(MarkovGame.from_arrays(**args).temperature == 0.3)


def test_kl_matches_numpy():
  rng = np.random.default_rng(7)
  pol = [rng.dirichlet(np.ones(3), size=2)]
  ref = [rng.dirichlet(np.ones(3), size=2)]
  kl = ev.kl_per_state(tuple(np.log(pol)), tuple(np.log(ref)))
  np.testing.assert_allclose(kl[0], np.sum(pol[0] * np.log(pol[0] / ref[0]), -1), atol=1e-14)
