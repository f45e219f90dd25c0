"""Per-state temperatures of the HQRE and their schedules, shared by DICE-PC and DICE-FT.

Both algorithms regularise each agent ``i`` in each state ``s`` by its own temperature
``tau_i(s) > 0`` (DESIGN §2, §3). Users give them in a few forms; these functions turn every form
into an array and say which entry is wrong:

* :func:`state_temperatures` -- one ``tau(s)`` per state key: a number, a mapping from state
  keys (every state must be named), or a callable ``tau(state)`` (DICE-FT's prompts).
* :func:`role_state_temperatures` -- ``[S, N]``: a scalar, one per role ``[N]`` or per state and
  role ``[S, N]`` (DICE-PC's roles).
* :func:`annealed_temperatures` -- the schedule ``tau_t(s) = max(floor(s), tau_end +
  (tau_0 - tau_end) c_t(s))`` with ``c_t(s)`` in ``[0, 1]`` (how much is still uncertain in state
  ``s``) and ``floor(s)`` a certified lower bound (e.g. ``(1 + margin) alpha_upper(s)``, which keeps
  every round's HQRE certified unique, DESIGN §4).
"""

from __future__ import annotations

from typing import Callable, Hashable, Mapping, Optional, Sequence, Union

import numpy as np

from dice_jax import _validation
from dice_jax.rollouts import fields

__all__ = [
  "annealed_temperatures",
  "positive_array",
  "role_state_temperatures",
  "state_temperatures",
]


def positive_array(value, name: str) -> np.ndarray:
  """``value`` as a float64 array whose entries are finite and ``> 0`` (any shape).

  Raises:
    ValueError: naming ``name``, for non-numeric, complex, non-finite or non-positive entries.
  """
  a = fields.numeric_array(name, value, "a number or an array of numbers")
  _validation.require_positive(name, a)
  return a


def state_temperatures(
  value: Union[float, Mapping, Callable], states: Sequence[Hashable], *, name: str = "temperature"
) -> np.ndarray:
  """``[len(states)]`` temperatures ``tau(s)`` for the given state keys.

  Args:
    value: a number (every state), a mapping ``{state: tau}`` naming every state, or a callable
      ``tau(state)``.
    states: the state key of each entry (repeats allowed).
    name: the argument's name for error messages.

  Raises:
    ValueError: naming ``name`` and the state: a state the mapping does not name, a callable that
      raises or returns something that is not a number ``> 0``.
  """
  if isinstance(value, Mapping):
    missing = [s for s in dict.fromkeys(states) if s not in value]
    if missing:
      raise ValueError(
        f"{name} gives no temperature for state(s) {missing[:5]!r}; it names {list(value)[:10]!r}."
      )
    out = [value[s] for s in states]
  elif callable(value):
    out = []
    for s in states:
      try:
        out.append(value(s))
      except Exception as e:  # a user callable: report which state it failed on
        raise ValueError(f"{name}({s!r}) raised {type(e).__name__}: {e}") from None
  else:
    tau = positive_array(value, name)
    if tau.ndim != 0:
      raise ValueError(
        f"{name} must be a number, a mapping from states or a callable; got an "
        f"array of shape {tau.shape}."
      )
    return np.full(len(states), float(tau))
  taus = np.empty(len(states))
  for k, (s, t) in enumerate(zip(states, out)):
    if isinstance(t, (str, bytes)) or np.ndim(t) != 0:
      raise ValueError(f"{name}[{s!r}] must be one number > 0; got {t!r}.")
    taus[k] = float(positive_array(t, f"{name}[{s!r}]"))
  return taus


def role_state_temperatures(
  value, num_states: int, num_roles: int, *, name: str = "temperature"
) -> np.ndarray:
  """``[S, N]`` temperatures from a scalar, one per role ``[N]`` or per state and role ``[S, N]``.

  Raises:
    ValueError: naming ``name``, for entries that are not finite and ``> 0`` or another shape.
  """
  s, n = int(num_states), int(num_roles)
  a = positive_array(value, name)
  if a.ndim == 0:
    return np.full((s, n), float(a))
  if a.shape == (n,):
    return np.broadcast_to(a, (s, n)).copy()
  if a.shape != (s, n):
    raise ValueError(
      f"{name} must be a scalar, one per role ({n},) or per state and role "
      f"({s}, {n}); got shape {a.shape}."
    )
  return a


def annealed_temperatures(
  start: np.ndarray, end: np.ndarray, uncertainty: np.ndarray, floor: Optional[np.ndarray] = None
) -> np.ndarray:
  """``max(floor, end + (start - end) * clip(uncertainty, 0, 1))``, broadcast per state.

  Args:
    start, end: ``[S, N]`` temperatures at full and at no uncertainty.
    uncertainty: ``[S]`` in ``[0, 1]`` (values outside are clipped).
    floor: optional ``[S]`` lower bound per state (the certified temperature).
  """
  c = np.clip(np.asarray(uncertainty, np.float64), 0.0, 1.0)[:, None]
  tau = np.asarray(end, np.float64) + (np.asarray(start, np.float64) - end) * c
  return tau if floor is None else np.maximum(tau, np.asarray(floor, np.float64)[:, None])
