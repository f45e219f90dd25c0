"""Where DICE-PC's roles act: the game's description, the synthetic suites, the LLM protocol."""

from dice_jax.pc.environments.llm import CONTROLS, DEFAULT_ROLES, ROLES, Control, LLMEnvironment
from dice_jax.pc.environments.spec import CoordinationSpec, Environment, Outcome, Role, payoffs
from dice_jax.pc.environments.synthetic import SyntheticEnvironment, drift_suite, oscillation_suite

__all__ = [
  "CONTROLS",
  "Control",
  "CoordinationSpec",
  "DEFAULT_ROLES",
  "Environment",
  "LLMEnvironment",
  "Outcome",
  "ROLES",
  "Role",
  "SyntheticEnvironment",
  "drift_suite",
  "oscillation_suite",
  "payoffs",
]
