"""The baseline: the same MMD update and stopping rule as ``dice_jax.Mirror``, vectorised over
a batch of two-player games in NumPy (batched ``matmul``, log-space softmax)."""
from __future__ import annotations

import numpy as np


def _log_softmax_and_softmax(z):
  """One exp pass for both, as dice_jax does."""
  z = z - z.max(axis=-1, keepdims=True)
  e = np.exp(z)
  s = e.sum(axis=-1, keepdims=True)
  return z - np.log(s), e / s


def solve_numpy_mirror(a, b, tau, tol=1e-8, max_steps=10_000):
  """Batched MMD with dice_jax's automatic step; returns (x1, x2, residual, steps).

  ``a``, ``b``: payoffs ``(G, n, m)``; ``tau``: one temperature for all. Each game keeps the
  first iterate whose residual is ``<= tol`` (converged games are frozen).
  """
  g, n, m = a.shape
  half = lambda u: (u.max(axis=(1, 2)) - u.min(axis=(1, 2))) / 2
  lip2 = np.maximum(half(a), half(b))[:, None] ** 2
  w = lip2 / (lip2 + tau * tau)
  l1 = np.full((g, n), -np.log(n))
  l2 = np.full((g, m), -np.log(m))
  x1, x2 = np.exp(l1), np.exp(l2)
  res = np.full(g, np.inf)
  steps = np.zeros(g, dtype=np.int64)
  done = np.zeros(g, dtype=bool)
  out1, out2 = x1.copy(), x2.copy()
  for t in range(max_steps):
    z1 = np.matmul(a, x2[:, :, None])[:, :, 0] / tau
    z2 = np.matmul(x1[:, None, :], b)[:, 0, :] / tau
    b1, b2 = _log_softmax_and_softmax(z1)[1], _log_softmax_and_softmax(z2)[1]
    r = np.maximum(np.abs(x1 - b1).sum(-1), np.abs(x2 - b2).sum(-1))
    new = (~done) & (r <= tol)
    out1[new], out2[new], res[new], steps[new] = x1[new], x2[new], r[new], t + 1
    done |= new
    if done.all():
      break
    l1, x1 = _log_softmax_and_softmax(w * l1 + (1 - w) * z1)
    l2, x2 = _log_softmax_and_softmax(w * l2 + (1 - w) * z2)
  return out1, out2, res, steps
