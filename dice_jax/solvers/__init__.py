"""HQRE solvers on one loop engine, and the public ``solve`` entry points."""

from dice_jax.solvers.anderson import Anderson
from dice_jax.solvers.auto import Auto
from dice_jax.solvers.continuation import Continuation
from dice_jax.solvers.damped import Damped
from dice_jax.solvers.engine import iterate
from dice_jax.solvers.method_code import METHOD
from dice_jax.solvers.mirror import Mirror, mirror_update
from dice_jax.solvers.optimistic import Extragradient, Optimistic
from dice_jax.solvers.result import RESULT
from dice_jax.solvers.solution import Solution
from dice_jax.solvers._solve import METHODS, prepare, solve, solve_batch, solve_one
from dice_jax.solvers.sharded import default_mesh, solve_sharded

__all__ = [
  "Anderson",
  "Auto",
  "METHOD",
  "Continuation",
  "Damped",
  "Extragradient",
  "Mirror",
  "Optimistic",
  "RESULT",
  "Solution",
  "METHODS",
  "default_mesh",
  "solve_sharded",
  "iterate",
  "mirror_update",
  "prepare",
  "solve",
  "solve_batch",
  "solve_one",
]
