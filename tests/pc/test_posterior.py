"""PayoffPosterior against closed forms: Beta counts, token means, forgetting, failed rows."""

import numpy as np
import pytest

from dice_jax.pc import CoordinationSpec, Outcome, payoffs
from dice_jax.rollouts.tasks import Task
from dice_jax.pc.posterior.beta_bernoulli import PayoffPosterior

SPEC = CoordinationSpec(
  roles=("a", "b"),
  controls=(("x", "y", "z"), ("u", "v")),
  states=("s0", "s1"),
  token_cost=(1e-3, 2e-3),
)


def _batch(rng, b, fail_rate=0.25):
  states = rng.integers(0, 2, b)
  actions = np.stack([rng.integers(0, 3, b), rng.integers(0, 2, b)], 1)
  correct = (rng.random(b) < 0.6).astype(float)
  tokens = rng.integers(10, 100, (b, 2)).astype(float)
  failed = rng.random(b) < fail_rate
  tasks = [Task("q", None, state=int(s)) for s in states]
  return tasks, states, actions, Outcome(correct=correct, tokens=tokens, failed=failed)


def test_counts_means_and_std_match_closed_form_and_skip_failed_rows():
  rng = np.random.default_rng(0)
  post = PayoffPosterior(
    SPEC, alpha0=2.0, beta0=3.0, token_prior=[50.0, 20.0], token_pseudocount=2.0
  )
  batches = [_batch(rng, 40) for _ in range(3)]
  for tasks, _, actions, out in batches:
    post.update(tasks, actions, out)
  # brute force: one Python loop over every scored rollout
  n = np.zeros((2, 3, 2))
  s = np.zeros((2, 3, 2))
  k = np.zeros((2, 3, 2, 2))
  for _, states, actions, out in batches:
    for b in range(len(states)):
      if out.failed[b]:
        continue
      idx = (states[b], actions[b, 0], actions[b, 1])
      n[idx] += 1
      s[idx] += out.correct[b]
      k[idx] += out.tokens[b]
  assert np.array_equal(post.counts(), n)
  assert post.counts().sum() == sum((~o.failed).sum() for *_, o in batches) < 120
  mean = (2 + s) / (5 + n)
  np.testing.assert_allclose(post.success_mean(), mean, rtol=0, atol=1e-15)
  np.testing.assert_allclose(
    post.success_std(), np.sqrt(mean * (1 - mean) / (5 + n + 1)), atol=1e-15
  )
  tok = (2 * np.array([50.0, 20.0]) + k) / (2 + n[..., None])
  np.testing.assert_allclose(post.tokens_mean(), tok, atol=1e-12)
  np.testing.assert_allclose(post.payoff_tensors(), payoffs(SPEC, mean, tok), atol=1e-12)
  game = post.game()
  assert game.batch_shape == (2,) and game.num_actions == (3, 2)
  np.testing.assert_allclose(np.asarray(game.payoffs[1]), payoffs(SPEC, mean, tok)[1], atol=1e-12)


def test_failed_rollouts_are_never_scored():
  post = PayoffPosterior(SPEC)
  tasks = [Task("q", None, state=1)] * 3
  actions = np.array([[2, 1]] * 3)
  post.update(
    tasks,
    actions,
    Outcome(correct=[1.0, 1.0, 0.0], tokens=[[9, 9]] * 3, failed=[True, True, False]),
  )
  assert post.counts()[1, 2, 1] == 1
  assert post.success_mean()[1, 2, 1] == pytest.approx(1 / 3)  # Beta(1, 1) + one failure
  assert post.counts().sum() == 1


def test_discount_forgets_geometrically():
  post = PayoffPosterior(SPEC, discount=0.5)
  tasks = [Task("q", None, state=0)]
  a = np.array([[0, 0]])
  post.update(tasks, a, Outcome(correct=[1.0], tokens=[[10, 10]], failed=[False]))
  post.update(tasks, a, Outcome(correct=[0.0], tokens=[[30, 30]], failed=[False]))
  # counts 0.5 * 1 + 1, successes 0.5 * 1 + 0
  assert post.counts()[0, 0, 0] == pytest.approx(1.5)
  assert post.success_mean()[0, 0, 0] == pytest.approx((1 + 0.5) / (2 + 1.5))
  assert post.tokens_mean()[0, 0, 0, 0] == pytest.approx((0.5 * 10 + 30) / (1 + 1.5))


def test_thompson_draws_average_to_the_posterior_mean():
  rng = np.random.default_rng(1)
  post = PayoffPosterior(SPEC)
  tasks, _, actions, out = _batch(rng, 200, fail_rate=0.0)
  post.update(tasks, actions, out)
  draws = np.stack([post.thompson(rng)[0] for _ in range(2000)])
  sem = post.success_std() / np.sqrt(2000)
  assert np.all(np.abs(draws.mean(0) - post.success_mean()) < 5 * sem)
  assert post.thompson_game(rng).batch_shape == (2,)


@pytest.mark.parametrize(
  "kwargs, name",
  [
    (dict(alpha0=0.0), "alpha0"),
    (dict(beta0=-1.0), "beta0"),
    (dict(discount=0.0), "discount"),
    (dict(discount=1.5), "discount"),
    (dict(token_prior=-1.0), "token_prior"),
    (dict(token_prior=[1.0, 2.0, 3.0]), "token_prior"),
    (dict(token_pseudocount=-1.0), "token_pseudocount"),
  ],
)
def test_bad_arguments_raise_naming_them(kwargs, name):
  with pytest.raises(ValueError, match=name):
    PayoffPosterior(SPEC, **kwargs)


def test_bad_updates_raise():
  post = PayoffPosterior(SPEC)
  ok = Outcome(correct=[1.0], tokens=[[1, 1]], failed=[False])
  with pytest.raises(ValueError, match="actions"):
    post.update([Task("q", None, state=0)], np.array([[3, 0]]), ok)
  with pytest.raises(ValueError, match="tasks"):
    post.update([Task("q", None, state=2)], np.array([[0, 0]]), ok)
  assert post.counts().sum() == 0
