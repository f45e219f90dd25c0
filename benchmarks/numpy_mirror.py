"""The *former* NumPy baseline (a direct transcription of ``dice_jax.Mirror``): kept only so that
``vs_numpy`` in ``python -m benchmarks`` stays comparable with records written before issue 13.
It is not the baseline to quote -- :mod:`benchmarks.numpy_best` is (``vs_numpy_best_effort``).

Same MMD update, adaptive step and stopping rule, vectorised with batched ``matmul`` and a
log-space softmax, but written without care for cost: the initial response is evaluated twice,
every step recomputes the whole batch (converged games included), allocates fresh temporaries
and runs the rejection ``np.where`` copies on every row."""

from __future__ import annotations

import numpy as np


def _log_softmax_and_softmax(z):
  """One exp pass for both, as dice_jax does."""
  z = z - z.max(axis=-1, keepdims=True)
  e = np.exp(z)
  s = e.sum(axis=-1, keepdims=True)
  return z - np.log(s), e / s


def solve_numpy_mirror(a, b, tau, tol=1e-8, max_steps=10_000, initial_scale=10.0, backoff=0.5):
  """Batched adaptive MMD exactly as ``dice_jax.Mirror()``; returns (x1, x2, residual, steps).

  ``a``, ``b``: payoffs ``(G, n, m)``; ``tau``: one temperature for all. Each game keeps the
  first iterate whose residual is ``<= tol`` (converged games are frozen).
  """
  g, n, m = a.shape
  half = lambda u: (u.max(axis=(1, 2)) - u.min(axis=(1, 2))) / 2
  safe = tau / (np.maximum(half(a), half(b)) ** 2)[:, None]
  eta = np.maximum(np.full((g, 1), initial_scale / tau), safe)
  l1 = np.full((g, n), -np.log(n))
  l2 = np.full((g, m), -np.log(m))
  x1, x2 = np.exp(l1), np.exp(l2)

  def respond(x1, x2):
    z1 = np.matmul(a, x2[:, :, None])[:, :, 0] / tau
    z2 = np.matmul(x1[:, None, :], b)[:, 0, :] / tau
    b1, b2 = _log_softmax_and_softmax(z1)[1], _log_softmax_and_softmax(z2)[1]
    return z1, z2, np.maximum(np.abs(x1 - b1).sum(-1), np.abs(x2 - b2).sum(-1))

  p1, p2, pz1, pz2 = l1, l2, *respond(x1, x2)[:2]
  prev_r = respond(x1, x2)[2]
  res = np.full(g, np.inf)
  steps = np.zeros(g, dtype=np.int64)
  done = np.zeros(g, dtype=bool)
  out1, out2 = x1.copy(), x2.copy()
  for t in range(max_steps):
    z1, z2, r = respond(x1, x2)
    new = (~done) & (r <= tol)
    out1[new], out2[new], res[new], steps[new] = x1[new], x2[new], r[new], t + 1
    done |= new
    if done.all():
      break
    worse = ((r > prev_r) & (eta[:, 0] > safe[:, 0]))[:, None]
    eta = np.where(worse, np.maximum(backoff * eta, safe), eta)
    b1, b2 = np.where(worse, p1, l1), np.where(worse, p2, l2)
    bz1, bz2 = np.where(worse, pz1, z1), np.where(worse, pz2, z2)
    prev_r = np.where(worse[:, 0], prev_r, r)
    p1, p2, pz1, pz2 = b1, b2, bz1, bz2
    w = 1 / (1 + eta * tau)
    l1, x1 = _log_softmax_and_softmax(w * b1 + (1 - w) * bz1)
    l2, x2 = _log_softmax_and_softmax(w * b2 + (1 - w) * bz2)
  return out1, out2, res, steps
