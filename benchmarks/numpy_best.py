"""The best-effort NumPy baseline: ``dice_jax.Mirror()`` on a batch of two-player games, written
the way a NumPy expert would write the same algorithm.

Same iterates, adaptive step and stopping rule as ``dice_jax.Mirror()`` (DESIGN §3):

* ``eta_0 = max(initial_scale / tau, eta_safe)``, ``eta_safe = tau / max(h_1, h_2)**2`` with
  ``h_i`` the payoff half-range (:meth:`dice_jax.equilibrium.HQREProblem.lipschitz`);
* each step evaluates ``z_i = v_i(x) / tau`` once, the residual
  ``r = max_i ||x_i - softmax(z_i)||_1``, stops the game at the first ``r <= tol`` (returning
  that iterate and ``steps = t + 1``), rejects a step whose residual rose while
  ``eta > eta_safe`` (``eta <- max(backoff eta, eta_safe)``, redo from the previous iterate and
  its stored response), and updates ``log x+ = log_softmax(w log x + (1 - w) z)``,
  ``w = 1 / (1 + eta tau)``.

What makes it best effort rather than a transcription (each choice measured on this machine,
``benchmarks/results/numpy_baseline.json``):

* the two contractions are ``np.einsum`` or ``np.matmul``, whichever the caller picks --
  :func:`pick_contraction` times both on the actual batch and the benchmarks use the faster;
* one response evaluation per step (the old baseline evaluated the initial response twice),
  ``1 / tau`` folded into one multiply, the reference's constant ``-log n`` dropped (softmax is
  shift-invariant, so the iterates are the same up to rounding);
* one ``exp`` pass per player for the residual and one for the update (log-space softmax with
  the max subtracted), computed in place into preallocated buffers;
* the rejection branch is taken only when some game was rejected (``np.any``), and only on
  those rows;
* converged games leave the working set: every step runs on the live games only (the payoffs
  are repacked when a quarter of the rows held have finished, so the repacking copy is amortised).
"""

from __future__ import annotations

import time

import numpy as np

CONTRACTIONS = ("einsum", "matmul")


def respond(a, b, x1, x2, inv_tau, contraction):
  """``(v_1 / tau, v_2 / tau)`` for every live game: ``A x_2`` and ``x_1^T B``."""
  if contraction == "einsum":
    z1 = np.einsum("gij,gj->gi", a, x2)
    z2 = np.einsum("gi,gij->gj", x1, b)
  else:
    z1 = np.matmul(a, x2[:, :, None])[:, :, 0]
    z2 = np.matmul(x1[:, None, :], b)[:, 0, :]
  z1 *= inv_tau
  z2 *= inv_tau
  return z1, z2


def _softmax_l1(x, z, buf):
  """``||x - softmax(z)||_1`` per row, using ``buf`` (same shape) as scratch."""
  np.subtract(z, z.max(axis=1, keepdims=True), out=buf)
  np.exp(buf, out=buf)
  buf /= buf.sum(axis=1, keepdims=True)
  buf -= x
  np.abs(buf, out=buf)
  return buf.sum(axis=1)


def _log_softmax_and_softmax(u, x):
  """In place: ``u <- log_softmax(u)``, ``x <- softmax(u)`` (one ``exp`` pass)."""
  u -= u.max(axis=1, keepdims=True)
  np.exp(u, out=x)
  s = x.sum(axis=1, keepdims=True)
  x /= s
  u -= np.log(s)


