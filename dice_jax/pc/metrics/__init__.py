"""DICE-PC's measures: equilibrium and hindsight regret, oscillation, drift, monotonicity."""

from dice_jax.pc.metrics.measures import (
  HindsightTracker,
  distance,
  equilibrium_gaps,
  equilibrium_regret,
  expected_team_payoff,
  hindsight_regret,
  importance_weighted_utilities,
  joint_distribution,
  monotonicity_diagnostic,
  oscillation_index,
  slope_ratio,
  step_metrics,
  team_payoffs,
)

__all__ = [
  "HindsightTracker",
  "distance",
  "equilibrium_gaps",
  "equilibrium_regret",
  "expected_team_payoff",
  "hindsight_regret",
  "importance_weighted_utilities",
  "joint_distribution",
  "monotonicity_diagnostic",
  "oscillation_index",
  "slope_ratio",
  "step_metrics",
  "team_payoffs",
]
