r"""Implicit differentiation of the HQRE of any game family with respect to its data.

The HQRE in log space is the zero of the optimality function
(:func:`dice_jax.equilibrium.residual.optimality`, the one :class:`dice_jax.solvers.Continuation`
traces), defined for every problem of :mod:`dice_jax.solvers.protocol`:

    H(y; theta) = y - log b(x(y); theta),   x_r(y) = softmax(y_r) for every row r,
    log b_r = log_softmax(log rho_r + v_r(x) / tau_r),

``theta`` every array of the problem: payoffs, temperatures and references of a normal-form
game; rewards, transitions, temperatures and references of a Markov game (``v`` = ``Q``, under
each value convention); prior, payoffs, temperatures and references of a Bayesian game.
:func:`implicit_logits` is the one ``custom_vjp``; :func:`hqre_logits`, :func:`markov_logits`
and :func:`bayesian_logits` are its family front-ends.

At the solution ``y* = log x*`` (normalised), the implicit function theorem gives
``dy*/dtheta = -(dH/dy)^{-1} dH/dtheta``, so a vector-Jacobian product costs one dense solve
with ``(dH/dy)^T`` (size ``D = sum n_i``) and one VJP of ``H`` in ``theta`` — independent of how
many solver steps the forward pass took (Krantz & Parks, *The Implicit Function Theorem*,
2002; Blondel et al., "Efficient and Modular Implicit Differentiation", NeurIPS 2022, the idea
behind jaxopt's ``custom_fixed_point``).

**When it is well defined.** ``dH/dy = I - D_b W J D_x`` with ``D_x = diag(x) - x x^T`` (the
softmax Jacobian, per player), ``D_b = I - 1 x^T`` (the log-softmax Jacobian at ``b = x``),
``W = diag(1 / tau)`` and ``J = dV/dx``. Along a player's all-ones direction ``dH/dy`` is the
identity (``D_x 1 = 0``). Suppose ``(dH/dy) u = 0`` and let ``w = D_x u`` (a tangent vector).
Since ``D_x D_b = D_x``, ``w = D_x W J w``; as ``D_x`` is positive definite on ``T`` with
``<w, D_x^+ w> = sum_a w_a^2 / x_a >= ||w||_2^2``, taking the inner product with ``D_x^+ w`` gives
``||w||^2 <= <w, D_x^+ w> = <w, W J w> <= alpha_W ||w||^2``. If ``mu_W = 1 - alpha_W > 0`` then
``w = 0``, hence ``u = D_b W J w = 0``: ``dH/dy`` is invertible. (Multiplying by ``tau`` instead
gives the same conclusion from ``mu = min tau - alpha > 0``.) So a certificate
(:func:`dice_jax.certify.certify`) guarantees exact, finite gradients; without one, at a
bifurcation of the QRE correspondence ``dH/dy`` is singular and the gradient is not finite.
For Markov and Bayesian games the same argument holds row by row with ``J`` the Jacobian of the
stacked ``Q`` (or interim utility) vectors; ``dH/dy`` is invertible wherever the equilibrium is
isolated and regular (checked by the tests against central differences).

Only reverse mode (``jax.grad``, ``jax.vjp``) is defined (a ``custom_vjp``); ``jax.vmap`` works.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from dice_jax.equilibrium.problem import HQREProblem
from dice_jax.equilibrium.residual import optimality as problem_optimality


def implicit_logits(problem, solve: Callable[[Any], Sequence[jax.Array]]) -> Tuple[jax.Array, ...]:
  """``solve(problem)`` (the HQRE's normalised log-probabilities per agent) with gradients with
  respect to every floating array of ``problem`` by the implicit function theorem.

  Args:
    problem: one unbatched problem (:mod:`dice_jax.solvers.protocol`).
    solve: maps the problem to its HQRE logits (e.g. a solver run); never differentiated.

  Returns:
    Per agent ``log x*_i``, shape ``(*rows_i, n_i)``. The backward pass costs one Jacobian of
    :func:`dice_jax.equilibrium.residual.optimality` (size ``D = sum_i rows_i n_i``), one dense
    solve with its transpose and one VJP in the problem's arrays.
  """
  _, unravel = ravel_pytree(tuple(problem.log_reference))

  @jax.custom_vjp
  def run(problem):
    y, _ = ravel_pytree(tuple(solve(problem)))
    return y

  def fwd(problem):
    y = run(problem)
    return y, (y, problem)

  def bwd(res, g):
    y, problem = res
    jac = jax.jacfwd(lambda z: problem_optimality(problem, z))(y)
    lam = jnp.linalg.solve(jac.T, g)
    _, vjp = jax.vjp(lambda p: problem_optimality(p, y), problem)
    return vjp(-lam)

  run.defvjp(fwd, bwd)
  return tuple(unravel(run(problem)))


def optimality(y: jax.Array, game, temperature: jax.Array, log_reference) -> jax.Array:
  """``H(y; theta) = y - log b(softmax(y))`` of a normal-form problem, for the concatenated
  log-probabilities ``y``."""
  return problem_optimality(
    HQREProblem(game=game, temperature=temperature, log_reference=tuple(log_reference)), y
  )


def hqre_logits(
  game,
  temperature,
  log_reference: Optional[Sequence] = None,
  *,
  method: Any = "mirror",
  tol: Optional[float] = None,
  max_steps: Optional[int] = None,
) -> Tuple[jax.Array, ...]:
  """The HQRE ``log x*`` of one (unbatched) game, differentiable by implicit differentiation.

  Args:
    game: a game pytree (e.g. an unbatched :class:`dice_jax.NormalFormGame`); its array leaves
      (the payoffs) receive gradients.
    temperature: ``(N,)`` temperatures.
    log_reference: per-player log reference policies (default uniform); receive gradients.
    method, max_steps: as in :func:`dice_jax.solve_one`.
    tol: forward residual tolerance; default ``1e-12`` (float64) or ``1e-6`` (float32), since
      the gradient's error is proportional to the residual.

  Returns:
    Per player the normalised log-probabilities ``log x*_i``.

  Example:
    >>> import jax, jax.numpy as jnp, dice_jax
    >>> g = dice_jax.games.prisoners_dilemma(dtype=jnp.float32)
    >>> f = lambda t: jnp.exp(hqre_logits(g, t)[0][0])  # P(cooperate)
    >>> bool(jax.grad(f)(jnp.array([2.0, 2.0], jnp.float32))[0] > 0)
    True

  See the module docstring for the mathematics and when the gradient exists.
  """
  from dice_jax.solvers._solve import solve_one  # noqa: PLC0415 - avoid an import cycle

  num_actions = tuple(game.num_actions)
  temperature = jnp.asarray(temperature)
  dtype = temperature.dtype
  if log_reference is None:
    log_reference = tuple(jnp.full((n,), -math.log(n), dtype) for n in num_actions)
  log_reference = tuple(jnp.asarray(l, dtype) for l in log_reference)
  tol = _tol(dtype) if tol is None else tol
  problem = HQREProblem(game=game, temperature=temperature, log_reference=log_reference)
  return implicit_logits(
    problem,
    lambda p: (
      solve_one(
        p.game,
        p.temperature,
        method=method,
        log_reference=p.log_reference,
        tol=tol,
        max_steps=max_steps,
      ).logits
    ),
  )


def _tol(dtype) -> float:
  return 1e-12 if jnp.finfo(dtype).bits >= 64 else 1e-6


def markov_logits(
  game,
  *,
  convention: str = "own",
  method: Any = "extragradient",
  tol: Optional[float] = None,
  max_steps: int = 100_000,
) -> Tuple[jax.Array, ...]:
  """The Markov HQRE ``log pi*`` of one unbatched :class:`dice_jax.markov.MarkovGame`, with
  implicit gradients with respect to rewards, transitions, temperatures, references (and
  ``gamma``). ``method`` and ``max_steps`` as for :func:`dice_jax.markov.solve_markov`;
  ``tol`` as for :func:`hqre_logits`. Per agent ``(S, n_i)``."""
  from dice_jax.markov.problem import MarkovProblem  # noqa: PLC0415 - markov imports certify
  from dice_jax.markov.solve import solve_markov_one  # noqa: PLC0415

  tol = _tol(game.dtype) if tol is None else tol
  return implicit_logits(
    MarkovProblem(game=game, convention=convention),
    lambda p: (
      solve_markov_one(
        p.game, method=method, convention=convention, tol=tol, max_steps=max_steps
      ).logits
    ),
  )


def bayesian_logits(
  game, *, method: Any = "extragradient", tol: Optional[float] = None, max_steps: int = 100_000
) -> Tuple[jax.Array, ...]:
  """The HQRE ``log x*`` of one unbatched :class:`dice_jax.markov.BayesianGame`, with implicit
  gradients with respect to the prior, payoffs, temperatures and references. Per agent
  ``(T_i, n_i)``."""
  from dice_jax.markov.bayesian import BayesianProblem, METHODS  # noqa: PLC0415
  from dice_jax.solvers._solve import get_solver  # noqa: PLC0415
  from dice_jax.solvers.engine import iterate  # noqa: PLC0415

  tol = _tol(game.dtype) if tol is None else tol
  solver = get_solver(method, METHODS)
  return implicit_logits(
    BayesianProblem(game=game),
    lambda p: (
      iterate(
        solver, p, tuple(p.log_reference), tol=jnp.asarray(tol, game.dtype), max_steps=max_steps
      ).logits
    ),
  )


def hqre_probabilities(game, temperature, log_reference=None, **kwargs) -> Tuple[jax.Array, ...]:
  """``x*`` (probabilities) with implicit gradients; see :func:`hqre_logits`."""
  return tuple(jnp.exp(l) for l in hqre_logits(game, temperature, log_reference, **kwargs))
