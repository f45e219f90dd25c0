"""DICE-PC and its baselines behind one :class:`Policy` interface."""

from dice_jax.pc.policies.policies import (
  POLICIES,
  BestOfN,
  BestResponseDynamics,
  Decision,
  DICEPC,
  FictitiousPlay,
  IndependentLearners,
  Policy,
  UniformPolicy,
  make_policy,
  sample_actions,
)

__all__ = [
  "BestOfN",
  "BestResponseDynamics",
  "DICEPC",
  "Decision",
  "FictitiousPlay",
  "IndependentLearners",
  "POLICIES",
  "Policy",
  "UniformPolicy",
  "make_policy",
  "sample_actions",
]
