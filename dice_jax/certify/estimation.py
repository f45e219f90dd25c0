"""QRE estimation: fit temperatures (and optionally payoff parameters) to observed play by
maximum likelihood, with implicit gradients through the equilibrium and optax's L-BFGS.

Given action counts ``c_i[a]`` of every player, the log-likelihood of temperatures ``tau`` (and
payoff parameters ``p``) is

    LL(tau, p) = sum_i sum_a c_i[a] log x*_i[a](tau, p),

with ``x*`` the HQRE (:func:`dice_jax.certify.implicit.hqre_logits`, whose gradient comes from
the optimality condition). We maximise it over ``log tau`` (one common temperature, as Gambit's
``logit_estimate``, or one per player) and ``p``, minimising ``-LL / sum c`` with
``optax.lbfgs`` and its zoom line search until the gradient norm is below ``tol``.
McKelvey & Palfrey (GEB 1995) introduced the estimator; Bland & Turocy, "Quantal response
equilibrium as a structural model for estimation: the missing manual" (2023) discuss it and
Gambit's implementation, which traces the principal branch. For games with a certified unique
HQRE the two agree (the branch is the equilibrium); elsewhere our mirror solve from the
reference follows the branch only as far as the dynamics do.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from dice_jax import _validation
from dice_jax.certify.implicit import hqre_logits


@struct.dataclass
class Estimate:
  """Result of :func:`estimate`.

  Attributes:
    temperature: fitted ``tau``, shape ``(N,)`` (equal entries unless ``per_player``).
    lam: ``1 / tau`` (Gambit's logit precision).
    params: fitted payoff parameters (``None`` without ``game_fn``).
    log_likelihood: ``LL`` at the fit.
    profile: the HQRE at the fit (per player probabilities).
    iterations: L-BFGS iterations; grad_norm: final gradient norm of ``-LL / sum c``.
    converged: ``grad_norm <= tol``.
  """

  temperature: jax.Array
  lam: jax.Array
  params: Any
  log_likelihood: jax.Array
  profile: Any
  iterations: jax.Array
  grad_norm: jax.Array
  converged: jax.Array


@functools.partial(jax.jit, static_argnames=("game_fn", "per_player", "max_iterations", "method"))
def _fit(
  game, counts, log_reference, theta0, params0, tol, *, game_fn, per_player, max_iterations, method
):
  n = len(counts)
  total = sum(jnp.sum(c) for c in counts)

  def unpack(z):
    log_tau = z["log_tau"]
    tau = jnp.exp(log_tau) if per_player else jnp.full((n,), jnp.exp(log_tau[0]))
    g = game if game_fn is None else game_fn(z["params"])
    return g, tau

  def loss(z):
    g, tau = unpack(z)
    logits = hqre_logits(g, tau, log_reference, method=method)
    return -sum(jnp.sum(c * l) for c, l in zip(counts, logits)) / total

  z0 = {"log_tau": theta0, "params": params0}
  opt = optax.lbfgs()
  vg = optax.value_and_grad_from_state(loss)

  def cond(carry):
    _, _, k, gnorm = carry
    return (k < max_iterations) & (gnorm > tol)

  def body(carry):
    z, state, k, _ = carry
    value, grad = vg(z, state=state)
    updates, state = opt.update(grad, state, z, value=value, grad=grad, value_fn=loss)
    z = optax.apply_updates(z, updates)
    return z, state, k + 1, optax.tree.norm(grad)

  inf = jnp.asarray(jnp.inf, theta0.dtype)
  z, _, k, _ = jax.lax.while_loop(cond, body, (z0, opt.init(z0), jnp.int32(0), inf))
  value, grad = jax.value_and_grad(loss)(z)
  gnorm = optax.tree.norm(grad)
  g, tau = unpack(z)
  profile = tuple(jnp.exp(l) for l in hqre_logits(g, tau, log_reference, method=method))
  return Estimate(
    temperature=tau,
    lam=1.0 / tau,
    params=z["params"],
    log_likelihood=-value * total,
    profile=profile,
    iterations=k,
    grad_norm=gnorm,
    converged=gnorm <= tol,
  )


def estimate(
  game,
  counts: Sequence,
  *,
  per_player: bool = False,
  temperature=1.0,
  game_fn: Optional[Callable] = None,
  params: Any = None,
  reference: Optional[Sequence] = None,
  tol: float = 1e-9,
  max_iterations: int = 100,
  method: Any = "mirror",
) -> Estimate:
  """Maximum-likelihood temperatures (and payoff parameters) of the HQRE for observed play.

  Args:
    game: an unbatched game (ignored when ``game_fn`` is given, except for its shape).
    counts: per player, nonnegative action counts ``(n_i,)`` (floats allowed).
    per_player: fit one temperature per player (default: one common temperature).
    temperature: initial temperature (scalar or per player).
    game_fn: optional ``params -> game`` (a hashable callable): fit payoff parameters too.
    params: initial payoff parameters for ``game_fn`` (a pytree of arrays).
    reference: reference policies (default uniform).
    tol: stop when the gradient norm of ``-LL / sum c`` is below ``tol``.
    max_iterations: L-BFGS iteration budget.
    method: the HQRE solver (see :func:`dice_jax.solve`).

  Returns:
    An :class:`Estimate`.

  Raises:
    ValueError: naming the argument, for counts of the wrong number/shape, negative or
      non-finite counts, all-zero counts, or a non-positive initial temperature.
  """
  n_actions = tuple(game.num_actions)
  n = len(n_actions)
  dtype = getattr(game, "dtype", jnp.result_type(float))
  if not hasattr(counts, "__len__") or len(counts) != n:
    raise ValueError(f"counts must hold one array per player ({n} players).")
  cs = []
  for i, (c, k) in enumerate(zip(counts, n_actions)):
    if np.shape(c) != (k,):
      raise ValueError(f"counts[{i}] must have shape ({k},); got {np.shape(c)}.")
    _validation.require_finite(f"counts[{i}]", c)
    if np.any(np.asarray(c) < 0):
      raise ValueError(f"counts[{i}] must be nonnegative.")
    cs.append(jnp.asarray(c, dtype))
  if float(sum(np.sum(np.asarray(c)) for c in counts)) <= 0:
    raise ValueError("counts must not be all zero.")
  _validation.require_positive("temperature", temperature)
  t0 = np.broadcast_to(np.asarray(temperature, np.float64), (n,))
  theta0 = jnp.asarray(np.log(t0) if per_player else np.log(t0[:1]), dtype)
  if reference is None:
    log_reference = tuple(jnp.full((k,), -math.log(k), dtype) for k in n_actions)
  else:
    for i, r in enumerate(reference):
      _validation.require_distribution(f"reference[{i}]", r)
    log_reference = tuple(jnp.log(jnp.asarray(r, dtype)) for r in reference)
  if game_fn is not None and params is None:
    raise ValueError("params must be given with game_fn (the initial payoff parameters).")
  return _fit(
    game,
    tuple(cs),
    log_reference,
    theta0,
    params,
    jnp.asarray(tol, dtype),
    game_fn=game_fn,
    per_player=bool(per_player),
    max_iterations=int(max_iterations),
    method=method,
  )
