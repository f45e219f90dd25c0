"""Hypothesis strategies for HQRE tests: games by family and shape, temperatures, references.

Games are built from a drawn integer seed with :mod:`dice_jax.games.random` (so examples
shrink to small seeds and a batch of games costs one draw); every payoff lies in [-1, 1].
Requires ``hypothesis`` (a test dependency).

Example::

    from hypothesis import given
    from dice_jax.testing import strategies as dst

    @given(dst.games(family="zero_sum", num_actions=(3, 3)), dst.temperatures(2))
    def test_something(game, tau):
        ...
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import strategies as st

from dice_jax.games import random as rg
from dice_jax.games.normal_form import NormalFormGame

FAMILIES = ("uniform", "zero_sum", "perturbed_zero_sum", "potential", "coordination")


def seeds() -> st.SearchStrategy[int]:
  return st.integers(min_value=0, max_value=2**31 - 1)


def num_actions(
  num_players: int = 2, min_actions: int = 2, max_actions: int = 4
) -> st.SearchStrategy[Tuple[int, ...]]:
  """Action counts ``(n_1, ..., n_N)``."""
  return st.tuples(*[st.integers(min_actions, max_actions) for _ in range(num_players)])


def temperatures(
  num_players: int,
  min_value: float = 0.05,
  max_value: float = 5.0,
  batch_shape: Tuple[int, ...] = (),
) -> st.SearchStrategy[np.ndarray]:
  """Positive temperatures ``(*batch_shape, num_players)``, log-uniform in the range."""
  size = int(np.prod(batch_shape, dtype=int)) * num_players
  lo, hi = np.log(min_value), np.log(max_value)
  return st.lists(st.floats(lo, hi), min_size=size, max_size=size).map(
    lambda v: np.exp(np.asarray(v, np.float64)).reshape(*batch_shape, num_players)
  )


def reference_policies(
  num_actions: Sequence[int], min_probability: float = 1e-3
) -> st.SearchStrategy[Tuple[np.ndarray, ...]]:
  """Strictly positive reference distributions, one per player."""

  def one(n):
    return st.lists(st.floats(min_probability, 1.0), min_size=n, max_size=n).map(
      lambda v: np.asarray(v) / np.sum(v)
    )

  return st.tuples(*[one(n) for n in num_actions])


def make_game(
  family: str,
  seed: int,
  num_actions: Sequence[int],
  batch_shape=(),
  epsilon: float = 0.1,
  dtype=None,
) -> NormalFormGame:
  """The game of ``family`` drawn from ``PRNGKey(seed)`` (deterministic)."""
  key = jax.random.PRNGKey(seed)
  if family == "uniform":
    return rg.uniform(key, num_actions, batch_shape, dtype)
  if family == "zero_sum":
    return rg.zero_sum(key, num_actions, batch_shape, dtype)
  if family == "perturbed_zero_sum":
    return rg.perturbed_zero_sum(key, num_actions, epsilon, batch_shape, dtype)
  if family == "potential":
    return rg.potential(key, num_actions, batch_shape, dtype)
  if family == "coordination":
    return rg.coordination(key, num_actions, batch_shape, dtype)
  raise ValueError(f"family must be one of {FAMILIES}; got {family!r}.")


@st.composite
def games(
  draw,
  family: Optional[str] = None,
  num_actions=(3, 3),
  batch_shape=(),
  epsilon: Optional[float] = None,
) -> NormalFormGame:
  """A (batch of) normal-form game(s) of ``family`` (drawn from :data:`FAMILIES` if ``None``)
  with ``num_actions`` (a tuple, or a strategy of tuples)."""
  fam = draw(st.sampled_from(FAMILIES)) if family is None else family
  shape = draw(num_actions) if isinstance(num_actions, st.SearchStrategy) else tuple(num_actions)
  if fam in ("zero_sum", "perturbed_zero_sum") and len(shape) != 2:
    fam = "uniform"
  eps = draw(st.floats(0.0, 1.0)) if epsilon is None else epsilon
  return make_game(fam, draw(seeds()), shape, tuple(batch_shape), eps)


def perturbed_zero_sum_with_alpha(
  seed: int, num_actions: Sequence[int], alpha, batch_shape=(), dtype=None
) -> NormalFormGame:
  """Two-player ``U_1 = A + eps C``, ``U_2 = -A + eps C`` with ``eps`` chosen so that the
  monotonicity constant is exactly ``alpha`` (broadcastable to ``batch_shape``):
  ``U_1 + U_2 = 2 eps C`` gives ``alpha = eps sigma_max(P_1 C P_2)`` (DESIGN §4)."""
  k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
  shape = (*tuple(batch_shape), *tuple(num_actions))
  a = jax.random.uniform(k1, shape, dtype or float, -1.0, 1.0)
  c = np.asarray(jax.random.uniform(k2, shape, dtype or float, -1.0, 1.0))
  p1 = np.eye(num_actions[0]) - 1.0 / num_actions[0]
  p2 = np.eye(num_actions[1]) - 1.0 / num_actions[1]
  sigma = np.linalg.svd(p1 @ c @ p2, compute_uv=False)[..., 0]
  eps = jnp.asarray(np.broadcast_to(alpha, tuple(batch_shape)) / sigma, a.dtype)
  c = jnp.asarray(c, a.dtype) * eps[..., None, None]
  return NormalFormGame((a + c, -a + c))


def certified_batch(seed: int, num_actions=(3, 4), batch_size: int = 16):
  """``(game, temperature)``: a batch of two-player games with known monotonicity constant
  ``alpha`` (:func:`perturbed_zero_sum_with_alpha`, ``alpha`` uniform on [0, 1]) and
  per-player temperatures with ``alpha / min tau`` uniform on [0.05, 0.95], so every game is
  certifiable (``mu = min tau - alpha > 0``). Deterministic in ``seed``."""
  rng = np.random.default_rng(seed)
  alpha = rng.uniform(0.0, 1.0, batch_size)
  fraction = rng.uniform(0.05, 0.95, batch_size)  # alpha / min tau
  tmin = np.maximum(alpha / fraction, 0.05)
  tau = tmin[:, None] * rng.uniform(1.0, 2.0, (batch_size, 2))
  tau[np.arange(batch_size), rng.integers(0, 2, batch_size)] = tmin
  return perturbed_zero_sum_with_alpha(seed, num_actions, alpha, (batch_size,)), tau


@st.composite
def certified_problems(draw, num_actions=(3, 4), batch_size: int = 16):
  """``(game, temperature, seed)`` from :func:`certified_batch` with a drawn seed."""
  seed = draw(seeds())
  game, tau = certified_batch(seed, num_actions, batch_size)
  return game, tau, seed


def random_profiles(
  seed: int, num_actions: Sequence[int], batch_shape=(), concentration: float = 0.5
) -> Tuple[np.ndarray, ...]:
  """Interior profiles drawn from Dirichlet(concentration) with NumPy (strictly positive)."""
  rng = np.random.default_rng(seed)
  out = []
  for n in num_actions:
    p = rng.dirichlet(np.full(n, concentration), tuple(batch_shape)) + 1e-6
    out.append(p / p.sum(-1, keepdims=True))
  return tuple(out)
