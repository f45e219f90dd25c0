"""Markov and incomplete-information games: tabular discounted Markov games with agent- and
state-dependent temperatures, exact regularised policy evaluation, policy mirror descent,
policy extragradient and temperature continuation (DESIGN §6)."""
from dice_jax.markov.evaluation import CONVENTIONS, Evaluation, evaluate
from dice_jax.markov.game import MarkovGame
from dice_jax.markov.solve import METHODS, solve_markov, solve_markov_one
from dice_jax.markov.solvers import (MarkovProblem, MarkovSolution, PolicyExtragradient,
                                     PolicyMirror, TemperatureContinuation)

__all__ = ["CONVENTIONS", "Evaluation", "MarkovGame", "MarkovProblem", "MarkovSolution",
           "METHODS", "PolicyExtragradient", "PolicyMirror", "TemperatureContinuation",
           "evaluate", "solve_markov", "solve_markov_one"]
