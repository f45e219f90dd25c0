# ruff: noqa: E402  (the XLA workaround must run before the imports below)
"""dice_jax: batched, jit-compiled heterogeneous quantal response equilibria in JAX.

The HQRE of a game with temperatures ``tau_i`` and reference policies ``rho_i`` is the profile
with ``x_i = softmax(log rho_i + v_i(x) / tau_i)`` for every player (DESIGN §3).
"""

from dice_jax import xla_workarounds

xla_workarounds.apply()  # before any JAX computation: XLA reads XLA_FLAGS once

from dice_jax import certify, equilibrium, games, markov, solvers
from dice_jax.certify import Certificate
from dice_jax.equilibrium import HQREProblem
from dice_jax.games import NormalFormGame, read_nfg, write_nfg
from dice_jax.markov import MarkovGame, solve_markov
from dice_jax.solvers import (
  RESULT,
  Anderson,
  Continuation,
  Damped,
  Extragradient,
  Mirror,
  Optimistic,
  Solution,
  solve,
  solve_one,
  solve_sharded,
)

__version__ = "0.1.0"

__all__ = [
  "Anderson",
  "Certificate",
  "Continuation",
  "Damped",
  "Extragradient",
  "HQREProblem",
  "MarkovGame",
  "Mirror",
  "NormalFormGame",
  "Optimistic",
  "RESULT",
  "Solution",
  "certify",
  "equilibrium",
  "games",
  "markov",
  "read_nfg",
  "solve",
  "solve_markov",
  "solve_one",
  "solve_sharded",
  "solvers",
  "write_nfg",
]