def solve_numpy_best(
  a,
  b,
  tau,
  tol=1e-8,
  max_steps=10_000,
  initial_scale=10.0,
  backoff=0.5,
  contraction="einsum",
  repack=0.75,
):
  """Batched adaptive MMD as ``dice_jax.Mirror()``; returns ``(x1, x2, residual, steps)``.

  Args:
    a, b: payoffs ``(G, n, m)`` of the row and the column player.
    tau: one temperature (> 0) for both players and every game.
    tol, max_steps, initial_scale, backoff: as for ``dice_jax.Mirror`` / ``dice_jax.solve``.
    contraction: ``"einsum"`` or ``"matmul"`` (see :func:`pick_contraction`).
    repack: repack the live games' payoffs once the live fraction of the rows held is at most
      this.

  Returns:
    The first iterate of each game whose residual is ``<= tol`` (or the last one after
    ``max_steps``), its residual and its step count.
  """
  if contraction not in CONTRACTIONS:
    raise ValueError(f"contraction must be one of {CONTRACTIONS}; got {contraction!r}.")
  a = np.ascontiguousarray(a, dtype=np.float64)
  b = np.ascontiguousarray(b, dtype=np.float64)
  g, n, m = a.shape
  inv_tau = 1.0 / tau
  half = np.maximum(np.ptp(a.reshape(g, -1), axis=1), np.ptp(b.reshape(g, -1), axis=1)) / 2
  with np.errstate(divide="ignore"):
    safe = tau / half**2
  eta = np.maximum(initial_scale / tau, safe)
  l1 = np.full((g, n), -np.log(n))
  l2 = np.full((g, m), -np.log(m))
  x1, x2 = np.exp(l1), np.exp(l2)
  p1, p2 = l1.copy(), l2.copy()  # the previous iterate and its response (used on rejection)
  pz1, pz2 = np.zeros((g, n)), np.zeros((g, m))
  prev_r = np.full(g, np.inf)
  rows = np.arange(g)  # which game each held row is
  live = np.ones(g, dtype=bool)
  out1, out2 = x1.copy(), x2.copy()
  res, steps = np.full(g, np.inf), np.full(g, max_steps, dtype=np.int64)
  buf1, buf2 = np.empty((g, n)), np.empty((g, m))
  for t in range(max_steps):
    z1, z2 = respond(a, b, x1, x2, inv_tau, contraction)
    r = np.maximum(_softmax_l1(x1, z1, buf1), _softmax_l1(x2, z2, buf2))
    new = r <= tol
    if t == max_steps - 1:
      new[:] = True
    new &= live
    if new.any():
      idx = rows[new]
      out1[idx], out2[idx], res[idx], steps[idx] = x1[new], x2[new], r[new], t + 1
      live &= ~new
      alive = int(live.sum())
      if alive == 0:
        break
      if alive <= repack * len(rows):
        keep = live
        a, b = a[keep], b[keep]
        l1, l2, x1, x2, p1, p2 = l1[keep], l2[keep], x1[keep], x2[keep], p1[keep], p2[keep]
        z1, z2, pz1, pz2, r = z1[keep], z2[keep], pz1[keep], pz2[keep], r[keep]
        prev_r, eta, safe, rows = prev_r[keep], eta[keep], safe[keep], rows[keep]
        live = np.ones(alive, dtype=bool)
        buf1, buf2 = buf1[:alive], buf2[:alive]
    worse = (r > prev_r) & (eta > safe)
    if worse.any():
      eta[worse] = np.maximum(backoff * eta[worse], safe[worse])
      l1[worse], l2[worse], z1[worse], z2[worse] = p1[worse], p2[worse], pz1[worse], pz2[worse]
      r[worse] = prev_r[worse]
    # the base iterate and response become "previous"; the new iterate goes into the old buffers
    p1, l1, p2, l2, pz1, pz2, prev_r = l1, p1, l2, p2, z1, z2, r
    w = (1.0 / (1.0 + eta * tau))[:, None]
    np.multiply(p1, w, out=l1)
    l1 += (1.0 - w) * pz1
    np.multiply(p2, w, out=l2)
    l2 += (1.0 - w) * pz2
    _log_softmax_and_softmax(l1, x1)
    _log_softmax_and_softmax(l2, x2)
  return out1, out2, res, steps


def pick_contraction(a, b, tau, tol=1e-8, repeats=3):
  """Time :func:`solve_numpy_best` with each contraction on this batch (interleaved, median of
  ``repeats``) and return ``(fastest name, {name: seconds})``."""
  times = {c: [] for c in CONTRACTIONS}
  for _ in range(repeats):
    for c in CONTRACTIONS:
      t = time.perf_counter()
      solve_numpy_best(a, b, tau, tol=tol, contraction=c)
      times[c].append(time.perf_counter() - t)
  med = {c: float(np.median(v)) for c, v in times.items()}
  return min(med, key=med.get), med
