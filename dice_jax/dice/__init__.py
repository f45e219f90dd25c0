"""DICE algorithms on LLM agents: DICE-FT (mirror fine-tuning of LoRA adapters toward the HQRE)."""
from dice_jax.dice.agents import shared_lora_agents, shares_base
from dice_jax.dice.candidates import CandidateBatch, make_candidate_batch
from dice_jax.dice.ft_loop import DiceFT, FTAgent, normal_form_advantages
from dice_jax.dice.ft_step import (candidate_log_policy, ft_step, ft_steps, log_policy,
                                   make_ft_optimizer, split_adapters)
from dice_jax.dice.mirror_target import mirror_target
from dice_jax.dice.rollouts import (Candidate, SampledCandidates, Sampling, joint_advantages,
                                    sample_candidates)
from dice_jax.dice.sft_step import sft_steps

__all__ = ["Candidate", "CandidateBatch", "DiceFT", "FTAgent", "SampledCandidates", "Sampling",
           "candidate_log_policy", "ft_step", "ft_steps", "joint_advantages", "log_policy",
           "make_candidate_batch", "make_ft_optimizer", "mirror_target", "normal_form_advantages",
           "sample_candidates", "sft_steps", "shared_lora_agents", "shares_base",
           "split_adapters"]
