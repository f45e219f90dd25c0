"""DICE-FT on sampled candidates: generation from the current adapters, joint-outcome advantages,
masks for unequal sets, agents sharing one frozen base, the SFT baseline step, bad input.

Every jitted program is compiled once: one config, one LoRA layout, prompts of one padded shape,
one Sampling, one ``inner_steps`` and one module-level optax object (TX).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from dice_jax.ft import (
  DiceFT,
  FTAgent,
  joint_advantages,
  log_policy,
  make_candidate_batch,
  make_ft_optimizer,
  pg_steps,
  rloo_advantages,
  sft_steps,
  shared_lora_agents,
  shares_base,
  split_adapters,
)
from dice_jax.rollouts.sampler import Sampling, sample_candidates
from dice_jax.llm import build_model, generate, score_candidates
from dice_jax.llm.tokenizer import left_pad
from tests.llm.tiny import TINY_LLAMA

pytestmark = pytest.mark.slow  # the slow tier (pyproject.toml): run with -m slow

CFG = TINY_LLAMA
TARGETS = ("q_proj", "v_proj", "o_proj", "down_proj")
TX = optax.adam(0.05)  # one object: the jitted steps compile once
PROMPTS = [[1, 2, 3], [4, 5]]
STATES = ["easy", "hard"]
TAU = {"easy": 0.5, "hard": 1.0}
# a low sampling temperature makes repeated samples (sets smaller than K) likely
SAMPLING = Sampling(num_candidates=6, max_new_tokens=2, temperature=0.5, stop_ids=(0,))
INNER = 20


def agents_on_one_base(n, seed=0):
  models = shared_lora_agents(
    build_model(CFG, rngs=nnx.Rngs(seed)), n, rank=4, alpha=8.0, targets=TARGETS, seed=seed + 100
  )
  return models, [
    FTAgent(m, make_ft_optimizer(m, TX), states=STATES, prompts=PROMPTS) for m in models
  ]


def randomise_adapters(model, seed):
  g, lora, frozen = split_adapters(model)
  leaves, tdef = jax.tree_util.tree_flatten(lora)
  keys = jax.random.split(jax.random.key(seed), len(leaves))
  nnx.update(
    model,
    jax.tree_util.tree_unflatten(
      tdef, [0.5 * jax.random.normal(k, x.shape, x.dtype) for k, x in zip(keys, leaves)]
    ),
  )


def frozen_leaves(model):
  return jax.tree_util.tree_leaves(split_adapters(model)[2])


def even_first_token(cands):
  return np.array([float(c.tokens[0] % 2 == 0) for c in cands])


def test_candidates_are_sampled_from_the_current_adapters():
  (model,), _ = agents_on_one_base(1)
  key = jax.random.key(7)
  sp = Sampling(num_candidates=6, max_new_tokens=2, temperature=0.7, stop_ids=(0,), dedupe=False)
  base = sample_candidates(model, PROMPTS, sp, key)
  # the same draw as the bridge's jitted sampler on the P*K left-padded rows
  ids, mask = left_pad([p for p in PROMPTS for _ in range(6)], 0, multiple=sp.prompt_bucket)
  direct = generate(
    model, ids, mask, max_new_tokens=2, greedy=False, key=key, temperature=0.7, stop_ids=(0,)
  ).token_lists()
  assert [list(c.tokens) for cs in base.candidates for c in cs] == direct
  batch = make_candidate_batch(PROMPTS, base.token_lists())
  rho = log_policy(model, batch, adapters=False)
  np.testing.assert_allclose(log_policy(model, batch), rho, atol=1e-6)  # B = 0: pi = rho
  randomise_adapters(model, 1)
  moved = sample_candidates(model, PROMPTS, sp, key)
  assert moved.token_lists() != base.token_lists()  # other adapters, same key: other samples
  assert float(jnp.max(jnp.abs(log_policy(model, batch) - rho))) > 1e-2  # and other scores
  np.testing.assert_array_equal(log_policy(model, batch, adapters=False), rho)  # rho: adapters off


def test_rollout_advantages_are_baseline_subtracted_per_state_by_hand():
  (model,), (agent,) = agents_on_one_base(1, seed=3)
  seen = {}

  def payoff(s, cands):
    (cs,) = cands
    # pi_k by the bridge's own scorer (an independent path), before this iteration's update
    tot = score_candidates(model, [PROMPTS[s]] * len(cs), [list(c.tokens) for c in cs]).total
    seen[s] = (cs, np.exp(tot - np.logaddexp.reduce(tot)))
    return [even_first_token(cs)]

  ft = DiceFT(
    [agent], temperature=TAU, step_size=2.0, inner_steps=INNER, sampling=SAMPLING, token_cost=0.1
  )
  rec = ft.rollout_step(payoff, key=jax.random.key(11))["agents"][0]
  sizes = [len(seen[s][0]) for s in range(2)]
  assert min(sizes) < 6 and sizes[0] != sizes[1], sizes  # deduplicated sets of different sizes
  for s in range(2):
    cs, pi = seen[s]
    assert sum(c.count for c in cs) == 6
    v = even_first_token(cs) - 0.1 * np.array([len(c.tokens) for c in cs])
    np.testing.assert_allclose(rec["advantages"][s][: len(cs)], v - pi @ v, atol=1e-5)
    assert rec["mask"][s] == [j < len(cs) for j in range(6)]
    assert all(a == 0 for a in rec["advantages"][s][len(cs) :])
    assert all(p == 0 for p in rec["policy"][s][len(cs) :])  # masked slots carry no probability
  assert rec["skipped_steps"] == 0 and rec["tv_to_target"] < 0.1
  mean_tokens = np.mean([sum(c.count * len(c.tokens) for c in seen[s][0]) / 6 for s in range(2)])
  assert rec["mean_tokens"] == pytest.approx(mean_tokens)


def test_joint_advantages_two_agents_by_hand_with_a_failed_rollout():
  rng = np.random.default_rng(0)
  u0, u1 = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
  u0[2, 1] = np.nan  # agent 0's third candidate failed against agent 1's second
  p0, p1 = np.array([0.2, 0.5, 0.3]), np.array([0.6, 0.4])
  c0, c1 = np.array([0.1, 0.2, 0.3]), np.array([0.0, 0.5])
  adv, val, valid = joint_advantages([u0, u1], [p0, p1], [c0, c1])
  assert valid[0].tolist() == [True, True, False] and valid[1].all()
  q0 = p0[:2] / p0[:2].sum()  # the failed candidate carries no weight for agent 1
  v0 = np.array([sum(p1[b] * u0[a, b] for b in range(2)) for a in range(2)]) - c0[:2]
  v1 = np.array([sum(q0[a] * u1[a, b] for a in range(2)) for b in range(2)]) - c1
  np.testing.assert_allclose(adv[0][:2], v0 - q0 @ v0, atol=1e-12)
  np.testing.assert_allclose(adv[1], v1 - p1 @ v1, atol=1e-12)
  assert adv[0][2] == 0 and val[1] == pytest.approx(p1 @ v1)
  # an agent with no valid candidate leaves the state without an outcome
  _, _, none = joint_advantages([np.full((1, 2), np.nan), u1[:1]], [p0[:1], p1], None)
  assert not any(v.any() for v in none)


def test_two_agents_share_one_bit_identical_base_and_learn_from_the_joint_outcome(tmp_path):
  models, agents = agents_on_one_base(2, seed=5)
  assert shares_base(*models)
  before = frozen_leaves(models[0])
  values = [np.asarray(x).copy() for x in before]

  def payoff(s, cands):  # agent 0 wants an even first token; agent 1 wants to match its parity
    p0 = np.array([c.tokens[0] % 2 for c in cands[0]])
    p1 = np.array([c.tokens[0] % 2 for c in cands[1]])
    return [
      np.repeat((p0 == 0).astype(float)[:, None], len(p1), 1),
      (p0[:, None] == p1[None, :]).astype(float),
    ]

  ft = DiceFT(
    agents,
    temperature=TAU,
    step_size=2.0,
    inner_steps=INNER,
    sampling=SAMPLING,
    token_cost=0.01,
    log_path=str(tmp_path / "log.jsonl"),
    save_dir=str(tmp_path),
  )
  recs = ft.run_rollouts(payoff, 6, key=jax.random.key(0))
  for m in models:  # the very same frozen arrays, bit-identical, no copy anywhere
    after = frozen_leaves(m)
    assert all(a is b for a, b in zip(before, after))
    for a, v in zip(after, values):
      np.testing.assert_array_equal(np.asarray(a), v)
  assert shares_base(*models)
  la, lb = (jax.tree_util.tree_leaves(split_adapters(m)[1]) for m in models)
  assert any(float(jnp.max(jnp.abs(a - b))) > 1e-3 for a, b in zip(la, lb))  # own adapters
  # A is baseline-subtracted under pi_k, so <pi_k, A> = 0; the fitted policy tilts toward the
  # better candidates: <pi_new, A> > 0 (exactly so at iteration 0, where pi_k = rho)
  for i in range(2):
    gains = [
      [
        float(np.dot(p, a))
        for p, a, m in zip(
          r["agents"][i]["policy"], r["agents"][i]["advantages"], r["agents"][i]["mask"]
        )
        if np.ptp(a) > 0
      ]
      for r in recs
    ]
    assert min(gains[0]) > 0 and np.mean(np.concatenate(gains)) > 0, gains
    assert max(r["agents"][i]["tv_to_target"] for r in recs) < 0.1
  assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 6
  assert (tmp_path / "iter_5" / "agent_1" / "adapter_model.safetensors").is_file()


def test_no_signal_means_no_step():
  # all payoffs equal and pi_k = rho: pi+ = pi_k, the gradient is round-off; Adam would still
  # take lr-sized steps on it (fit_tol = 0 shows it), so DiceFT skips the fit
  for tol, moves in ((1e-6, False), (0.0, True)):
    (model,), (agent,) = agents_on_one_base(1, seed=4)
    lora = [np.asarray(x).copy() for x in jax.tree_util.tree_leaves(split_adapters(model)[1])]
    ft = DiceFT(
      [agent], temperature=TAU, step_size=2.0, inner_steps=INNER, sampling=SAMPLING, fit_tol=tol
    )
    rec = ft.rollout_step(lambda s, c: [np.zeros(len(c[0]))], key=jax.random.key(2))
    assert rec["agents"][0]["fitted"] is moves and rec["agents"][0]["target_kl"] < 1e-6
    after = jax.tree_util.tree_leaves(split_adapters(model)[1])
    changed = max(float(np.max(np.abs(np.asarray(a) - b))) for a, b in zip(after, lora))
    assert (changed > 1e-3) is moves, changed


@pytest.mark.slow
def test_sft_steps_raise_the_accepted_likelihood_and_leave_the_base():
  (model,), _ = agents_on_one_base(1, seed=8)
  batch = make_candidate_batch(PROMPTS, [[[7, 0], [8, 0]], [[9, 0], [9, 1]]])
  w = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
  before = frozen_leaves(model)
  lp0 = np.asarray(log_policy(model, batch))
  m = sft_steps(model, make_ft_optimizer(model, TX), batch, w, num_steps=INNER)
  lp1 = np.asarray(log_policy(model, batch))
  assert int(m["skipped"]) == 0
  assert lp1[0, 0] > lp0[0, 0] + 0.1 and lp1[1, 1] > lp0[1, 1] + 0.1
  assert all(a is b for a, b in zip(before, frozen_leaves(model)))


def _sequence_logprobs(model, batch_prompts, batch_candidates):
  """log pi(y | x) of every (prompt, candidate) pair by the bridge's scorer (independent of the
  training program's loss)."""
  pairs = [(p, c) for p, cs in zip(batch_prompts, batch_candidates) for c in cs]
  res = score_candidates(model, [p for p, _ in pairs], [c for _, c in pairs])
  return np.asarray(res.total, np.float64).reshape(len(batch_prompts), -1)


