"""Assertion helpers for HQRE tests, with messages that name the failing game."""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

from dice_jax.equilibrium.response import log_logit_response


def _profile(profile):
  return tuple(np.asarray(p, np.float64) for p in profile)


def assert_is_hqre(
  game, temperature, profile, *, reference: Optional[Sequence] = None, atol: float = 1e-8
) -> None:
  """Assert ``max_i ||x_i - b_i(x)||_1 <= atol`` for every game of a batch (DESIGN §3)."""
  x = _profile(profile)
  n = len(x)
  batch = x[0].shape[:-1]
  tau = np.broadcast_to(np.asarray(temperature, np.float64), (*batch, n))
  lr = (
    tuple(np.log(np.asarray(r, np.float64)) for r in reference)
    if reference is not None
    else tuple(np.full(p.shape[-1], -math.log(p.shape[-1])) for p in x)
  )
  v = game.utilities(tuple(x))
  lb = log_logit_response(v, tau, lr)
  res = np.max(
    np.stack([np.sum(np.abs(xi - np.exp(np.asarray(b))), -1) for xi, b in zip(x, lb)], -1), -1
  )
  bad = np.argwhere(~(res <= atol))
  if bad.size:
    idx = tuple(int(i) for i in bad[0])
    raise AssertionError(
      f"not an HQRE: fixed-point residual {np.asarray(res)[idx]:.3e} > "
      f"{atol:.1e} at batch index {idx} ({len(bad)} games fail)."
    )


def distance(profile, other) -> np.ndarray:
  """Euclidean distance ``||x - y||_2`` over all players, shape ``batch``."""
  return np.sqrt(
    sum(np.sum(np.square(a - b), -1) for a, b in zip(_profile(profile), _profile(other)))
  )


def assert_certificate_sound(certificate, profile, equilibrium) -> int:
  """Assert ``||x - x*||_2 <= error_bound`` for every certified game; returns how many were
  checked. ``equilibrium`` is an independent high-precision HQRE (e.g. Gambit or a long run)."""
  d = distance(profile, equilibrium)
  certified = np.asarray(certificate.certified)
  bound = np.asarray(certificate.error_bound)
  bad = np.argwhere(certified & ~(d <= bound))
  if bad.size:
    idx = tuple(int(i) for i in bad[0])
    raise AssertionError(
      f"unsound certificate: distance {d[idx]:.6e} > error bound "
      f"{bound[idx]:.6e} at batch index {idx} ({len(bad)} violations)."
    )
  return int(np.sum(certified))


def assert_not_certified(certificate, *, reason_contains: str = "") -> None:
  """Assert no game is certified and every reason mentions ``reason_contains``."""
  certified = np.atleast_1d(np.asarray(certificate.certified))
  if certified.any():
    raise AssertionError(f"{int(certified.sum())} games were certified; expected none.")
  reasons = np.atleast_1d(np.asarray(certificate.reason, dtype=object))
  for i, r in enumerate(reasons.ravel()):
    if reason_contains not in (r or ""):
      raise AssertionError(f"reason of game {i} does not mention {reason_contains!r}: {r!r}")
