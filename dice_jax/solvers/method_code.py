"""Method codes: which method produced a returned profile, one per game (``Solution.method``).

An explicit method always records its own code; :class:`dice_jax.solvers.Auto` records the
method that actually produced each game's answer (a first-order method, or continuation).

Each solver holds its code as a static dataclass field (``code``), not as a class attribute,
so that the code is part of the solver's pytree structure. JAX compares the structures of two
``register_dataclass`` types with equal static fields as equal (their hashes differ), so two
solvers with the same fields, such as :class:`dice_jax.solvers.Optimistic` and
:class:`dice_jax.solvers.Extragradient`, could otherwise share a jit-cache entry: once in the
test suite an optimistic solve ran the extragradient compilation and reported its code. The same failure is described in
https://github.com/cusp-ai-oss/kUPS/pull/114.
"""

from __future__ import annotations

from dice_jax.solvers.result import Codes


class METHOD(Codes):
  """Integer codes stored in :attr:`Solution.method` (``int32``, one per game)."""

  MIRROR = 0
  OPTIMISTIC = 1
  EXTRAGRADIENT = 2
  DAMPED = 3
  CONTINUATION = 4
  ANDERSON = 5

  NAMES = {
    0: "mirror",
    1: "optimistic",
    2: "extragradient",
    3: "damped",
    4: "continuation",
    5: "anderson",
  }
