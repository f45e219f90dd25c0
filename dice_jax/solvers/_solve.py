"""Public entry points: :func:`solve` (validated, batched) and :func:`solve_one` (traceable)."""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np

from dice_jax import _validation
from dice_jax.equilibrium.problem import HQREProblem
from dice_jax.equilibrium.response import normalize
from dice_jax.games.base import Game
from dice_jax.solvers.anderson import Anderson
from dice_jax.solvers.auto import Auto
from dice_jax.solvers.continuation import Continuation
from dice_jax.solvers.damped import Damped
from dice_jax.solvers.batching import map_batch
from dice_jax.solvers.engine import iterate
from dice_jax.solvers.mirror import Mirror
from dice_jax.solvers.optimistic import Extragradient, Optimistic
from dice_jax.solvers.solution import Solution

#: The solver classes by the ``method`` names :func:`solve` accepts.
METHODS = {
  "auto": Auto,
  "mirror": Mirror,
  "optimistic": Optimistic,
  "extragradient": Extragradient,
  "damped": Damped,
  "continuation": Continuation,
  "anderson": Anderson,
}

DEFAULT_MAX_STEPS = {Continuation: 2_000}


def default_tol(dtype) -> float:
  """``1e-8`` in float64, ``1e-5`` in float32 (a residual the precision can reach)."""
  return 1e-8 if jnp.finfo(dtype).bits >= 64 else 1e-5


def get_solver(method: Union[str, Any], methods=None):
  """A solver settings object from a name in ``methods`` (default :data:`METHODS`) or an
  instance (returned as is)."""
  methods = METHODS if methods is None else methods
  if isinstance(method, str):
    if method not in methods:
      raise ValueError(f"method must be one of {sorted(methods)}; got {method!r}.")
    return methods[method]()
  if not (
    hasattr(method, "check_every")
    and (hasattr(method, "solve") or all(hasattr(method, a) for a in ("init", "step")))
  ):
    raise ValueError(f"method must be a method name or a solver object; got {method!r}.")
  return method


def solve_one(
  game: Game,
  temperature,
  *,
  method: Any = "auto",
  log_reference=None,
  logits=None,
  tol=None,
  max_steps=None,
  history_length: Optional[int] = None,
) -> Solution:
  """Solve one (unbatched) game without host-side checks: jit- and vmap-safe.

  This is the building block :func:`solve` vmaps; use it inside your own ``jit``/``vmap``/
  ``grad``. ``temperature`` must have shape ``(N,)``; ``log_reference`` and ``logits`` are
  per-player log-probabilities (default uniform).
  """
  solver = get_solver(method)
  n = game.num_actions
  dtype = jnp.result_type(temperature)
  if log_reference is None:
    log_reference = tuple(jnp.full((k,), -math.log(k), dtype) for k in n)
  if logits is None:
    logits = log_reference
  problem = HQREProblem(game=game, temperature=temperature, log_reference=tuple(log_reference))
  tol = default_tol(dtype) if tol is None else tol
  max_steps = DEFAULT_MAX_STEPS.get(type(solver), 10_000) if max_steps is None else max_steps
  return iterate(
    solver,
    problem,
    normalize(tuple(logits)),
    tol=jnp.asarray(tol, dtype),
    max_steps=max_steps,
    history_length=history_length,
  )


def solve_batch(
  solver, game, temperature, log_reference, logits, tol, max_steps, *, history_length, batch_shape
):
  """:func:`solve_one` over the batch axes (:func:`dice_jax.solvers.batching.map_batch`: cache-
  sized vmapped chunks). Traceable; :func:`solve` compiles it once per shape."""
  fn = lambda g, t, lr, l: solve_one(
    g,
    t,
    method=solver,
    log_reference=lr,
    logits=l,
    tol=tol,
    max_steps=max_steps,
    history_length=history_length,
  )
  return map_batch(fn, (game, temperature, log_reference, logits), batch_shape)


_solve_jit = jax.jit(solve_batch, static_argnames=("history_length", "batch_shape"))