@pytest.mark.slow
def test_pg_steps_ascend_the_reinforce_objective():
  """One plain SGD step of :func:`pg_steps` moves the adapters along the gradient of
  J = mean A log pi(y | x) (A the leave-one-out advantages): J(theta') - J(theta) equals
  |theta' - theta|^2 / lr to first order, with J evaluated by the bridge's scorer; the reported
  loss is -J at the starting adapters; equal rewards within each prompt leave the adapters
  bit-for-bit unchanged."""
  (model,), _ = agents_on_one_base(1, seed=9)
  randomise_adapters(model, 3)
  prompts = PROMPTS
  cands = [[[7, 0], [8, 0], [7, 3]], [[9, 0], [9, 1], [5, 2]]]
  batch = make_candidate_batch(prompts, cands)
  rewards = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
  adv = rloo_advantages(rewards)
  j0 = float(np.mean(adv * _sequence_logprobs(model, prompts, cands)))
  lr = 1e-3
  opt = make_ft_optimizer(model, optax.sgd(lr))
  before = [np.asarray(x).copy() for x in jax.tree_util.tree_leaves(split_adapters(model)[1])]
  frozen = frozen_leaves(model)
  m = pg_steps(model, opt, batch, rewards, num_steps=1)
  assert int(m["skipped"]) == 0
  assert float(m["loss"]) == pytest.approx(-j0, rel=1e-4, abs=1e-6)
  after = [np.asarray(x) for x in jax.tree_util.tree_leaves(split_adapters(model)[1])]
  moved = sum(float(np.sum((a.astype(np.float64) - b) ** 2)) for a, b in zip(after, before))
  j1 = float(np.mean(adv * _sequence_logprobs(model, prompts, cands)))
  assert moved > 0 and (j1 - j0) == pytest.approx(moved / lr, rel=0.05)
  assert all(a is b for a, b in zip(frozen, frozen_leaves(model)))
  # no reward difference within a prompt: no advantage, no gradient, no move
  pg_steps(model, opt, batch, np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]), num_steps=1)
  again = [np.asarray(x) for x in jax.tree_util.tree_leaves(split_adapters(model)[1])]
  assert all(np.array_equal(a, b) for a, b in zip(again, after))
  with pytest.raises(ValueError, match="rewards must be finite"):
    pg_steps(model, opt, batch, np.array([[np.nan, 0.0, 0.0], [0.0, 1.0, 1.0]]), num_steps=1)


