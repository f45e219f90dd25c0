"""Safeguarded Anderson acceleration of the mirror (MMD) map, on any problem of
:mod:`dice_jax.solvers.protocol`."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

from dice_jax.equilibrium.response import normalize
from dice_jax.solvers.engine import Step
from dice_jax.solvers.method_code import METHOD
from dice_jax.solvers.mirror import Mirror, MirrorState, evaluate, mirror_update, proximal_weight
from dice_jax.solvers.protocol import Problem, Profile


def _flat(logits: Profile) -> jax.Array:
  """Every row's logits centred (the log-softmax shift removed), as one vector."""
  return jnp.concatenate([(l - jnp.mean(l, axis=-1, keepdims=True)).reshape(-1) for l in logits])


def _unflat(v: jax.Array, like: Profile) -> Profile:
  out, i = [], 0
  for l in like:
    out.append(v[i : i + l.size].reshape(l.shape))
    i += l.size
  return tuple(out)


def _spd_solve(a: jax.Array, b: jax.Array) -> jax.Array:
  """``a^-1 b`` for a small symmetric positive definite ``a`` (``m x m``): an unrolled
  Cholesky factorisation, so that a vmapped batch of tiny systems stays elementwise work."""
  m = a.shape[-1]
  low = [[None] * m for _ in range(m)]
  for j in range(m):
    d = a[j, j] - sum(low[j][k] ** 2 for k in range(j))
    low[j][j] = jnp.sqrt(d)
    for i in range(j + 1, m):
      low[i][j] = (a[i, j] - sum(low[i][k] * low[j][k] for k in range(j))) / low[j][j]
  y = []
  for i in range(m):
    y.append((b[i] - sum(low[i][k] * y[k] for k in range(i))) / low[i][i])
  x = [None] * m
  for i in reversed(range(m)):
    x[i] = (y[i] - sum(low[k][i] * x[k] for k in range(i + 1, m))) / low[i][i]
  return jnp.stack(x)


class AndersonState(NamedTuple):
  """:class:`Anderson`'s state.

  Attributes:
    mirror: the plain method's state: the current iterate (a plain mirror step or an
      extrapolated point), the last accepted base point with its response logits and residual
      (a rejected point is replaced by the plain step from there), and the step ``eta``.
    d_g, d_f: the last ``memory`` differences of the plain-step images ``g_k`` and of the
      fixed-point residuals ``f_k = g_k - x_k`` (centred logits, one row per difference).
    last_g, last_f: the newest ``g_k`` and ``f_k``.
    count: how many points the history holds (differences = ``count - 1``, at most
      ``memory``).
    extrapolated: whether the current iterate is an Anderson point.
    first_residual: the residual of the initial profile (the scale of the safeguard).
    accepted, rejected: Anderson points accepted and rejected so far.
  """

  mirror: MirrorState
  d_g: jax.Array
  d_f: jax.Array
  last_g: jax.Array
  last_f: jax.Array
  count: jax.Array
  extrapolated: jax.Array
  first_residual: jax.Array
  accepted: jax.Array
  rejected: jax.Array


