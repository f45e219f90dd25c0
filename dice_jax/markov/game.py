"""Tabular discounted Markov games with agent- and state-dependent temperatures (DESIGN §6)."""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from dice_jax import _validation


@struct.dataclass
class MarkovGame:
  """An N-agent tabular discounted Markov game, or a batch of games of one shape.

  With states ``s = 0..S-1`` and joint actions ``a = (a_1, ..., a_N)``:

  * ``transitions[..., s, a_1, ..., a_N, s'] = P(s' | s, a)`` (rows sum to 1);
  * ``rewards[i][..., s, a_1, ..., a_N] = R_i(s, a)``;
  * ``gamma`` in ``[0, 1)``, shape ``(*batch,)``;
  * ``initial[..., s] = mu_0(s)``, the initial state distribution;
  * ``temperature[..., i, s] = tau_i(s) > 0``;
  * ``log_reference[i][..., s, a_i] = log rho_i(a_i | s)``.

  The HQRE (DESIGN §6) is the stationary profile with
  ``pi_i(.|s) = softmax(log rho_i(.|s) + Q_i(s, .) / tau_i(s))`` for every agent and state,
  where ``Q_i`` is the regularised action value of :mod:`dice_jax.markov.evaluation`.

  A registered pytree (every field is an array), so ``jax.vmap`` over a batched game maps its
  leading axis. Build it with :meth:`from_arrays`, which validates the input.

  Example:
    >>> import numpy as np
    >>> g = MarkovGame.from_arrays(np.ones((1, 2, 2, 1)), [np.eye(2)[None], -np.eye(2)[None]],
    ...                            gamma=0.0, temperature=1.0)
    >>> g.num_actions, g.num_states
    ((2, 2), 1)
  """

  transitions: jax.Array
  rewards: Tuple[jax.Array, ...]
  gamma: jax.Array
  initial: jax.Array
  temperature: jax.Array
  log_reference: Tuple[jax.Array, ...]

  @classmethod
  def from_arrays(
    cls,
    transitions,
    rewards,
    gamma,
    *,
    temperature,
    initial=None,
    reference: Optional[Sequence] = None,
    dtype=None,
  ) -> "MarkovGame":
    """Build and validate a Markov game (host-side checks, before any compilation).

    Args:
      transitions: ``P``, shape ``(*batch, S, n_1, ..., n_N, S)``; every row ``P(. | s, a)`` a
        distribution.
      rewards: one array per agent (or an array with a leading agent axis), each of shape
        ``(*batch, S, n_1, ..., n_N)``.
      gamma: discount factor(s) in ``[0, 1)``, broadcastable to ``(*batch,)``.
      temperature: ``tau > 0``, broadcastable to ``(*batch, N, S)``: a scalar, one per agent
        (a 1-D array of length N, or ``(*batch, N, 1)``), or one per agent and state.
      initial: ``mu_0``, broadcastable to ``(*batch, S)``; default uniform.
      reference: optional reference policies, one per agent, each broadcastable to
        ``(*batch, S, n_i)`` and strictly positive; default uniform.
      dtype: floating dtype; default the JAX default float type.

    Raises:
      ValueError: naming the argument, for ragged or mismatched shapes, non-finite values,
        rows of ``transitions`` that are not distributions, ``gamma`` outside ``[0, 1)``,
        temperatures ``<= 0``, or references / ``initial`` that are not distributions.
    """
    dtype = dtype or jnp.result_type(float)
    p = _as_array("transitions", transitions)
    if isinstance(rewards, (list, tuple)):
      rewards = [_as_array(f"rewards[{i}]", r) for i, r in enumerate(rewards)]
    else:
      r = _as_array("rewards", rewards)
      if r.ndim < 1:
        raise ValueError("rewards must hold one array per agent.")
      rewards = [r[i] for i in range(r.shape[0])]
    n = len(rewards)
    if n < 1:
      raise ValueError("rewards must hold one array per agent (N >= 1); got none.")
    shape = rewards[0].shape
    for i, r in enumerate(rewards):
      if r.shape != shape:
        raise ValueError(
          f"rewards[{i}] has shape {r.shape} but rewards[0] has shape {shape}; "
          "every agent's rewards are indexed by (state, joint action)."
        )
    if len(shape) < n + 1:
      raise ValueError(
        f"rewards[0] has {len(shape)} axes; an {n}-agent game needs at least "
        f"{n + 1} (state, then one per agent)."
      )
    batch = shape[: len(shape) - n - 1]
    num_states = shape[len(batch)]
    actions = shape[len(batch) + 1 :]
    if num_states < 1 or any(k < 1 for k in actions):
      raise ValueError(f"rewards have an empty state or action set: shape {shape}.")
    if p.shape != (*shape, num_states):
      raise ValueError(
        f"transitions has shape {p.shape}; expected {(*shape, num_states)} "
        "(batch, state, one axis per agent's actions, next state) to match rewards."
      )
    for i, r in enumerate(rewards):
      _validation.require_finite(f"rewards[{i}]", r)
    _validation.require_finite("transitions", p)
    if np.any(p < 0):
      raise ValueError("transitions must be non-negative; found a negative probability.")
    sums = p.sum(axis=-1)
    if sums.size and np.max(np.abs(sums - 1.0)) > 1e-8 * max(1, num_states):
      worst = np.unravel_index(np.argmax(np.abs(sums - 1.0)), sums.shape)
      raise ValueError(
        f"transitions rows must sum to 1 over the next state; the row at "
        f"{tuple(int(w) for w in worst)} sums to {sums[worst]!r}."
      )

    g = _as_array("gamma", gamma)
    _validation.broadcast_or_raise("gamma", g.shape, batch, f"batch shape {batch}")
    _validation.require_finite("gamma", g)
    if np.any(g < 0) or np.any(g >= 1):
      raise ValueError(
        f"gamma must lie in [0, 1); got {g.ravel()[np.argmax((g < 0) | (g >= 1))]!r}."
      )

    t = _as_array("temperature", temperature)
    if t.ndim == 1 and t.shape[0] == n:
      t = t[:, None]  # a 1-D array of length N is one temperature per agent
    _validation.broadcast_or_raise(
      "temperature",
      t.shape,
      (*batch, n, num_states),
      f"batch {batch} by {n} agents by {num_states} states",
    )
    _validation.require_positive("temperature", t)

    if initial is None:
      mu = np.full((*batch, num_states), 1.0 / num_states)
    else:
      mu = _validation.distribution(
        "initial", initial, num_states, batch, strict=False, atol=1e-8, meaning="states"
      )
    if reference is None:
      log_ref = [np.full((*batch, num_states, k), -math.log(k)) for k in actions]
    else:
      log_ref = [
        np.log(r)
        for r in _validation.profile(
          "reference", reference, actions, (*batch, num_states), dtype=dtype, what="agent"
        )
      ]
    for name, a in [
      ("transitions", p),
      ("gamma", g),
      ("temperature", t),
      *((f"rewards[{i}]", r) for i, r in enumerate(rewards)),
    ]:
      _validation.fits_dtype(name, a, dtype)
    if np.any(np.asarray(t, dtype) <= 0):
      raise ValueError(
        f"temperature has an entry that is 0 in {np.dtype(dtype).name}; "
        "temperatures must be > 0 in the game's dtype."
      )
    return cls(
      transitions=jnp.asarray(p, dtype),
      rewards=tuple(jnp.asarray(r, dtype) for r in rewards),
      gamma=jnp.asarray(np.broadcast_to(g, batch), dtype),
      initial=jnp.asarray(np.broadcast_to(mu, (*batch, num_states)), dtype),
      temperature=jnp.asarray(np.broadcast_to(t, (*batch, n, num_states)), dtype),
      log_reference=tuple(jnp.asarray(l, dtype) for l in log_ref),
    )

  @property
  def num_agents(self) -> int:
    return len(self.rewards)

  @property
  def num_actions(self) -> Tuple[int, ...]:
    return tuple(self.rewards[0].shape[-self.num_agents :])

  @property
  def num_states(self) -> int:
    return self.rewards[0].shape[-self.num_agents - 1]

  @property
  def batch_shape(self) -> Tuple[int, ...]:
    return tuple(self.rewards[0].shape[: -self.num_agents - 1])

  @property
  def dtype(self):
    return self.rewards[0].dtype

  def __getitem__(self, index) -> "MarkovGame":
    """Index the batch axes: ``games[3]`` is the fourth game of a batch."""
    if not self.batch_shape:
      raise IndexError("this game has no batch axes to index")
    return jax.tree_util.tree_map(lambda x: x[index], self)

  def replace_temperature(self, temperature) -> "MarkovGame":
    """The same game with temperatures broadcast to ``(*batch, N, S)`` (checked > 0)."""
    _validation.require_positive("temperature", temperature)
    t = jnp.broadcast_to(jnp.asarray(temperature, self.dtype), self.temperature.shape)
    return self.replace(temperature=t)


def _as_array(name: str, x) -> np.ndarray:
  """``x`` as a float64 NumPy array; non-numbers are a ``TypeError``, ragged lists a ``ValueError``."""
  return np.asarray(_validation.real_array(name, x), dtype=np.float64)
