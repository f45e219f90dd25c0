"""Markov and incomplete-information games (DESIGN §6).

* :class:`MarkovGame` -- tabular discounted N-agent Markov games with temperatures
  ``tau_i(s)`` and references ``rho_i(.|s)``; :func:`evaluate` -- exact regularised policy
  evaluation (one linear solve of size S), Q-values, per-state residual and gap under the value
  conventions ``own`` / ``zero_sum`` / ``logit``.
* :class:`MarkovProblem`, :class:`BayesianProblem`, :class:`ObservationProblem` -- the games
  in the solvers' problem protocol (:mod:`dice_jax.solvers.protocol`): every solver of
  :mod:`dice_jax.solvers` runs on each; no solver loop lives here.
* :func:`solve_markov` -- validated, batched entry point; returns a :class:`MarkovSolution` (a
  :class:`dice_jax.solvers.Solution` that records its convention and values).
* :mod:`~dice_jax.markov.bayesian` -- one-shot Bayesian games (types, common prior,
  type-dependent temperatures); :mod:`~dice_jax.markov.observation` -- observation-conditioned
  policies; :mod:`~dice_jax.markov.diagnostics` -- per-state stage-game monotonicity;
  :mod:`~dice_jax.markov.io` -- the JSON format of ``dice-jax solve-markov``.
"""

from dice_jax.markov.bayesian import BayesianGame, BayesianProblem, solve_bayesian
from dice_jax.markov.diagnostics import StageMonotonicity, stage_monotonicity
from dice_jax.markov.evaluation import CONVENTIONS, Evaluation, evaluate
from dice_jax.markov.game import MarkovGame
from dice_jax.markov.io import read_game, write_game
from dice_jax.markov.observation import ObservationGame, ObservationProblem, solve_observation
from dice_jax.markov.problem import MarkovProblem, MarkovSolution
from dice_jax.markov.solve import METHODS, solve_markov, solve_markov_one

__all__ = [
  "BayesianGame",
  "BayesianProblem",
  "CONVENTIONS",
  "Evaluation",
  "MarkovGame",
  "MarkovProblem",
  "MarkovSolution",
  "METHODS",
  "ObservationGame",
  "ObservationProblem",
  "StageMonotonicity",
  "evaluate",
  "read_game",
  "solve_bayesian",
  "solve_markov",
  "solve_markov_one",
  "solve_observation",
  "stage_monotonicity",
  "write_game",
]
