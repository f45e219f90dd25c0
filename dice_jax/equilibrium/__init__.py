"""Equilibrium primitives shared by every solver: responses, residual, gap, the problem type."""

from dice_jax.equilibrium.problem import HQREProblem
from dice_jax.equilibrium.residual import fixed_point_residual, regularised_gap
from dice_jax.equilibrium.response import (
  log_logit_response,
  normalize,
  probabilities,
  uniform_logits,
)

__all__ = [
  "HQREProblem",
  "fixed_point_residual",
  "regularised_gap",
  "log_logit_response",
  "normalize",
  "probabilities",
  "uniform_logits",
]
