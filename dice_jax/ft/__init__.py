"""DICE-FT: mirror fine-tuning of LoRA agents toward the HQRE (DESIGN §3, §7).

Layers, one sub-package each:

* :mod:`~dice_jax.ft.target` -- what each iteration asks for: the mirror target
  (:func:`mirror_target`, the solver's own mirror step) and the advantages of candidates from
  the agents' joint outcome (:func:`joint_advantages`, :func:`normal_form_advantages`).
* :mod:`~dice_jax.ft.policies` -- the LoRA policies and how they are fitted: candidate batches
  (:class:`CandidateBatch`), the KL-projection step (:func:`ft_step`, :func:`ft_steps`), the SFT
  and policy-gradient baseline steps (:func:`sft_steps`, :func:`pg_steps` with
  :func:`rloo_advantages`), agents sharing one frozen base
  (:func:`shared_lora_agents`).
* :mod:`~dice_jax.ft.harness` -- the loop (:class:`DiceFT`, :class:`FTAgent`).

Candidates are drawn by the shared sampler (:func:`dice_jax.rollouts.sample_candidates`); tasks,
checkers, temperatures and token costs come from :mod:`dice_jax.rollouts`.
"""

from dice_jax.ft.harness.loop import DiceFT, FTAgent
from dice_jax.ft.policies.agents import shared_lora_agents, shares_base
from dice_jax.ft.policies.candidates import CandidateBatch, make_candidate_batch
from dice_jax.ft.policies.ft_step import (
  candidate_log_policy,
  ft_step,
  ft_steps,
  log_policy,
  make_ft_optimizer,
  replicate_model,
  split_adapters,
)
from dice_jax.ft.policies.pg_step import pg_steps, rloo_advantages
from dice_jax.ft.policies.sft_step import sft_steps
from dice_jax.ft.target.advantages import joint_advantages, normal_form_advantages
from dice_jax.ft.target.mirror_target import mirror_target

__all__ = [
  "CandidateBatch",
  "DiceFT",
  "FTAgent",
  "candidate_log_policy",
  "ft_step",
  "ft_steps",
  "joint_advantages",
  "log_policy",
  "make_candidate_batch",
  "make_ft_optimizer",
  "mirror_target",
  "normal_form_advantages",
  "pg_steps",
  "sft_steps",
  "shared_lora_agents",
  "replicate_model",
  "rloo_advantages",
  "shares_base",
  "split_adapters",
]
