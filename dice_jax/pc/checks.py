"""Host-side argument checks shared by the DICE-PC policies, metrics and harness (the
temperature forms themselves live in :mod:`dice_jax.rollouts.temperatures`).

Every check raises ``ValueError`` whose message starts with the argument's name, before any
work is done.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from dice_jax import _validation
from dice_jax.pc.environments.spec import CoordinationSpec
from dice_jax.rollouts import fields
from dice_jax.rollouts.temperatures import positive_array, role_state_temperatures


def distribution(value, name: str) -> np.ndarray:
  """``value`` as a float array of strictly positive distributions over its last axis."""
  a = positive_array(value, name)
  _validation.require_distribution(name, a)
  return a


def temperatures(value, spec: CoordinationSpec, name: str = "temperature") -> np.ndarray:
  """``tau`` as ``[S, N]``: a scalar, one per role ``[N]``, or per state and role ``[S, N]``."""
  return role_state_temperatures(value, spec.num_states, spec.num_roles, name=name)


def references(
  value: Optional[Sequence], spec: CoordinationSpec, name: str = "reference"
) -> Tuple[np.ndarray, ...]:
  """Reference policies ``rho_i`` as one ``[S, n_i]`` array per role (default uniform).

  Each role's entry is ``None`` (uniform), a distribution ``[n_i]`` shared by every state, or
  one per state ``[S, n_i]``; entries must be strictly positive and sum to one.
  """
  s, n, k = spec.num_states, spec.num_roles, spec.num_actions
  if value is None:
    return tuple(np.full((s, ki), 1.0 / ki) for ki in k)
  if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != n:
    raise ValueError(f"{name} must hold one distribution per role ({n} roles); got {value!r}.")
  out = []
  for i, (r, ki) in enumerate(zip(value, k)):
    if r is None:
      out.append(np.full((s, ki), 1.0 / ki))
      continue
    a = distribution(r, f"{name}[{i}]")
    if a.shape not in ((ki,), (s, ki)):
      raise ValueError(
        f"{name}[{i}] must have shape ({ki},) or ({s}, {ki}) (role "
        f"{spec.roles[i]!r} has {ki} controls); got {a.shape}."
      )
    out.append(np.broadcast_to(a, (s, ki)).copy())
  return tuple(out)


def positive_int(value, name: str) -> int:
  return fields.integer(name, value, low=1)


def probability(value, name: str, *, open_low: bool = False, open_high: bool = False) -> float:
  """``value`` as a float in ``[0, 1]`` (either end open); the message names the bound missed."""
  try:
    return fields.real(name, value, low=0.0, low_open=open_low, high=1.0, high_open=open_high)
  except ValueError as e:
    lo, hi = "(" if open_low else "[", ")" if open_high else "]"
    raise ValueError(f"{name} must lie in {lo}0, 1{hi}:{str(e)[len(name) :]}") from None


def positive(value, name: str) -> float:
  return fields.real(name, value, low=0.0, low_open=True)


def safe_log(p: np.ndarray, dtype=np.float64) -> np.ndarray:
  """``log p`` with zeros mapped to ``log(tiny)`` (finite, so ``0 * log 0`` terms vanish)."""
  tiny = np.finfo(dtype).tiny
  return np.log(np.maximum(np.asarray(p, dtype), tiny))


def interior(p: np.ndarray, floor: float = 1e-12) -> np.ndarray:
  """``p`` with every entry at least ``floor``, renormalised (a valid solver ``init``)."""
  q = np.maximum(np.asarray(p, np.float64), floor)
  return q / q.sum(-1, keepdims=True)