@struct.dataclass
class Anderson:
  """Anderson acceleration (type II, memory ``m``) of the mirror map, with a safeguard.

  The plain step is :class:`Mirror`'s: ``T(x) = log_softmax(w log x + (1 - w) z(x))``,
  ``w = 1 / (1 + eta tau)``, with the same adaptive ``eta`` (back-off on a residual increase,
  floor ``eta_safe = min tau / L**2``). With the last ``m`` differences of the images
  ``g_k = T(x_k)`` and of ``f_k = g_k - x_k`` (logits, centred per row), the Anderson point is

      x_AA = g_k - dG gamma,    gamma = argmin ||f_k - dF gamma||^2  (+ a 1e-10 relative ridge)

  (Walker & Ni, "Anderson acceleration for fixed-point iterations", SIAM J. Numer. Anal. 2011),
  normalised by a log-softmax per row. It costs no extra response evaluation: the next step
  evaluates ``x_AA`` anyway, and that evaluation is the safeguard. **Safeguard** (after
  Zhang, O'Donoghue & Boyd, "Globally convergent type-I Anderson acceleration for non-smooth
  fixed-point iterations", SIAM J. Optim. 2020): the Anderson point is accepted only if its
  fixed-point residual ``r`` is at most the residual of the point it was built from and at
  most ``r_0 (k + 1)^-(1 + 1e-2)``, ``k`` the number of accepted Anderson points and ``r_0``
  the initial residual; otherwise it is discarded, the history is cleared and the plain step
  from the last accepted point is taken (its response is stored: the cost of a rejection is the
  one wasted evaluation). Hence the guarantee of the plain method is kept: if Anderson points
  are accepted infinitely often their residuals fall below a summable envelope and reach any
  ``tol > 0``; otherwise, after the last acceptance, every accepted point is a plain mirror
  step (the history also restarts whenever ``eta`` backs off) and :class:`Mirror`'s
  convergence argument applies to that tail. The engine stops at the first evaluated point of
  either kind whose residual is ``<= tol``.

  It pays where the plain method is slow and smooth (low temperatures of monotone games, where
  the adaptive step falls back to ``eta_safe``); ``benchmarks/convergence.py`` reports steps
  and time against :class:`Mirror` for ``lambda`` in {0.5, 2, 10, 50}.

  Attributes:
    memory: the number ``m`` of differences kept (static).
    initial_scale, backoff: as for :class:`Mirror`.
    check_every: steps between convergence checks (static).
  """

  memory: int = struct.field(pytree_node=False, default=10)
  safeguard: float = 100.0
  initial_scale: float = 10.0
  backoff: float = 0.5
  check_every: int = struct.field(pytree_node=False, default=1)
  code: int = struct.field(pytree_node=False, default=METHOD.ANDERSON)  # static: see METHOD

  def _mirror(self) -> Mirror:
    return Mirror(initial_scale=self.initial_scale, backoff=self.backoff)

  def init(self, problem: Problem, logits: Profile) -> AndersonState:
    s = self._mirror().init(problem, logits)
    dim = sum(l.size for l in logits)
    dtype = logits[0].dtype
    zeros = jnp.zeros((self.memory, dim), dtype)
    return AndersonState(
      mirror=s,
      d_g=zeros,
      d_f=zeros,
      last_g=jnp.zeros((dim,), dtype),
      last_f=jnp.zeros((dim,), dtype),
      count=jnp.int32(0),
      extrapolated=jnp.bool_(False),
      first_residual=s.prev_residual,
      accepted=jnp.int32(0),
      rejected=jnp.int32(0),
    )

  def step(self, problem: Problem, a: AndersonState) -> Step:
    s = a.mirror
    z, r = evaluate(problem, s.logits, s.probs)
    envelope = self.safeguard * a.first_residual * (a.accepted + 1.0) ** -1.01
    reject_aa = a.extrapolated & ((r > envelope) | ~jnp.isfinite(r))
    worse = ~a.extrapolated & (r > s.prev_residual) & jnp.any(s.eta > s.safe)
    back = reject_aa | worse
    eta = jnp.where(worse, jnp.maximum(self.backoff * s.eta, s.safe), s.eta)
    base = tuple(jnp.where(back, p, l) for p, l in zip(s.prev_logits, s.logits))
    base_z = tuple(jnp.where(back, pz, zz) for pz, zz in zip(s.prev_z, z))
    base_r = jnp.where(back, s.prev_residual, r)
    g, g_probs = mirror_update(base, base_z, proximal_weight(eta, problem))

    gv, bv = _flat(g), _flat(base)
    f = gv - bv
    count = jnp.where(back, 0, a.count)  # a rejection or a back-off restarts the history
    push = count >= 1
    d_g = jnp.where(push, jnp.roll(a.d_g, 1, axis=0).at[0].set(gv - a.last_g), a.d_g)
    d_f = jnp.where(push, jnp.roll(a.d_f, 1, axis=0).at[0].set(f - a.last_f), a.d_f)
    count = jnp.minimum(count + 1, self.memory + 1)
    valid = (jnp.arange(self.memory) < count - 1).astype(f.dtype)
    d_g, d_f = d_g * valid[:, None], d_f * valid[:, None]

    gram = d_f @ d_f.T
    ridge = 1e-10 * jnp.trace(gram) + jnp.finfo(f.dtype).tiny ** 0.5
    gram = gram + jnp.diag(ridge + (1.0 - valid))  # unused rows: identity, gamma = 0
    gamma = _spd_solve(gram, d_f @ f)
    aa = normalize(_unflat(gv - gamma @ d_g, g))
    use = (count >= 2) & jnp.all(jnp.isfinite(gamma))
    new = tuple(jnp.where(use, a, p) for a, p in zip(aa, g))
    new_probs = tuple(jnp.where(use, jnp.exp(a), p) for a, p in zip(aa, g_probs))

    state = AndersonState(
      mirror=s._replace(
        logits=new, probs=new_probs, prev_logits=base, prev_z=base_z, prev_residual=base_r, eta=eta
      ),
      d_g=d_g,
      d_f=d_f,
      last_g=gv,
      last_f=f,
      count=count,
      extrapolated=use,
      first_residual=a.first_residual,
      accepted=a.accepted + (a.extrapolated & ~reject_aa).astype(jnp.int32),
      rejected=a.rejected + reject_aa.astype(jnp.int32),
    )
    return Step(state, s.logits, r, jnp.bool_(True), jnp.int32(self.code))
