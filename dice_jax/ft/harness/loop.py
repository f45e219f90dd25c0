"""The DICE-FT loop: mirror iterations of LoRA agents toward the HQRE (DESIGN §7)."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dice_jax import _validation
from dice_jax.ft.policies.candidates import CandidateBatch, make_candidate_batch
from dice_jax.ft.policies.ft_step import ft_steps, log_policy
from dice_jax.ft.harness.records import AgentRecord, IterationRecord
from dice_jax.ft.target.mirror_target import masked_log_softmax, mirror_target
from dice_jax.ft.target.advantages import joint_advantages
from dice_jax.rollouts import fields
from dice_jax.rollouts.payoffs import token_costs
from dice_jax.rollouts.sampler import Sampling, sample_candidates
from dice_jax.rollouts.temperatures import state_temperatures


@dataclasses.dataclass
class FTAgent:
  """One LLM agent: a model carrying LoRA adapters, its adapter-only optimizer
  (:func:`make_ft_optimizer`), the state key of each of its prompts (for per-state
  temperatures), and either

  * a fixed candidate set ``batch`` (:class:`CandidateBatch`), or
  * ``prompts`` (token ids per state, the role prompt included) from which
    :meth:`DiceFT.rollout_step` samples fresh candidates every iteration.

  ``log_reference`` (the base model's candidate distribution ``rho``, adapters off) is computed
  for a fixed ``batch`` when not given, and recomputed on every sampled batch.

  Raises:
    ValueError: naming the argument: neither ``batch`` nor ``prompts``, or ``states`` that do
      not give one state per prompt.
  """

  model: nnx.Module
  optimizer: nnx.Optimizer
  batch: Optional[CandidateBatch] = None
  states: Sequence = ()
  log_reference: Optional[jax.Array] = None
  prompts: Optional[Sequence[Sequence[int]]] = None

  def __post_init__(self):
    if self.batch is None and self.prompts is None:
      raise ValueError("FTAgent needs batch (fixed candidates) or prompts (sampled candidates).")
    if self.prompts is not None:
      if len(self.prompts) == 0 or any(len(p) == 0 for p in self.prompts):
        raise ValueError("prompts must be a non-empty list of non-empty token-id lists.")
      self.prompts = [list(map(int, p)) for p in self.prompts]
    n = len(self.prompts) if self.prompts is not None else self.batch.shape[0]
    if self.batch is not None and self.prompts is not None and self.batch.shape[0] != n:
      raise ValueError(f"batch has {self.batch.shape[0]} prompts but prompts has {n}.")
    if len(self.states) != n:
      raise ValueError(f"states must give one state per prompt ({n}); got {len(self.states)}.")
    if self.batch is not None and self.log_reference is None:
      self.log_reference = log_policy(self.model, self.batch, adapters=False)

  def set_prompts(self, prompts: Sequence[Sequence[int]], states: Sequence) -> None:
    """New prompts (and their states) for the next sampled iterations, e.g. a fresh batch of
    training tasks; keep their count and padded length to reuse the compiled programs.

    Raises:
      ValueError: naming the argument, for empty prompts or one state per prompt missing.
    """
    if len(prompts) == 0 or any(len(p) == 0 for p in prompts):
      raise ValueError("prompts must be a non-empty list of non-empty token-id lists.")
    if len(states) != len(prompts):
      raise ValueError(
        f"states must give one state per prompt ({len(prompts)}); got {len(states)}."
      )
    self.prompts, self.states = [list(map(int, p)) for p in prompts], list(states)
    self.batch, self.log_reference = None, None

  def log_policy(self) -> jax.Array:
    """``[P, K]`` log ``pi_theta`` over the current candidate sets."""
    if self.batch is None:
      raise ValueError("this agent has no candidates yet: run DiceFT.rollout_step first.")
    return log_policy(self.model, self.batch)


class DiceFT:
  """The DICE-FT loop: mirror iterations of LoRA agents toward the HQRE (DESIGN §3, §7).

  Iteration ``k``, for every agent ``i`` and state (prompt) ``s``:

  1. candidates: a fixed set (:meth:`step`) or ``K`` fresh samples from the *current* adapters
     (:meth:`rollout_step`, deduplicated; sets of different sizes are masked);
  2. snapshot ``pi_k`` and the reference ``rho`` (the base model, adapters off) over each set;
  3. advantages ``A_i(c)``: from ``advantage_fn`` (fixed sets) or from the agents' joint outcome
     via :func:`dice_jax.ft.joint_advantages` (payoff of the joint candidates minus the token
     cost, baseline-subtracted per state);
  4. the mirror target ``pi+`` (:func:`mirror_target`, the solver's MMD update of Sokota et al.,
     ICLR 2023) with the per-state temperatures ``tau_i(s)`` and step ``eta``;
  5. ``inner_steps`` jitted optimizer steps (:func:`ft_steps`) fitting ``pi_theta`` to ``pi+``
     by ``KL(pi+ || pi_theta)`` on the adapters only (a NaN step is skipped and counted; no
     step at all when ``pi+`` is within ``fit_tol`` of ``pi_k``);
  6. log a JSON record (``log_path``, one line per iteration) and save the adapters in PEFT
     layout (``save_dir/iter_{k}/agent_{i}``).

  With candidates that are the actions of a normal-form game and the exact utility vector as
  advantages, this is the solver's mirror iteration, and it converges to the game's HQRE with
  the base models as reference policies (tests/dice/test_ft.py; notebooks/dice_ft.ipynb).

  Args:
    agents: the :class:`FTAgent` s (one adapter set each; they may share a frozen base, see
      :func:`dice_jax.ft.shared_lora_agents`).
    temperature: ``tau(state)``: a callable or a mapping from state keys to ``tau > 0``.
    step_size: the mirror step ``eta > 0``.
    inner_steps: optimizer steps per mirror iteration.
    sampling: a :class:`Sampling`; needed by :meth:`rollout_step`.
    token_cost: cost per generated token, ``>= 0``, one for all agents or one per agent; agent
      ``i``'s candidate ``c`` costs ``token_cost_i * len(c)`` (subtracted from its utility).
    log_path: optional JSON-lines file, one record per iteration.
    save_dir: optional directory; adapters go to ``save_dir/iter_{k}/agent_{i}`` (PEFT layout).
    progress: show a tqdm bar in :meth:`run` / :meth:`run_rollouts`.
    fit_tol: an agent whose target is within ``max_s KL(pi+ || pi_k) <= fit_tol`` nats of its
      current policy takes no optimizer step this iteration (logged as ``fitted: False``). With
      no signal (all advantages equal and ``pi_k = rho``) the gradient is round-off, and Adam's
      normalisation would turn it into full learning-rate steps in random directions (measured
      on SmolLM2-135M: KL 0.27 nats away from the base in 3 steps on a zero target).
    share_prompts: sampled candidate batches run each prompt once for its ``K`` candidates
      (:func:`make_candidate_batch`; the same scores to float32 round-off, fewer token
      positions: ``benchmarks/dice_ft_step.py``).

  Raises:
    ValueError: naming the argument, before any work: no agents, ``eta <= 0``, a bad
      ``inner_steps``, temperatures that are not ``> 0``, a negative or non-finite
      ``token_cost``, a ``sampling`` that is not a :class:`Sampling`.
  """

  def __init__(
    self,
    agents: Sequence[FTAgent],
    *,
    temperature: Union[Callable, Mapping],
    step_size: float = 1.0,
    inner_steps: int = 50,
    sampling: Optional[Sampling] = None,
    token_cost: Union[float, Sequence[float]] = 0.0,
    log_path: Optional[str] = None,
    save_dir: Optional[str] = None,
    progress: bool = False,
    fit_tol: float = 1e-6,
    share_prompts: bool = True,
  ):
    _validation.require_positive("step_size", step_size)
    if isinstance(inner_steps, bool) or int(inner_steps) != inner_steps or inner_steps < 1:
      raise ValueError(f"inner_steps must be a positive integer; got {inner_steps!r}.")
    self.agents = list(agents)
    if not self.agents or not all(isinstance(a, FTAgent) for a in self.agents):
      raise ValueError("agents must be a non-empty sequence of FTAgent.")
    if sampling is not None:
      fields.instance("sampling", sampling, Sampling)
    cost = token_costs(token_cost, len(self.agents))
    self.temperature = temperature
    self.step_size = float(step_size)
    self.inner_steps = int(inner_steps)
    self.sampling, self.token_cost = sampling, cost
    if not (np.isfinite(fit_tol) and fit_tol >= 0):
      raise ValueError(f"fit_tol must be finite and >= 0; got {fit_tol!r}.")
    self.log_path, self.save_dir, self.progress = log_path, save_dir, progress
    self.fit_tol = float(fit_tol)
    self.share_prompts = bool(share_prompts)
    self.iteration = 0
    self._taus = [self._temperatures(i, a) for i, a in enumerate(self.agents)]

  def _temperatures(self, i: int, agent: FTAgent) -> jax.Array:
    taus = state_temperatures(self.temperature, list(agent.states), name="temperature")
    return jnp.asarray(taus, jnp.float32)

  def policies(self) -> List[jax.Array]:
    """Each agent's ``[P, K]`` candidate distribution over its current candidate sets."""
    return [jnp.exp(a.log_policy()) for a in self.agents]

  # -- the shared half of both paths: target, fit, log, save --------------------------------
  def _fit(self, i: int, agent: FTAgent, log_pi, adv, mask, keep=None) -> AgentRecord:
    tau = self._taus[i]
    target = mirror_target(
      log_pi,
      agent.log_reference,
      np.asarray(adv, np.float32),
      tau,
      np.full(tau.shape, self.step_size, np.float32),
      mask=mask,
    )
    if keep is not None:  # states without an outcome keep pi_k as their target
      target = jnp.where(jnp.asarray(keep)[:, None], target, masked_log_softmax(log_pi, mask))
    # KL(pi+ || pi_k) per state: how far this iteration asks the policy to move
    log_pk = masked_log_softmax(log_pi, mask)
    pt = jnp.exp(target)
    gap = float(
      jnp.max(jnp.sum(jnp.where(mask, pt * (target - jnp.where(mask, log_pk, 0.0)), 0.0), -1))
    )
    t = time.perf_counter()
    if gap > self.fit_tol:
      m = ft_steps(
        agent.model,
        agent.optimizer,
        agent.batch,
        target,
        agent.log_reference,
        tau,
        num_steps=self.inner_steps,
      )
      loss = float(m["loss"])  # blocks until the steps are done
    else:  # nothing to fit: Adam would turn the round-off gradient into lr-sized steps
      m = {
        "loss": gap,
        "kl_to_reference": float(
          jnp.mean(
            jnp.sum(
              jnp.where(
                mask,
                jnp.exp(log_pk) * (log_pk - masked_log_softmax(agent.log_reference, mask)),
                0.0,
              ),
              -1,
            )
          )
        ),
        "entropy": float(jnp.mean(-jnp.sum(jnp.where(mask, jnp.exp(log_pk) * log_pk, 0.0), -1))),
        "temperature": float(jnp.mean(tau)),
        "skipped": 0,
      }
      loss = gap
    train_s = time.perf_counter() - t
    new = jnp.exp(agent.log_policy())
    if self.save_dir:
      from dice_jax.llm.lora import save_lora_adapter  # noqa: PLC0415

      save_lora_adapter(
        agent.model, os.path.join(self.save_dir, f"iter_{self.iteration}", f"agent_{i}")
      )
    return AgentRecord(
      loss=loss,
      kl_to_reference=float(m["kl_to_reference"]),
      entropy=float(m["entropy"]),
      temperature=float(m["temperature"]),
      skipped_steps=int(m["skipped"]),
      train_seconds=train_s,
      target_kl=gap,
      fitted=gap > self.fit_tol,
      tv_to_target=float(0.5 * jnp.max(jnp.sum(jnp.abs(new - jnp.exp(target)), -1))),
      policy=np.asarray(new).tolist(),
    )

  def _finish(self, record: IterationRecord) -> Dict:
    """Log the record (one JSON line) and return it as that JSON object."""
    out = record.to_json()
    if self.log_path:
      with open(self.log_path, "a") as f:
        f.write(json.dumps(out) + "\n")
    self.iteration += 1
    return out

  # -- fixed candidates ---------------------------------------------------------------------
  def step(self, advantage_fn: Callable[[List[jax.Array]], List[jax.Array]]) -> Dict:
    """One iteration on the agents' fixed candidate sets; ``advantage_fn`` maps the agents'
    ``[P, K]`` candidate distributions ``pi_k`` to their ``[P, K]`` advantages."""
    for i, a in enumerate(self.agents):
      if a.batch is None:
        raise ValueError(f"agents[{i}] has no fixed candidates (batch); use rollout_step.")
    t0 = time.perf_counter()
    log_pis = [a.log_policy() for a in self.agents]
    advantages = list(advantage_fn([jnp.exp(l) for l in log_pis]))
    if len(advantages) != len(self.agents):
      raise ValueError(
        f"advantage_fn returned advantages for {len(advantages)} agent(s); "
        f"DiceFT has {len(self.agents)} agents (one [P, K] array each)."
      )
    for i, (a, adv) in enumerate(zip(self.agents, advantages)):
      if tuple(np.shape(adv)) != tuple(a.batch.candidate_mask.shape):
        raise ValueError(
          f"advantage_fn returned advantages[{i}] of shape {np.shape(adv)}; "
          f"agents[{i}] has candidates of shape "
          f"{tuple(a.batch.candidate_mask.shape)}."
        )
    record = IterationRecord(self.iteration, [])
    for i, (agent, log_pi, adv) in enumerate(zip(self.agents, log_pis, advantages)):
      record.agents.append(self._fit(i, agent, log_pi, adv, agent.batch.candidate_mask))
    record.seconds = time.perf_counter() - t0
    return self._finish(record)

  def run(self, advantage_fn, iterations: int, *, progress: Optional[bool] = None) -> List[Dict]:
    """``iterations`` calls of :meth:`step`."""
    return [self.step(advantage_fn) for _ in self._range(iterations, progress)]

  # -- sampled candidates -------------------------------------------------------------------
  def _check_rollouts(self, payoff_fn, key):
    if self.sampling is None:
      raise ValueError("sampling must be given to DiceFT (a Sampling) to sample candidates.")
    for i, a in enumerate(self.agents):
      if a.prompts is None:
        raise ValueError(f"agents[{i}] has no prompts to sample candidates from.")
    n = {len(a.prompts) for a in self.agents}
    if len(n) != 1:
      raise ValueError(f"agents must share their states: prompt counts {sorted(n)} differ.")
    if not callable(payoff_fn):
      raise ValueError("payoff_fn must be callable (state_index, candidates) -> payoffs.")
    if key is None:
      raise ValueError("key must be a jax.random key; got None.")

  def rollout_step(self, payoff_fn: Callable, *, key: jax.Array) -> Dict:
    """One iteration on fresh candidates sampled from the current adapters.

    Args:
      payoff_fn: ``payoff_fn(s, candidates) -> payoffs`` for state index ``s``, where
        ``candidates[i]`` is agent ``i``'s list of distinct :class:`Candidate` s; returns one
        array per agent of shape ``(k_1, ..., k_N)`` (agent ``i``'s payoff of every joint
        candidate; a single agent may return its ``(k_1,)`` array). Non-finite entries mark
        failed rollouts (those candidates are masked out).
      key: a ``jax.random`` key (split per agent).

    Returns:
      The iteration's record: per agent the fit metrics, ``advantages`` / ``mask`` (``[P, K]``),
      ``value`` (mean over states of ``<pi_k, v>``), ``sample_payoff`` (mean payoff under the
      empirical distribution of the ``K`` samples: the sampled accuracy for a 0/1 checker),
      ``mean_tokens`` per sample, ``unique`` candidates per state, ``failed`` candidates,
      ``states_without_outcome``, and the seconds spent sampling, scoring and training.

    Raises:
      ValueError: naming the argument, before any work: no ``sampling``, agents without
        ``prompts`` or with different numbers of states, a ``payoff_fn`` that is not callable,
        no ``key``; after sampling, payoffs of the wrong shape.
    """
    self._check_rollouts(payoff_fn, key)
    self._taus = [
      self._temperatures(i, a) for i, a in enumerate(self.agents)
    ]  # states may have changed
    sp = self.sampling
    k = sp.num_candidates
    n_agents, n_states = len(self.agents), len(self.agents[0].prompts)
    t0 = time.perf_counter()
    samples, seconds = [], {"sample": 0.0, "score": 0.0}
    for agent, sub in zip(self.agents, jax.random.split(key, n_agents)):
      t = time.perf_counter()
      samples.append(sample_candidates(agent.model, agent.prompts, sp, sub))
      seconds["sample"] += time.perf_counter() - t
    log_pis = []
    for agent, smp in zip(self.agents, samples):
      t = time.perf_counter()
      plen = -(-max(len(p) for p in agent.prompts) // sp.prompt_bucket) * sp.prompt_bucket
      agent.batch = make_candidate_batch(
        agent.prompts,
        smp.token_lists(),
        pad_id=sp.pad_id,
        candidate_mask=smp.mask(k),
        num_candidates=k,
        length=plen + sp.max_new_tokens,
        window=sp.max_new_tokens,
        share_prompts=self.share_prompts,
      )
      agent.log_reference = log_policy(agent.model, agent.batch, adapters=False)
      log_pis.append(jax.block_until_ready(agent.log_policy()))
      jax.block_until_ready(agent.log_reference)  # time the scoring, not its dispatch
      seconds["score"] += time.perf_counter() - t
    pis = [np.exp(np.asarray(l, np.float64)) for l in log_pis]
    adv = [np.zeros((n_states, k)) for _ in range(n_agents)]
    mask = [np.array(a.batch.candidate_mask) for a in self.agents]
    keep = np.ones(n_states, bool)
    values = np.zeros((n_agents, n_states))
    sample_payoff = np.zeros((n_agents, n_states))
    for s in range(n_states):
      cands = [smp.candidates[s] for smp in samples]
      sizes = tuple(len(c) for c in cands)
      pay = payoff_fn(s, cands)
      if n_agents == 1 and np.ndim(pay) == 1:
        pay = [pay]
      if len(pay) != n_agents or any(np.shape(u) != sizes for u in pay):
        raise ValueError(
          f"payoffs for state {s} must be {n_agents} array(s) of shape {sizes} "
          f"(one axis per agent's candidates); got "
          f"{[np.shape(u) for u in pay]}."
        )
      costs = [
        self.token_cost[i] * np.array([c.num_tokens for c in cs], np.float64)
        for i, cs in enumerate(cands)
      ]
      a_s, v_s, valid = joint_advantages(
        pay, [pis[i][s, : sizes[i]] for i in range(n_agents)], costs
      )
      counts = [np.array([c.count for c in cs], np.float64) / k for cs in cands]
      for i in range(n_agents):
        adv[i][s, : sizes[i]] = a_s[i]
        values[i, s] = v_s[i]
        u = np.asarray(pay[i], np.float64)
        w = (
          counts[0]
          if n_agents == 1
          else np.einsum(
            ",".join(chr(97 + j) for j in range(n_agents))
            + "->"
            + "".join(chr(97 + j) for j in range(n_agents)),
            *counts,
          )
        )
        sample_payoff[i, s] = float(np.sum(np.where(w > 0, np.nan_to_num(u), 0.0) * w))
      if not all(v.any() for v in valid):
        keep[s] = False
      else:
        for i in range(n_agents):
          mask[i][s, : sizes[i]] = valid[i]
    record = IterationRecord(self.iteration, [])
    for i, (agent, smp) in enumerate(zip(self.agents, samples)):
      full_mask = np.array(agent.batch.candidate_mask)
      final_mask = np.where(keep[:, None], mask[i], full_mask)
      agent.batch = agent.batch.replace(candidate_mask=final_mask)
      rec = self._fit(i, agent, log_pis[i], adv[i], final_mask, keep=keep)
      rec = dataclasses.replace(
        rec,
        advantages=adv[i].tolist(),
        mask=final_mask.tolist(),
        value=float(values[i][keep].mean()) if keep.any() else None,
        sample_payoff=float(sample_payoff[i].mean()),
        mean_tokens=smp.mean_tokens,
        unique=float(np.mean([len(c) for c in smp.candidates])),
        failed=int((full_mask & ~final_mask).sum()),
        states_without_outcome=int((~keep).sum()),
      )
      record.agents.append(rec)
    record.sample_seconds, record.score_seconds = seconds["sample"], seconds["score"]
    record.train_seconds = sum(a.train_seconds for a in record.agents)
    record.seconds = time.perf_counter() - t0
    return self._finish(record)

  def run_rollouts(
    self, payoff_fn: Callable, iterations: int, *, key: jax.Array, progress: Optional[bool] = None
  ) -> List[Dict]:
    """``iterations`` calls of :meth:`rollout_step` with keys split from ``key``."""
    self._check_rollouts(payoff_fn, key)
    keys = jax.random.split(key, max(int(iterations), 1))
    return [self.rollout_step(payoff_fn, key=keys[t]) for t in self._range(iterations, progress)]

  def _range(self, iterations, progress):
    if isinstance(iterations, bool) or int(iterations) != iterations or iterations < 0:
      raise ValueError(f"iterations must be an integer >= 0; got {iterations!r}.")
    it = range(int(iterations))
    if self.progress if progress is None else progress:
      from tqdm import tqdm  # noqa: PLC0415

      it = tqdm(it, desc="DICE-FT")
    return it
