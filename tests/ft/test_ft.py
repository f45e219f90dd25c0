"""DICE-FT: the mirror target, the jitted LoRA training step, and the loop finding the HQRE."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import dice_jax as dj
from dice_jax.ft import (
  DiceFT,
  FTAgent,
  candidate_log_policy,
  ft_step,
  ft_steps,
  make_candidate_batch,
  make_ft_optimizer,
  mirror_target,
)
from dice_jax.ft.target.advantages import normal_form_advantages
from dice_jax.llm import BASE, apply_lora, build_model
from tests.llm.tiny import TINY_LLAMA

CFG = TINY_LLAMA
TARGETS = ("q_proj", "v_proj", "o_proj", "down_proj")
TX = {lr: optax.adam(lr) for lr in (0.03, 0.05)}  # one object per rate: no recompilation


def tiny_agent(seed, prompts, candidates, lr=0.05):
  model = build_model(CFG, rngs=nnx.Rngs(seed))
  batch = make_candidate_batch(prompts, candidates)
  base = nnx.jit(candidate_log_policy)(model, batch)
  apply_lora(model, rank=4, alpha=8.0, targets=TARGETS, rngs=nnx.Rngs(seed + 100))
  opt = make_ft_optimizer(model, TX[lr])
  return model, opt, batch, base


def tv(p, q):
  return float(0.5 * jnp.max(jnp.sum(jnp.abs(p - q), -1)))


def test_mirror_target_is_the_closed_form_and_the_solver_update():
  rng = np.random.default_rng(0)
  lp, lr_, a = (rng.normal(size=(2, 4)) for _ in range(3))
  tau, eta = np.array([0.5, 2.0]), np.array([1.0, 0.3])
  got = mirror_target(lp, lr_, a, tau, eta)
  lp_n = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
  lr_n = lr_ - np.log(np.exp(lr_).sum(-1, keepdims=True))
  raw = (lp_n + eta[:, None] * a + (eta * tau)[:, None] * lr_n) / (1 + eta * tau)[:, None]
  want = raw - np.log(np.exp(raw).sum(-1, keepdims=True))
  np.testing.assert_allclose(got, want, atol=1e-12)
  # masked candidates get probability 0 and the rest renormalise
  mask = np.array([[True, True, False, True], [True, True, True, True]])
  got_m = mirror_target(lp, lr_, a, tau, eta, mask=mask)
  assert np.exp(got_m[0, 2]) == 0 and np.isclose(np.exp(got_m[0]).sum(), 1.0)


@pytest.mark.slow
def test_training_fits_the_target_and_leaves_the_base_bit_identical():
  prompts = [[1, 2, 3], [4, 5]]
  cands = [[[7], [8, 9], [10]], [[11], [12], [13, 14]]]
  model, opt, batch, base = tiny_agent(0, prompts, cands)
  log_pi0 = candidate_log_policy(model, batch)
  np.testing.assert_allclose(log_pi0, base, atol=1e-6)  # zero-initialised adapters: pi_theta = pi_k
  base_before = jax.tree_util.tree_map(np.asarray, nnx.to_pure_dict(nnx.state(model, BASE)))
  adv = np.array([[1.0, -0.5, 0.2], [-1.0, 0.0, 1.5]], np.float32)
  tau = np.array([0.5, 1.0], np.float32)
  target = mirror_target(log_pi0, base, adv, tau, np.float32(2.0) * np.ones(2, np.float32))
  metrics = ft_steps(model, opt, batch, target, base, tau, num_steps=300)
  after = jnp.exp(candidate_log_policy(model, batch))
  assert tv(after, jnp.exp(target)) <= 1e-3, (after, jnp.exp(target))
  assert float(metrics["loss"]) < 1e-5 and int(metrics["skipped"]) == 0
  np.testing.assert_allclose(float(metrics["temperature"]), 0.75)
  base_after = nnx.to_pure_dict(nnx.state(model, BASE))
  jax.tree_util.tree_map(
    lambda a, b: np.testing.assert_array_equal(np.asarray(b), a), base_before, base_after
  )


@pytest.mark.slow
def test_nan_loss_skips_the_update_and_reports_it():
  model, opt, batch, base = tiny_agent(1, [[1, 2]], [[[3], [4], [5]]])
  lora_before = jax.tree_util.tree_map(
    np.asarray, nnx.to_pure_dict(nnx.state(model, nnx.LoRAParam))
  )
  bad_target = jnp.array([[jnp.nan, -1.0, -1.0]])
  m = ft_step(model, opt, batch, bad_target, base, jnp.array([1.0]))
  assert bool(m["skipped"])
  lora_after = nnx.to_pure_dict(nnx.state(model, nnx.LoRAParam))
  jax.tree_util.tree_map(
    lambda a, b: np.testing.assert_array_equal(np.asarray(b), a), lora_before, lora_after
  )


@pytest.mark.parametrize(
  "kwargs,match",
  [
    (dict(advantages=np.array([[0.0, np.nan, 1.0]])), r"advantages must be finite"),
    (dict(temperature=np.array([0.0])), r"temperature must be > 0"),
    (dict(step_size=np.array([-1.0])), r"step_size must be > 0"),
    (dict(advantages=np.zeros((1, 2))), r"advantages has shape \(1, 2\)"),
  ],
)
def test_mirror_target_bad_input(kwargs, match):
  args = dict(
    log_policy=np.zeros((1, 3)),
    log_reference=np.zeros((1, 3)),
    advantages=np.zeros((1, 3)),
    temperature=np.array([1.0]),
    step_size=np.array([1.0]),
  )
  args.update(kwargs)
  with pytest.raises(ValueError, match=match):
    mirror_target(**args)


def test_candidate_sets_of_different_sizes_need_a_mask():
  with pytest.raises(
    ValueError, match=r"candidates: prompts have candidate sets of different sizes"
  ):
    make_candidate_batch([[1], [2]], [[[3], [4]], [[5]]])
  b = make_candidate_batch(
    [[1], [2]], [[[3], [4]], [[5]]], candidate_mask=np.array([[True, True], [True, False]])
  )
  assert b.shape == (2, 2) and not bool(b.candidate_mask[1, 1])


def game_agents(game, seed):
  """Two tiny LMs; agent i's candidates are player i's actions (single tokens)."""
  agents = []
  for i, n in enumerate(game.num_actions):
    model, opt, batch, _ = tiny_agent(
      seed + i, [[1 + i, 2]], [[[10 + k] for k in range(n)]], lr=0.03
    )
    agents.append(FTAgent(model, opt, batch, states=["s0"]))
  return agents


def oscillation(traj):
  return float(np.mean([np.abs(traj[t + 1] - traj[t]).sum() for t in range(len(traj) - 1)]))


@pytest.mark.slow
def test_dice_ft_finds_the_hqre_of_a_monotone_game():
  game = dj.games.random.zero_sum(jax.random.PRNGKey(3), (3, 3))
  tau = 0.5
  agents = game_agents(game, seed=10)
  ft = DiceFT(agents, temperature={"s0": tau}, step_size=1.0, inner_steps=60)
  records = ft.run(normal_form_advantages(game), iterations=14)
  ref = tuple(jnp.exp(a.log_reference[0]) for a in agents)
  hqre = dj.solve(game, tau, reference=ref, tol=1e-12).probabilities
  final = [p[0] for p in ft.policies()]
  assert max(tv(f, h) for f, h in zip(final, hqre)) <= 1e-2
  traj = [np.concatenate([np.asarray(a["policy"][0]) for a in r["agents"]]) for r in records]
  assert oscillation(traj[-6:]) < oscillation(traj[:6])


@pytest.mark.slow  # 20 s: the slow tier
def test_best_response_like_steps_cycle_on_shapley_while_defaults_converge():
  game = dj.games.shapley_game()
  # small temperature and a huge step: each iteration jumps to (almost) the logit best response
  cyc = DiceFT(game_agents(game, seed=20), temperature={"s0": 0.05}, step_size=1e4, inner_steps=60)
  recs = cyc.run(normal_form_advantages(game), iterations=10)
  traj = [np.concatenate([np.asarray(a["policy"][0]) for a in r["agents"]]) for r in recs]
  assert oscillation(traj[-4:]) > 0.3  # still jumping between pure-ish profiles
  # a certified temperature (Shapley: alpha = 1/2, so tau = 1 gives margin 1/2) and default step
  agents = game_agents(game, seed=30)
  ok = DiceFT(agents, temperature={"s0": 1.0}, inner_steps=60)
  recs = ok.run(normal_form_advantages(game), iterations=12)
  ref = tuple(jnp.exp(a.log_reference[0]) for a in agents)
  hqre = dj.solve(game, 1.0, reference=ref, tol=1e-12).probabilities
  assert max(tv(p[0], h) for p, h in zip(ok.policies(), hqre)) <= 1e-2


def test_settings_errors_name_the_state_and_the_agent_count():
  """Issue 12: a temperature mapping without an agent's state was a bare KeyError; an
  advantage_fn returning advantages for fewer agents than DiceFT has silently trained only the
  first ones (a zip truncated)."""
  game = dj.games.matching_pennies()
  agents = game_agents(game, seed=40)
  with pytest.raises(ValueError, match=r"temperature gives no temperature for state\(s\) \['s0'\]"):
    DiceFT(agents, temperature={"s1": 0.5})
  with pytest.raises(ValueError, match=r"temperature\('s0'\) raised KeyError"):
    DiceFT(agents, temperature=lambda s: {"s1": 0.5}[s])
  ft = DiceFT(agents, temperature={"s0": 0.5}, inner_steps=2)
  full = normal_form_advantages(game)
  before = [np.asarray(a.log_policy()) for a in agents]
  with pytest.raises(
    ValueError,
    match=r"advantage_fn returned advantages for 1 agent\(s\); "
    r"DiceFT has 2 agents",
  ):
    ft.step(lambda pis: full(pis)[:1])
  with pytest.raises(ValueError, match=r"advantages\[1\] of shape \(1, 3\)"):
    ft.step(lambda pis: [full(pis)[0], jnp.zeros((1, 3))])
  assert ft.iteration == 0  # refused before any work: nothing trained, nothing logged
  for a, b in zip(agents, before):
    np.testing.assert_array_equal(np.asarray(a.log_policy()), b)


def test_rloo_advantages_match_the_leave_one_out_definition():
  """A_k = r_k - mean of the other real candidates' rewards, by explicit loops; 0 on masked
  candidates and for a prompt with a single real candidate; bad input names the argument."""
  from dice_jax.ft import rloo_advantages

  rng = np.random.default_rng(0)
  r = rng.normal(size=(5, 4))
  mask = np.ones((5, 4), bool)
  mask[1, 3] = mask[2, 2:] = False
  mask[3, 1:] = False  # one real candidate: no baseline
  r[~mask] = 1e9  # ignored
  got = rloo_advantages(r, mask)
  for p in range(5):
    real = np.flatnonzero(mask[p])
    for k in range(4):
      if k not in real or len(real) == 1:
        expected = 0.0
      else:
        expected = r[p, k] - np.mean([r[p, j] for j in real if j != k])
      assert got[p, k] == pytest.approx(expected, abs=1e-5), (p, k)
  # the leave-one-out advantages of a prompt sum to K/(K-1) * sum (r - mean) = 0
  np.testing.assert_allclose(got.sum(-1), 0.0, atol=1e-5)
  with pytest.raises(ValueError, match="rewards must be"):
    rloo_advantages(np.zeros(3))
  with pytest.raises(ValueError, match="candidate_mask has shape"):
    rloo_advantages(np.zeros((2, 3)), np.ones((3, 2), bool))
  with pytest.raises(ValueError, match="rewards must be finite"):
    rloo_advantages(np.array([[np.inf, 0.0]]))
