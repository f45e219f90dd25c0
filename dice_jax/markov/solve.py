"""Entry points: :func:`solve_markov` (validated, batched, jitted) and :func:`solve_markov_one`."""

from __future__ import annotations

import functools
from typing import Any, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np

from dice_jax.markov import evaluation as ev
from dice_jax.markov.game import MarkovGame
from dice_jax.markov.problem import MarkovProblem, MarkovSolution
from dice_jax.solvers import Anderson, Auto, Continuation, Damped, Extragradient, Mirror, Optimistic
from dice_jax.solvers._solve import default_tol, log_distributions, solve_games
from dice_jax.solvers._solve import get_solver as _get_solver
from dice_jax.solvers.engine import iterate

#: The solvers of :mod:`dice_jax.solvers` by the ``method`` names :func:`solve_markov` accepts,
#: with Markov defaults (measured: see :func:`solve_markov`).
METHODS = {
  "auto": functools.partial(Auto, first_order=Extragradient(step_scale=0.25)),
  "mirror": functools.partial(Mirror, growth=1.05),
  "optimistic": functools.partial(Optimistic, step_scale=0.25),
  "extragradient": functools.partial(Extragradient, step_scale=0.25),
  "damped": Damped,
  "continuation": Continuation,
  "anderson": Anderson,
}


def get_solver(method: Union[str, Any]):
  """A solver from a name in :data:`METHODS` or a solver object (returned as is)."""
  return _get_solver(method, METHODS)


def solve_markov_one(
  game: MarkovGame,
  *,
  method: Any = "auto",
  convention: str = "own",
  logits=None,
  tol=None,
  max_steps=10_000,
  history_length: Optional[int] = None,
) -> MarkovSolution:
  """Solve one unbatched Markov game without host checks (jit/vmap-safe); see :func:`solve_markov`."""
  solver = get_solver(method)
  ev.check_convention(convention)
  dtype = game.dtype
  if logits is None:
    logits = game.log_reference
  logits = tuple(jax.nn.log_softmax(l, axis=-1) for l in logits)
  tol = default_tol(dtype) if tol is None else tol
  return iterate(
    solver,
    MarkovProblem(game=game, convention=convention),
    logits,
    tol=jnp.asarray(tol, dtype),
    max_steps=max_steps,
    history_length=history_length,
  )


def check_zero_sum(game: MarkovGame, *, atol: float = 1e-12) -> None:
  """Raise ``ValueError`` unless ``game`` has two agents with ``R_2 = -R_1`` (``zero_sum``)."""
  if game.num_agents != 2:
    raise ValueError(f"convention 'zero_sum' needs two agents; the game has {game.num_agents}.")
  r1, r2 = np.asarray(game.rewards[0]), np.asarray(game.rewards[1])
  scale = max(1.0, float(np.max(np.abs(r1))) if r1.size else 1.0)
  if np.max(np.abs(r1 + r2)) > atol * scale:
    raise ValueError(
      "convention 'zero_sum' needs rewards[1] == -rewards[0]; they differ by "
      f"{np.max(np.abs(r1 + r2)):.3g}."
    )


def solve_markov(
  game: MarkovGame,
  *,
  method: Any = None,
  convention: str = "own",
  init: Optional[Sequence] = None,
  tol: Optional[float] = None,
  max_steps: Optional[int] = None,
  history: bool = False,
) -> MarkovSolution:
  """Compute the Markov HQRE ``pi_i(.|s) = softmax(log rho_i(.|s) + Q_i(s, .) / tau_i(s))``.

  ``Q`` is the exact regularised action value of the profile under ``convention``
  (:mod:`dice_jax.markov.evaluation`, DESIGN §6). A batch of games is one compiled call; one
  game's numerical trouble is reported in its own ``result`` code.

  Args:
    game: a :class:`MarkovGame` (from :meth:`MarkovGame.from_arrays`), possibly batched.
    method: ``"auto"`` (default: extragradient where the contraction bound of
      :mod:`dice_jax.certify.markov` certifies a unique HQRE, continuation along the principal
      branch from ``tau = infinity`` otherwise or when extragradient stalls), ``"mirror"``
      (policy mirror descent, step growth 1.05), ``"extragradient"`` (Cen, Wei & Chi 2021,
      ``eta = 1 / (4 min tau)``; it converges linearly on zero-sum games, and on general-sum
      games it may cycle: ``benchmarks/markov_batched.py`` measures both it and ``auto``),
      ``"optimistic"``, ``"damped"``, ``"continuation"`` (the solvers of
      :mod:`dice_jax.solvers`, see :data:`METHODS`), or a solver object.
    convention: ``"own"`` (default), ``"zero_sum"`` (two agents, ``R_2 = -R_1``) or ``"logit"``.
    init: optional initial policies, one per agent, broadcastable to ``(*batch, S, n_i)``,
      strictly positive distributions; default the reference policies.
    tol: residual tolerance; default ``1e-8`` (float64) or ``1e-5`` (float32).
    max_steps: step budget per game (default 10,000; 2,000 for continuation).
    history: also return the residual at every convergence check.

  Returns:
    A :class:`MarkovSolution` (a :class:`dice_jax.solvers.Solution` with ``values``,
    ``state_residual``, ``state_gaps`` and ``convention``).

  Raises:
    ValueError: naming the argument: ``game`` not a :class:`MarkovGame`, unknown ``method`` or
      ``convention``, ``zero_sum`` on a game that is not two-player zero-sum, bad ``init``,
      ``tol`` or ``max_steps``.

  Example:
    >>> import numpy as np
    >>> g = MarkovGame.from_arrays(np.full((2, 2, 2, 2), 0.5),
    ...                            [np.ones((2, 2, 2)), np.zeros((2, 2, 2))], 0.9,
    ...                            temperature=1.0)
    >>> sol = solve_markov(g)
    >>> sol.result_names().item(), np.round(np.asarray(sol.probabilities[0]), 3).tolist()
    ('converged', [[0.5, 0.5], [0.5, 0.5]])
  """
  if not isinstance(game, MarkovGame):
    raise ValueError(f"game must be a MarkovGame; got {type(game).__name__}.")
  if method is None:
    method = "auto"
  get_solver(method)
  ev.check_convention(convention)
  if convention == "zero_sum":
    check_zero_sum(game)
  batch, dtype = game.batch_shape, game.dtype
  logits = log_distributions(
    "init", init, game.num_actions, [(*batch, game.num_states)] * game.num_agents, dtype
  )
  return solve_games(
    MarkovProblem,
    game,
    method=method,
    methods=METHODS,
    batch_shape=batch,
    dtype=dtype,
    logits=game.log_reference if logits is None else logits,
    options=(("convention", convention),),
    tol=tol,
    max_steps=max_steps,
    history=history,
  )
