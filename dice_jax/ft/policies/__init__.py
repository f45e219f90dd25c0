"""DICE-FT's LoRA policies: candidate batches, the KL-projection and SFT steps, shared bases."""

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

__all__ = [
  "CandidateBatch",
  "candidate_log_policy",
  "ft_step",
  "ft_steps",
  "log_policy",
  "make_candidate_batch",
  "make_ft_optimizer",
  "pg_steps",
  "sft_steps",
  "shared_lora_agents",
  "replicate_model",
  "rloo_advantages",
  "shares_base",
  "split_adapters",
]