def test_bad_input_names_the_argument():
  models, (agent,) = agents_on_one_base(1)
  for kwargs, match in [
    (dict(num_candidates=0), "num_candidates"),
    (dict(max_new_tokens=2.5), "max_new_tokens"),
    (dict(temperature=0.0), "temperature"),
    (dict(top_p=0.0), "top_p"),
  ]:
    with pytest.raises(ValueError, match=match):
      Sampling(**{**dict(num_candidates=2, max_new_tokens=2), **kwargs})
  with pytest.raises(ValueError, match="token_cost"):
    DiceFT([agent], temperature=TAU, sampling=SAMPLING, token_cost=-1.0)
  with pytest.raises(ValueError, match="agents"):
    DiceFT([], temperature=TAU)
  with pytest.raises(ValueError, match="fit_tol"):
    DiceFT([agent], temperature=TAU, fit_tol=-1.0)
  with pytest.raises(ValueError, match="sampling"):
    DiceFT([agent], temperature=TAU, sampling={"num_candidates": 2})
  with pytest.raises(ValueError, match="temperature"):
    DiceFT([agent], temperature={"easy": 1.0, "hard": 0.0})
  with pytest.raises(ValueError, match="batch.*or prompts"):
    FTAgent(models[0], agent.optimizer, states=STATES)
  with pytest.raises(ValueError, match="states"):
    FTAgent(models[0], agent.optimizer, states=["easy"], prompts=PROMPTS)
  with pytest.raises(ValueError, match="sampling must be given"):
    DiceFT([agent], temperature=TAU).rollout_step(lambda s, c: None, key=jax.random.key(0))
  ft = DiceFT([agent], temperature=TAU, sampling=SAMPLING, inner_steps=INNER)
  with pytest.raises(ValueError, match="key"):
    ft.rollout_step(lambda s, c: None, key=None)
  with pytest.raises(ValueError, match="payoff_fn"):
    ft.rollout_step("not callable", key=jax.random.key(0))
  with pytest.raises(ValueError, match=r"payoffs for state 0 must be 1 array\(s\) of shape"):
    ft.rollout_step(lambda s, c: [np.zeros(len(c[0]) + 1)], key=jax.random.key(0))
  with pytest.raises(ValueError, match="states must give one state per prompt"):
    agent.set_prompts(PROMPTS, ["easy"])
  other = FTAgent(models[0], agent.optimizer, states=["easy"], prompts=PROMPTS[:1])
  with pytest.raises(ValueError, match="share their states"):
    DiceFT([agent, other], temperature=TAU, sampling=SAMPLING).rollout_step(
      lambda s, c: None, key=jax.random.key(0)
    )
  with pytest.raises(ValueError, match="prompts"):
    sample_candidates(models[0], [], SAMPLING, jax.random.key(0))
  with pytest.raises(ValueError, match="num_candidates"):
    make_candidate_batch([[1]], [[[2], [3]]], num_candidates=1)
  with pytest.raises(ValueError, match="length"):
    make_candidate_batch([[1]], [[[2], [3]]], length=1)
  batch = make_candidate_batch([[1]], [[[2], [3]]])
  with pytest.raises(ValueError, match="weights"):
    sft_steps(models[0], agent.optimizer, batch, np.ones((1, 3)), num_steps=1)
  with pytest.raises(ValueError, match="policies"):
    joint_advantages([np.zeros(2)], [np.array([0.5, -0.5])])
  with pytest.raises(ValueError, match=r"payoffs\[0\] has shape"):
    joint_advantages([np.zeros(3)], [np.array([0.5, 0.5])])
