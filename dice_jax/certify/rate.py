r"""A-priori linear rate of the mirror (MMD) solver, and the observed rate of a residual history.

**Theorem (contraction of MMD under a positive margin).** Let ``alpha`` be an upper bound on the
monotonicity constant (:mod:`dice_jax.certify.monotonicity`), ``alpha+ = max(alpha, 0)``,
``mu+ = min_i tau_i - alpha+``, ``L`` a Lipschitz constant of ``V`` from the product norm
``||d|| = sqrt(sum_i ||d_i||_1^2)`` to its dual (or of ``P V`` in ``||.||_2``, see below), and run
the mirror update of DESIGN §3 with one step ``eta > 0`` for every player,

    x_i+ = argmin_y  -eta <v_i(x), y> + eta tau_i KL(y || rho_i) + KL(y || x_i).

If ``c = min(eta min tau, 2 eta mu+ - eta^2 L^2) > 0`` then, with ``x*`` the (unique) HQRE,

    KL(x* || x+)  <=  KL(x* || x) / (1 + c).

*Proof.* Write ``g = -V``, ``D = KL`` summed over players, ``d = x+ - x*``. The optimality
condition of the per-player prox says ``eta g_i(x) + eta tau_i (log x_i+ - log rho_i) +
log x_i+ - log x_i`` is constant on the simplex, so its inner product with ``x*_i - x+_i`` is 0;
the three-point identity ``<log x+ - log x, x* - x+> = D(x*, x) - D(x*, x+) - D(x+, x)`` and
``<F_tau(x*), d> = 0`` (the HQRE makes ``F_tau(x*)`` constant per player) give

    D(x*, x) - D(x*, x+) - D(x+, x)
      = eta <g(x+) - g(x*), d> + eta sum_i tau_i S_i + eta <g(x) - g(x+), d>,

with ``S_i = <log x+_i - log x*_i, d_i> = D(x*_i, x+_i) + D(x+_i, x*_i)``. Bound the three terms:
(i) ``<g(x+) - g(x*), d> >= -alpha ||d||_2^2 >= -alpha+ ||d||^2`` (inequality (1) of the
monotonicity module); (ii) by Pinsker ``S_i >= D(x*_i, x+_i) + ||d_i||_1^2 / 2`` and
``S_i >= ||d_i||_1^2``, so for ``theta in [0, 1]``
``S_i >= theta D(x*_i, x+_i) + (1 - theta / 2) ||d_i||_1^2``; (iii) by the Lipschitz bound and
Young, ``<g(x) - g(x+), d> >= -L ||x - x+|| ||d|| >= -||x - x+||^2 / (2 eta) - eta L^2 ||d||^2 / 2``,
and ``D(x+, x) >= ||x - x+||^2 / 2`` (Pinsker). Altogether

    D(x*, x) >= (1 + eta theta min tau) D(x*, x+)
                + [eta min tau (1 - theta / 2) - eta alpha+ - eta^2 L^2 / 2] ||d||^2 .

The bracket is ``>= 0`` for ``eta theta min tau = min(eta min tau, 2 eta mu+ - eta^2 L^2) = c``,
which proves the claim. The same proof works with ``L`` a bound on ``||P(V(x) - V(y))||_2 /
||x - y||_2`` because ``|<P u, d>| <= ||P u||_2 ||d||_2`` and ``||.||_2 <= ||.||`` on ``T``; we use
the smaller of the two bounds (:meth:`HQREProblem.lipschitz` and
:func:`dice_jax.certify.slices.lipschitz_l2`). ∎

For a monotone game (``alpha+ = 0``) and the theoretical step ``eta = min tau / L^2`` this is
``c = eta min tau``: the rate ``1 / (1 + eta min tau)`` of Sokota et al., "A Unified Approach to
Reinforcement Learning, Quantal Response Equilibria, and Two-Player Zero-Sum Games"
(ICLR 2023), Thm 3.4, here extended to non-monotone games with a positive margin. ``c`` is
largest near ``eta = mu+ / L^2`` (:func:`best_step`).

**Weighted theorem (per-player steps).** With weights ``w_i = 1 / tau_i``, per-player steps
``eta_i = eta w_i`` (so every player's proximal weight is ``1 / (1 + eta)``), ``alpha_W`` an
upper bound on the weighted monotonicity constant, ``mu_W+ = 1 - max(alpha_W, 0)`` and ``L_W``
a Lipschitz bound of ``W V``: if ``c_W = min(eta, 2 eta mu_W+ - eta^2 L_W^2) > 0`` then
``KL(x* || x+) <= KL(x* || x) / (1 + c_W)`` (``KL`` summed over players, unweighted).
*Proof.* Player i's prox identity with step ``eta_i`` is the one above; summing the
three-point identities over players gives
``D(x*, x) - D(x*, x+) - D(x+, x) = eta <W(g(x+) - g(x*)), d> + eta sum_i S_i
+ eta <W(g(x) - g(x+)), d>`` (``eta_i tau_i = eta``, and ``<F_i(x*), d_i> = 0`` per player);
bound the terms as above with ``alpha_W`` (inequality (1) of the monotonicity module with
weights ``W``) and ``L_W``. ∎ The best step is ``eta = mu_W+ / L_W^2`` (:func:`best_step` with
``min tau = 1``), ``c_W = mu_W+^2 / L_W^2``. This gives a rate to games certified only through
``mu_W > 0``.

**Which step the certificate's rate is for.** By default
(:func:`dice_jax.certify.certify` without ``step_size``) the theoretical step ``eta_safe``
where ``c(eta_safe) > 0``; otherwise (e.g. a game certified through ``tau > alpha > 0``, where
``eta_safe = min tau / L^2`` exceeds ``2 mu+ / L^2``) the better of :func:`best_step` and the
weighted theorem's steps, so every certified game gets a rate ``< 1``. The certificate records
the per-player steps (``step_sizes``); ``Mirror(step_size=step_sizes, adaptive=False)`` runs
at them.

**Step bound.** Iterating, ``KL(x* || x_t) <= (1 + c)^{-t} K_0`` with ``K_0 = sum_i max_a
log(1 / x_{0,i}[a]) >= KL(x* || x_0)``, and ``||x_t - x*||_2^2 <= sum_i ||.||_1^2 <= 2 KL``: so
``||x_t - x*||_2 <= tol`` once ``t >= log(2 K_0 / tol^2) / log(1 + c)``. Distances (and the
fixed-point residual, which is Lipschitz in the distance) therefore decay at the *predicted
rate* ``(1 + c)^{-1/2}`` per step, which is what :func:`observed_rate` measures.

**Adaptive step.** ``Mirror(adaptive=True)`` starts large and halves ``eta`` on a residual
increase, never below ``eta_safe = min tau / L_1^2`` and never growing again. Once it has settled
at its final ``eta``, the theorem applies from then on with that ``eta`` whenever
``c(eta) > 0``, i.e. ``eta < 2 mu+ / L^2``; larger accepted steps carry no a-priori guarantee
(then only the observed rate is available). Pass that ``eta`` as ``step_size`` to
:func:`dice_jax.certify.certify`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def contraction_constant(step_size, min_temperature, alpha_upper, lipschitz) -> jax.Array:
  """``c = min(eta min tau, 2 eta mu+ - eta^2 L^2)`` (the theorem above); ``<= 0``: no guarantee."""
  mu_plus = min_temperature - jnp.maximum(alpha_upper, 0.0)
  eta = step_size
  return jnp.minimum(eta * min_temperature, 2 * eta * mu_plus - jnp.square(eta * lipschitz))


def kl_contraction(step_size, min_temperature, alpha_upper, lipschitz) -> jax.Array:
  """Per-step factor ``1 / (1 + c)`` on ``KL(x* || x_t)``; ``1`` when ``c <= 0`` (no guarantee)."""
  c = contraction_constant(step_size, min_temperature, alpha_upper, lipschitz)
  return jnp.where(c > 0, 1.0 / (1.0 + jnp.where(c > 0, c, 0.0)), 1.0)


def best_step(min_temperature, alpha_upper, lipschitz) -> jax.Array:
  """``eta = mu+ / L^2``, which maximises ``2 eta mu+ - eta^2 L^2`` (``c = mu+^2 / L^2`` there)."""
  mu_plus = min_temperature - jnp.maximum(alpha_upper, 0.0)
  return jnp.where(mu_plus > 0, mu_plus / jnp.square(lipschitz), jnp.nan)


def initial_kl_bound(logits) -> jax.Array:
  """``K_0 = sum_i max_a (-log x_{0,i}[a]) >= KL(x* || x_0)`` for any ``x*``; ``(*batch,)``."""
  return sum(jnp.max(-l, axis=-1) for l in logits)


def step_bound(kl_factor, initial_kl, tol) -> jax.Array:
  """Steps after which ``||x_t - x*||_2 <= tol`` is guaranteed: ``log(2 K_0 / tol^2) /
  -log(kl_factor)``, rounded up; ``inf`` when ``kl_factor >= 1``."""
  need = jnp.log(jnp.maximum(2 * initial_kl / jnp.square(tol), 1.0))
  rate = -jnp.log(kl_factor)
  return jnp.where(kl_factor < 1, jnp.ceil(need / jnp.where(kl_factor < 1, rate, 1.0)), jnp.inf)


def observed_rate(history, steps_per_check: int = 1) -> jax.Array:
  """Geometric fit of a residual history: ``exp(slope)`` of least squares ``log r_t ~ a + t
  slope`` over the later half of the finite, positive entries, per step.

  Args:
    history: ``(*batch, H)`` residuals at successive checks; NaN marks unused entries (as in
      :attr:`dice_jax.Solution.history`).
    steps_per_check: solver steps between entries.

  Returns:
    The per-step factor, shape ``(*batch,)``; NaN with fewer than 3 usable entries.
  """
  h = jnp.asarray(history)
  valid = jnp.isfinite(h) & (h > 0)
  rank = jnp.cumsum(valid, axis=-1) - 1
  count = jnp.sum(valid, axis=-1, keepdims=True)
  use = valid & (rank >= count // 2)
  n = jnp.sum(use, axis=-1)
  t = jnp.arange(h.shape[-1], dtype=h.dtype)
  y = jnp.log(jnp.where(use, h, 1.0))
  wt = use.astype(h.dtype)
  tm = jnp.sum(wt * t, -1) / jnp.maximum(n, 1)
  ym = jnp.sum(wt * y, -1) / jnp.maximum(n, 1)
  cov = jnp.sum(wt * (t - tm[..., None]) * (y - ym[..., None]), -1)
  var = jnp.sum(wt * jnp.square(t - tm[..., None]), -1)
  slope = cov / jnp.where(var > 0, var, 1.0)
  return jnp.where((n >= 2) & (count[..., 0] >= 3), jnp.exp(slope / steps_per_check), jnp.nan)
