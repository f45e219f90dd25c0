"""DICE-PC: coordinate frozen LLM agents through prompt-control actions (DESIGN §7)."""
from dice_jax.pc.environment import CoordinationSpec, Environment, Outcome, Task, payoffs

__all__ = ["CoordinationSpec", "Environment", "Outcome", "Task", "payoffs"]
