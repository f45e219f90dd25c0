"""DICE-PC's moving reference (magnet): rho_t = (1 - beta_t) rho_0 + beta_t m_t, with the
target m_t the last rounds' HQRE or the posterior game's welfare-maximising convention, and
beta_t linear or rising to 1 as the posterior concentrates. Every round stays the certified
HQRE of its own (game, tau, rho_t)."""

import numpy as np
import pytest

from dice_jax.pc.environments.spec import CoordinationSpec
from dice_jax.pc.environments.synthetic import SyntheticEnvironment, oscillation_suite
from dice_jax.pc.harness.loop import run
from dice_jax.pc.metrics.measures import joint_distribution
from dice_jax.pc.policies import policies as P

KW = dict(batch_size=16, seed=0, monotonicity=False)


def tiny_coordination_game(seed=0):
  """One state, two roles, two conventions: (0, 0) succeeds 0.9 (payoff-dominant), (1, 1) 0.6,
  miscoordination 0.1; no token cost. alpha = sigma_max(P 2A P) / 2 = (0.9 + 0.6 - 0.2) / 2
  = 0.65, so tau = 0.8 is certified; at tau = 0.8 with the uniform reference the unique HQRE
  is mixed (x_0 = sigmoid((1.3 x_0 - 0.5) / 0.8), x_0 ~ 0.58)."""
  spec = CoordinationSpec(roles=("a", "b"), controls=(("c0", "c1"),) * 2, token_cost=(0.0, 0.0))
  success = np.array([[[0.9, 0.1], [0.1, 0.6]]])
  tokens = np.zeros((1, 2, 2, 2))
  return SyntheticEnvironment(
    spec,
    lambda t: success,
    lambda t: tokens,
    single_success=[0.5],
    single_tokens=[1.0],
    static=True,
    seed=seed,
  )


def test_moving_reference_reaches_the_payoff_dominant_convention_while_fixed_stays_mixed():
  env = tiny_coordination_game()
  fixed = run(env, P.DICEPC(0.8, final_temperature=0.8), rounds=40, **KW)
  x_fixed = np.array(fixed.records[-1]["policy"])[0]  # [roles, actions]
  assert np.all((x_fixed[:, 0] > 0.5) & (x_fixed[:, 0] < 0.7))  # the mixed HQRE, ~0.58
  for target in ("hqre", "welfare"):
    mag = run(
      env,
      P.DICEPC(
        0.8,
        final_temperature=0.8,
        magnet=0.9,
        magnet_target=target,
        magnet_schedule="concentration",
      ),
      rounds=40,
      **KW,
    )
    for res in (mag, fixed):
      assert res.summary["certified_fraction"] == 1.0
      assert all(all(r["certificate"]["certified"]) for r in res.records)
    x_mag = np.array(mag.records[-1]["policy"])[0]
    assert np.all(x_mag[:, 0] > 0.99), target  # both roles on the payoff-dominant convention
    assert mag.summary["accuracy_last_quarter"] > fixed.summary["accuracy_last_quarter"] + 0.15


def test_concentration_schedule_and_welfare_target_follow_their_formulas():
  """beta_t(s) = 1 - (1 - magnet) min(1, c_t(s)), c_t the last profile's posterior std of the
  success probabilities relative to the prior's; m_t = e_{a*}, a* the posterior-mean game's
  welfare argmax. Recomputed here from the public posterior and the last decision."""
  env = oscillation_suite()
  spec = env.spec
  pol = P.DICEPC(
    0.7, final_temperature=0.7, magnet=0.8, magnet_target="welfare", magnet_schedule="concentration"
  )
  rng = np.random.default_rng(3)
  pol.reset(spec, rng)
  prior_std = np.sqrt(0.5 * 0.5 / 3)  # Beta(1, 1)
  betas, last = [], None
  for t in range(12):
    tasks = env.tasks(rng, 32, round=t)
    states = np.array([task.state for task in tasks])
    if t >= 1:
      std = pol.posterior.success_std()
      c = np.sum(joint_distribution(last.profile) * std, axis=(1, 2)) / prior_std
      beta = 1 - 0.2 * np.minimum(c, 1)
      welfare = np.sum(pol.posterior.payoff_tensors(), 0)  # [S, 3, 3]
      flat = welfare.reshape(spec.num_states, -1)
      assert np.all(np.sort(flat, -1)[:, -1] > np.sort(flat, -1)[:, -2])  # no ties here
      best = np.unravel_index(np.argmax(flat, -1), (3, 3))
      np.testing.assert_allclose(pol.magnet_weight(t), beta, atol=1e-12)
    d = pol.act(t, states, rng)
    ref = np.array(d.info.reference)  # [S, N, 3]
    if t == 0:
      np.testing.assert_allclose(ref, 1 / 3)  # no HQRE yet: rho_0
    else:
      for i in range(2):
        want = (1 - beta)[:, None] / 3 + beta[:, None] * np.eye(3)[best[i]]
        np.testing.assert_allclose(ref[:, i], want, atol=1e-12)
      betas.append(beta)
    assert d.info.certificate.certified == [True, True]
    pol.observe(t, states, d, env.play(tasks, d.actions, round=t))
    last = d
  betas = np.array(betas)
  assert np.all(betas < 1) and betas[-1].min() > betas[0].max()  # rises toward 1


@pytest.mark.parametrize(
  "kwargs, name",
  [
    (dict(magnet_target="best"), "magnet_target"),
    (dict(magnet_schedule="exponential"), "magnet_schedule"),
  ],
)
def test_bad_magnet_options_raise_naming_them(kwargs, name):
  with pytest.raises(ValueError, match=name):
    P.DICEPC(0.7, magnet=0.5, **kwargs)


def test_no_magnet_means_the_fixed_reference_under_either_schedule():
  spec = oscillation_suite().spec
  for schedule in ("linear", "concentration"):
    pol = P.DICEPC(0.7, magnet=0.0, magnet_schedule=schedule, magnet_target="welfare")
    pol.reset(spec, np.random.default_rng(0))
    np.testing.assert_array_equal(pol.magnet_weight(5), np.zeros(spec.num_states))
    assert pol.round_reference(5) is pol.reference
