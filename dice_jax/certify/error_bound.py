"""The a-posteriori error bound of DESIGN §5: a verified distance to the unique HQRE.

**Claim.** Let ``x`` be an interior profile, ``b = b(x)`` its logit responses and
``r_i = P_i (log x_i - log b_i)``. If ``mu = min tau - alpha > 0`` then

    ||x - x*||_2  <=  || (tau_i r_i)_i ||_2 / mu,

and if ``mu_W = 1 - alpha_W > 0`` (weights ``1 / tau``) then ``||x - x*||_2 <= ||r||_2 / mu_W``.

*Proof.* ``log b_i = log rho_i + v_i / tau_i - c_i`` with a scalar ``c_i``, so
``P_i F_i(x) = P_i(-v_i + tau_i (log x_i - log rho_i)) = tau_i r_i``; at the HQRE ``F(x*)`` is
constant per player, so ``<F(x*), x - x*> = 0``. Strong monotonicity (the monotonicity module)
gives ``mu ||x - x*||^2 <= <F(x) - F(x*), x - x*> = <P F(x), x - x*> <= ||P F(x)|| ||x - x*||``.
The weighted case is the same computation with ``W F``, ``P_i (F_i / tau_i) = r_i``. ∎

The two bounds are reported separately and the smaller is *the* error bound. Both are computed
in floating point; a rounding allowance of ``16 D eps`` times the magnitudes entering
``log x - log b`` (``D = sum n_i``) is added to ``||r||``, so the bound stays above the true
distance even for iterates converged to machine precision.
"""

from __future__ import annotations

import jax.numpy as jnp

from dice_jax.certify._tangent import project
from dice_jax.equilibrium.response import log_logit_response


def tangent_residuals(game, temperature, log_reference, logits):
  """``r_i = P_i(log x_i - log b_i(x))`` per player and a rounding allowance per player."""
  x = tuple(jnp.exp(l) for l in logits)
  v = game.utilities(x)
  lb = log_logit_response(v, temperature, log_reference)
  d = sum(l.shape[-1] for l in logits)
  eps = jnp.finfo(logits[0].dtype).eps
  r, slack = [], []
  for i, (l, b, lr, vi) in enumerate(zip(logits, lb, log_reference, v)):
    r.append(project(l - b))
    scale = (
      jnp.max(jnp.abs(l), -1)
      + jnp.max(jnp.abs(b), -1)
      + jnp.max(jnp.abs(jnp.broadcast_to(lr, vi.shape)), -1)
      + jnp.max(jnp.abs(vi), -1) / temperature[..., i]
      + 1.0
    )
    slack.append(16 * d * eps * scale * jnp.sqrt(l.shape[-1]))
  return tuple(r), jnp.stack(slack, -1)


def error_bounds(game, temperature, log_reference, logits, margin, weighted_margin):
  """``(bound, unweighted, weighted)``, each ``(*batch,)``; ``inf`` where a margin is ``<= 0``."""
  r, slack = tangent_residuals(game, temperature, log_reference, logits)
  sq = jnp.stack([jnp.sum(jnp.square(ri), -1) for ri in r], -1)
  norm_w = jnp.sqrt(jnp.sum(sq, -1)) + jnp.sqrt(jnp.sum(jnp.square(slack), -1))
  norm = jnp.sqrt(jnp.sum(jnp.square(temperature) * sq, -1)) + jnp.sqrt(
    jnp.sum(jnp.square(temperature * slack), -1)
  )
  inf = jnp.asarray(jnp.inf, norm.dtype)
  unweighted = jnp.where(margin > 0, norm / jnp.where(margin > 0, margin, 1.0), inf)
  weighted = jnp.where(
    weighted_margin > 0, norm_w / jnp.where(weighted_margin > 0, weighted_margin, 1.0), inf
  )
  return jnp.minimum(unweighted, weighted), unweighted, weighted
