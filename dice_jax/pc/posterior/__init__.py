"""DICE-PC's beliefs about the payoffs: a Beta-Bernoulli posterior per state and joint action."""

from dice_jax.pc.posterior.beta_bernoulli import PayoffPosterior, task_states

__all__ = ["PayoffPosterior", "task_states"]