def budget(solver, tol, max_steps, history: bool, dtype):
  """``(tol, max_steps, history_length)``: validated, with the defaults (``default_tol``;
  10,000 steps, 2,000 for continuation) filled in."""
  if tol is not None:
    tol = _validation.positive_scalar("tol", tol)
  if max_steps is not None:
    max_steps = _validation.step_count("max_steps", max_steps)
  tol = default_tol(dtype) if tol is None else float(tol)
  max_steps = DEFAULT_MAX_STEPS.get(type(solver), 10_000) if max_steps is None else int(max_steps)
  history_length = -(-max_steps // int(solver.check_every)) if history else None
  return tol, max_steps, history_length


def log_distributions(
  name: str, value: Optional[Sequence], n_actions, leads, dtype, what: str = "agent"
):
  """``log`` of one validated distribution array per agent (``_validation.distribution``: the
  last axis has ``n_actions[i]`` entries, leading axes broadcast to ``leads[i]``, entries > 0 in
  ``dtype``), or ``None`` for ``None``. Concrete inputs stay NumPy arrays."""
  if value is None:
    return None
  items = _validation.per_player(name, value, len(n_actions), what)
  out = []
  for i, (p, k, lead) in enumerate(zip(items, n_actions, leads)):
    q = _validation.distribution(
      f"{name}[{i}]", p, k, lead, dtype=dtype, meaning=f"actions of {what} {i}"
    )
    out.append(np.log(q).astype(dtype) if _validation.is_concrete(q) else jnp.log(q).astype(dtype))
  return tuple(out)


def _solve_games(
  solver, game, logits, tol, max_steps, *, problem_type, options, history_length, batch_shape
):
  """One compiled solve of a batch of games of any family: ``problem_type(game=g, **options)``
  per game, :func:`iterate` from the normalised ``logits``, over the batch axes."""
  fn = lambda g, l: iterate(
    solver,
    problem_type(game=g, **dict(options)),
    normalize(tuple(l)),
    tol=tol,
    max_steps=max_steps,
    history_length=history_length,
  )
  return map_batch(fn, (game, tuple(logits)), batch_shape)


solve_games_jit = jax.jit(
  _solve_games, static_argnames=("problem_type", "options", "history_length", "batch_shape")
)


def solve_games(
  problem_type,
  game,
  *,
  method,
  methods,
  batch_shape,
  dtype,
  logits,
  options=(),
  tol=None,
  max_steps=None,
  history=False,
):
  """The shared host side of every family's ``solve_*``: solver, budget and the compiled call.

  Args:
    problem_type: the problem class (e.g. :class:`dice_jax.markov.MarkovProblem`).
    game: the (possibly batched) game.
    method, methods: a method name in ``methods`` (a registry) or a solver object.
    batch_shape, dtype: the game's batch axes and dtype.
    logits: the initial log-probabilities, per agent ``(*batch, *rows_i, n_i)``.
    options: static ``(name, value)`` pairs for ``problem_type`` (e.g. the convention).
    tol, max_steps, history: as for :func:`solve`.
  """
  solver = get_solver(method, methods)
  tol, max_steps, history_length = budget(solver, tol, max_steps, history, dtype)
  return solve_games_jit(
    solver,
    game,
    tuple(logits),
    np.asarray(tol, dtype),
    np.int32(max_steps),
    problem_type=problem_type,
    options=tuple(options),
    history_length=history_length,
    batch_shape=tuple(batch_shape),
  )


def solve(
  game: Game,
  temperature,
  *,
  method: Any = "auto",
  reference: Optional[Sequence] = None,
  init: Optional[Sequence] = None,
  tol: Optional[float] = None,
  max_steps: Optional[int] = None,
  history: bool = False,
) -> Solution:
  """Compute the HQRE ``x_i = softmax(log rho_i + v_i(x) / tau_i)`` of a game or a batch.

  With uniform ``reference`` and one temperature ``tau`` this is the logit QRE at
  ``lambda = 1 / tau`` (Gambit's ``logit_solve_lambda``; McKelvey & Palfrey, "Quantal Response
  Equilibria for Normal Form Games", GEB 1995). Inputs are checked on the host before any
  compilation; numerical trouble during the solve is reported per game in ``result``. The
  whole batch is one compiled call (``vmap`` of :func:`solve_one`); a second call with the same
  shapes, dtypes and method does not recompile, whatever the values of ``temperature``,
  ``reference``, ``init``, ``tol`` and ``max_steps``.

  Args:
    game: a game, e.g. :class:`dice_jax.NormalFormGame`, possibly with batch axes ``batch``.
    temperature: ``tau > 0``, broadcastable to ``(*batch, N)``: a scalar, one per player, or
      per game (``(*batch, 1)``) and player.
    method: ``"auto"`` (default: :class:`dice_jax.solvers.Auto` -- mirror where the vertex
      bound certifies a unique HQRE, continuation along the principal branch otherwise or
      when mirror stalls, so the answer is Gambit's ``logit_solve_lambda`` QRE either way),
      ``"mirror"``, ``"optimistic"``, ``"extragradient"``, ``"damped"``, ``"continuation"``,
      or a solver object such as ``Mirror(step_size=0.5)``. ``Solution.method`` records
      which method produced each game's profile.
    reference: optional reference policies ``rho_i`` (strictly positive distributions), one
      per player, each broadcastable to ``(*batch, n_i)``; default uniform.
    init: optional initial profile (distributions, as ``reference``); default ``reference``.
      Continuation ignores it (its path starts at the reference).
    tol: residual tolerance; default ``1e-8`` (float64) or ``1e-5`` (float32).
    max_steps: step budget per game; default 10,000 (2,000 for continuation; with
      ``"auto"`` each of its two phases gets the budget).
    history: also return the residual at every convergence check.

  Returns:
    A :class:`Solution` whose fields carry the batch axes.

  Raises:
    TypeError: naming the argument, for values of the wrong kind (text, ``None``, complex
      numbers, an array where a scalar belongs).
    ValueError: naming the argument, for wrong shapes (a reference or init must have exactly
      ``n_i`` entries per player), non-finite values, temperatures ``<= 0``, references that
      are not distributions, values that overflow or vanish in the game's dtype, ``max_steps``
      beyond ``2**31 - 1``, or an unknown method.

  Example:
    >>> import dice_jax
    >>> sol = dice_jax.solve(dice_jax.games.matching_pennies(), 0.5)
    >>> [p.round(3).tolist() for p in sol.probabilities], sol.result_names().item()
    ([[0.5, 0.5], [0.5, 0.5]], 'converged')
  """
  args, static = prepare(
    game,
    temperature,
    method=method,
    reference=reference,
    init=init,
    tol=tol,
    max_steps=max_steps,
    history=history,
  )
  return _solve_jit(*args, **static)


def prepare(
  game: Game,
  temperature,
  *,
  method: Any = "auto",
  reference: Optional[Sequence] = None,
  init: Optional[Sequence] = None,
  tol: Optional[float] = None,
  max_steps: Optional[int] = None,
  history: bool = False,
):
  """Validate and broadcast :func:`solve`'s arguments on the host (no compilation): the checks
  :func:`solve` runs before its compiled call, raising the same errors.

  Returns ``(args, static)``: ``args`` are the solver, the game, temperatures ``(*batch, N)``,
  log-references and initial logits ``(*batch, n_i)``, the tolerance and the step budget;
  ``static`` holds ``history_length`` and ``batch_shape``. :func:`solve` is
  ``jax.jit(solve_batch, static_argnames=tuple(static))(*args, **static)``.
  """
  n_actions, batch, dtype, temperature = _validation.game_and_temperature(game, temperature)
  solver = get_solver(method)

  log_profile = lambda name, value: log_distributions(
    name, value, n_actions, [batch] * len(n_actions), dtype, "player"
  )

  log_reference = log_profile("reference", reference)
  if log_reference is None:
    log_reference = tuple(np.full((*batch, k), -math.log(k), dtype) for k in n_actions)
  logits = log_profile("init", init)
  if logits is None:
    logits = log_reference
  tol, max_steps, history_length = budget(solver, tol, max_steps, history, dtype)
  return (
    (solver, game, temperature, log_reference, logits, np.asarray(tol, dtype), np.int32(max_steps)),
    dict(history_length=history_length, batch_shape=batch),
  )
