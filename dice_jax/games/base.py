"""What a solver needs from a game: utility vectors at a profile.

A *profile* is a tuple ``(x_1, ..., x_N)`` of probability vectors, ``x_i`` of shape ``(n_i,)``
(or ``(..., n_i)`` with leading batch dimensions). A game is any pytree that offers

* ``num_actions`` -- the static tuple ``(n_1, ..., n_N)``;
* ``utilities(profile)`` -- the tuple of utility vectors ``v_i(x) = du_i/dx_i``, i.e.
  ``v_i(x)[a] = E_{a_{-i} ~ x_{-i}} u_i(a, a_{-i})`` for a multilinear game (DESIGN §2);
* ``payoff_halfrange()`` -- per-player bounds ``h_i`` with
  ``||v_i(x) - v_i(x')||_inf <= h_i * sum_{j != i} ||x_j - x'_j||_1``; solvers derive their
  automatic step sizes from it (see the solvers in :mod:`dice_jax.solvers`).

Every solver in :mod:`dice_jax.solvers` sees a game only through this protocol, so Bayesian,
Markov and utility-defined games plug in by implementing these three members.
"""

from __future__ import annotations

from typing import Protocol, Tuple, runtime_checkable

import jax

#: One probability vector ``x_i`` of shape ``(..., n_i)`` per player (a profile).
Profile = Tuple[jax.Array, ...]


@runtime_checkable
class Game(Protocol):
  """The protocol every game implements (see the module docstring)."""

  @property
  def num_actions(self) -> Tuple[int, ...]: ...

  def utilities(self, profile: Profile) -> Profile: ...

  def payoff_halfrange(self) -> jax.Array: ...
