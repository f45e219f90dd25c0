r"""Implicit differentiation of the HQRE with respect to payoffs, temperatures and references.

The HQRE in log space is the zero of the optimality function (the same one
:class:`dice_jax.solvers.Continuation` traces)

    H(y; theta) = y - log b(x(y); theta),   x_i(y) = softmax(y_i),
    log b_i = log_softmax(log rho_i + v_i(x) / tau_i),          theta = (U, tau, log rho).

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

Only reverse mode (``jax.grad``, ``jax.vjp``) is defined (a ``custom_vjp``); ``jax.vmap`` works.
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp

from dice_jax.certify._tangent import flatten_profile, split_profile
from dice_jax.equilibrium.response import normalize


def optimality(y: jax.Array, game, temperature: jax.Array, log_reference) -> jax.Array:
  """``H(y; theta) = y - log b(softmax(y))`` for the concatenated log-probabilities ``y``."""
  num_actions = tuple(game.num_actions)
  logits = normalize(split_profile(y, num_actions))
  v = game.utilities(tuple(jnp.exp(l) for l in logits))
  lb = [jax.nn.log_softmax(lr + vi / temperature[i], axis=-1)
        for i, (vi, lr) in enumerate(zip(v, log_reference))]
  return y - jnp.concatenate(lb, axis=-1)


def hqre_logits(game, temperature, log_reference: Optional[Sequence] = None, *,
                method: Any = "mirror", tol: Optional[float] = None,
                max_steps: Optional[int] = None) -> Tuple[jax.Array, ...]:
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
  if tol is None:
    tol = 1e-12 if jnp.finfo(dtype).bits >= 64 else 1e-6

  @jax.custom_vjp
  def solve(game, tau, lr):
    sol = solve_one(game, tau, method=method, log_reference=lr, tol=tol, max_steps=max_steps)
    return flatten_profile(sol.logits)

  def fwd(game, tau, lr):
    y = solve(game, tau, lr)
    return y, (y, game, tau, lr)

  def bwd(res, g):
    y, game, tau, lr = res
    jac = jax.jacfwd(lambda z: optimality(z, game, tau, lr))(y)
    lam = jnp.linalg.solve(jac.T, g)
    _, vjp = jax.vjp(lambda ga, t, l: optimality(y, ga, t, l), game, tau, lr)
    return vjp(-lam)

  solve.defvjp(fwd, bwd)
  return split_profile(solve(game, temperature, log_reference), num_actions)


def hqre_probabilities(game, temperature, log_reference=None, **kwargs) -> Tuple[jax.Array, ...]:
  """``x*`` (probabilities) with implicit gradients; see :func:`hqre_logits`."""
  return tuple(jnp.exp(l) for l in hqre_logits(game, temperature, log_reference, **kwargs))
