"""DICE algorithms on LLM agents: DICE-FT (mirror fine-tuning of LoRA adapters toward the HQRE)."""
from dice_jax.dice.candidates import CandidateBatch, make_candidate_batch
from dice_jax.dice.ft_loop import DiceFT, FTAgent
from dice_jax.dice.ft_step import candidate_log_policy, ft_step, ft_steps, make_ft_optimizer
from dice_jax.dice.mirror_target import mirror_target

__all__ = ["CandidateBatch", "DiceFT", "FTAgent", "candidate_log_policy", "ft_step", "ft_steps",
           "make_candidate_batch", "make_ft_optimizer", "mirror_target"]
