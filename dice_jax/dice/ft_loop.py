"""The DICE-FT loop: mirror iterations of LoRA agents toward the HQRE (DESIGN §7)."""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dice_jax import _validation
from dice_jax.dice.candidates import CandidateBatch
from dice_jax.dice.ft_step import candidate_log_policy, ft_steps
from dice_jax.dice.mirror_target import mirror_target

_log_policy = nnx.jit(candidate_log_policy)


@dataclasses.dataclass
class FTAgent:
  """One LLM agent: a model carrying LoRA adapters (zero-initialised, as ``apply_lora`` makes
  them, when the agent is built), its adapter-only optimizer, its prompts (states) with their
  candidate responses, and the state key of each prompt (for per-state temperatures).

  ``log_reference`` (the base model's candidate distribution, adapters off) is taken at
  construction, when the zero-initialised adapters leave the base model unchanged.
  """

  model: nnx.Module
  optimizer: nnx.Optimizer
  batch: CandidateBatch
  states: Sequence
  log_reference: Optional[jax.Array] = None

  def __post_init__(self):
    if len(self.states) != self.batch.shape[0]:
      raise ValueError(f"states must give one state per prompt ({self.batch.shape[0]}); "
                       f"got {len(self.states)}.")
    if self.log_reference is None:
      self.log_reference = _log_policy(self.model, self.batch)

  def log_policy(self) -> jax.Array:
    return _log_policy(self.model, self.batch)


def normal_form_advantages(game) -> Callable[[List[jax.Array]], List[jax.Array]]:
  """Advantages for agents that are the players of a normal-form game, each with one prompt
  whose candidates are that player's actions: ``A_i = v_i(pi) - <pi_i, v_i(pi)>`` (the utility
  vector at the agents' current candidate distributions, baseline-subtracted)."""
  def advantages(policies):
    profile = tuple(p[0] for p in policies)
    v = game.utilities(profile)
    return [(vi - jnp.sum(x * vi))[None, :] for x, vi in zip(profile, v)]
  return advantages


class DiceFT:
  """Iterate: snapshot ``pi_k``, get advantages, form the mirror target
  (:func:`mirror_target`) with the per-state temperatures, fit each agent's adapters to it with
  ``inner_steps`` jitted :func:`ft_step` calls, log, optionally save the adapters.

  Args:
    agents: the :class:`FTAgent` s (one adapter set each; they may share a frozen base).
    temperature: ``tau(state)``: a callable or a mapping from state keys to ``tau > 0``.
    step_size: the mirror step ``eta > 0``.
    inner_steps: optimizer steps per mirror iteration.
    log_path: optional JSON-lines file, one record per iteration.
    save_dir: optional directory; adapters go to ``save_dir/iter_{k}/agent_{i}`` (PEFT layout).
  """

  def __init__(self, agents: Sequence[FTAgent], *,
               temperature: Union[Callable, Mapping], step_size: float = 1.0,
               inner_steps: int = 50, log_path: Optional[str] = None,
               save_dir: Optional[str] = None):
    _validation.require_positive("step_size", step_size)
    if int(inner_steps) != inner_steps or inner_steps < 1:
      raise ValueError(f"inner_steps must be a positive integer; got {inner_steps!r}.")
    self.agents = list(agents)
    self.temperature = temperature
    self.step_size = float(step_size)
    self.inner_steps = int(inner_steps)
    self.log_path, self.save_dir = log_path, save_dir
    self.iteration = 0
    self._taus = [self._temperatures(a) for a in self.agents]

  def _temperatures(self, agent: FTAgent) -> jax.Array:
    f = self.temperature if callable(self.temperature) else self.temperature.__getitem__
    taus = np.array([float(f(s)) for s in agent.states])
    _validation.require_positive("temperature", taus)
    return jnp.asarray(taus, jnp.float32)

  def policies(self) -> List[jax.Array]:
    """Each agent's ``[P, K]`` candidate distribution."""
    return [jnp.exp(a.log_policy()) for a in self.agents]

  def step(self, advantage_fn: Callable[[List[jax.Array]], List[jax.Array]]) -> Dict:
    log_pis = [a.log_policy() for a in self.agents]
    advantages = advantage_fn([jnp.exp(l) for l in log_pis])
    record = {"iteration": self.iteration, "agents": []}
    for i, (agent, log_pi, adv, tau) in enumerate(zip(self.agents, log_pis, advantages, self._taus)):
      target = mirror_target(log_pi, agent.log_reference, np.asarray(adv, np.float32), tau,
                             np.full(tau.shape, self.step_size, np.float32),
                             mask=agent.batch.candidate_mask)
      m = ft_steps(agent.model, agent.optimizer, agent.batch, target, agent.log_reference, tau,
                   num_steps=self.inner_steps)
      skipped = int(m["skipped"])
      new = jnp.exp(agent.log_policy())
      record["agents"].append({
          "loss": float(m["loss"]), "kl_to_reference": float(m["kl_to_reference"]),
          "entropy": float(m["entropy"]), "temperature": float(m["temperature"]),
          "skipped_steps": skipped,
          "tv_to_target": float(0.5 * jnp.max(jnp.sum(jnp.abs(new - jnp.exp(target)), -1))),
          "policy": np.asarray(new).tolist()})
      if self.save_dir:
        from dice_jax.llm.lora import save_lora_adapter  # noqa: PLC0415
        save_lora_adapter(agent.model, os.path.join(self.save_dir, f"iter_{self.iteration}",
                                                    f"agent_{i}"))
    if self.log_path:
      with open(self.log_path, "a") as f:
        f.write(json.dumps(record) + "\n")
    self.iteration += 1
    return record

  def run(self, advantage_fn, iterations: int, *, progress: bool = False) -> List[Dict]:
    it = range(iterations)
    if progress:
      from tqdm import tqdm  # noqa: PLC0415
      it = tqdm(it, desc="DICE-FT")
    return [self.step(advantage_fn) for _ in it]
