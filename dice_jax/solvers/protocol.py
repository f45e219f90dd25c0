"""The problem protocol: the only thing a solver sees of a game family.

A *problem* is a pytree (a ``flax.struct`` dataclass) that fixes one game, its temperatures and
its reference policies, and asks for the profile ``x`` with

    x_r = b_r(x) := softmax(z_r(x)),       z_r(x) = log rho_r + (gradient of agent i's payoff
                                            with respect to x_r) / tau_r,

for every *row* ``r`` of every agent ``i``: a row is one simplex an agent chooses on -- the
agent's single mixed strategy in a normal-form game (DESIGN §3), its policy in one state of a
Markov game (§6, ``Q`` in place of ``v``), in one observation, or its strategy for one type of
a Bayesian game. Agent ``i``'s log-probabilities are one array of shape ``(*rows_i, n_i)``;
rows may have any number of axes (none for a normal-form game).

Every solver in :mod:`dice_jax.solvers` (mirror, optimistic, extragradient, damped,
continuation, auto) is written once against these members, each with one meaning:

* ``log_reference`` -- per agent ``log rho_i``, shape ``(*rows_i, n_i)``: the start of the
  principal branch (and the default initial profile).
* ``row_temperatures()`` -- per agent ``tau_i`` per row, shape ``rows_i``.
* ``min_temperature()`` / ``max_temperature()`` -- over every agent and row.
* ``response_logits(logits, probs)`` -- per agent the unnormalised logits ``z_i`` of the
  responses ``b_i`` at the profile ``x`` (given both as normalised log-probabilities and as
  probabilities; solvers carry both so that no ``exp`` is repeated).
* ``residual(probs, z)`` -- the fixed-point residual ``max_{i,r} ||x_r - softmax(z_r)||_1``
  (:func:`dice_jax.equilibrium.residual.row_residual`).
* ``gaps(logits)`` -- per agent a non-negative regularised gap, zero exactly at the HQRE
  (shape ``(N,)``).
* ``lipschitz()`` -- ``L``, the scale of how fast the payoff gradients move with the profile:
  a rigorous Lipschitz bound for normal-form and Bayesian games, a documented scale for Markov
  and observation games. Solvers derive their default steps from ``min tau / L**2`` and
  ``L / min tau``; ``L = 0`` (a constant game) is allowed.
* ``scale_payoffs(s)`` -- the same problem with every payoff multiplied by ``s`` (the
  temperatures kept). At ``s = 0`` the HQRE is ``rho``; ``s`` from 0 to 1 is the principal
  branch continuation follows (temperature ``tau / s``).
* ``uniqueness_certified()`` -- whether a cheap rigorous bound proves the HQRE unique
  (``method="auto"`` then runs a first-order method; otherwise continuation).
* ``postprocess(logits, outcome)`` -- the family's :class:`dice_jax.solvers.Solution` for the
  returned profile and the engine's :class:`Outcome` (steps, result code, residual, history,
  method): the one place a family adds its own diagnostics (e.g. Markov values).

Implementations: :class:`dice_jax.equilibrium.HQREProblem` (normal-form and any game with
``utilities``), :class:`dice_jax.markov.MarkovProblem` (each value convention),
:class:`dice_jax.markov.BayesianProblem`, :class:`dice_jax.markov.ObservationProblem`.
A problem describes one unbatched game inside the solvers; batches are ``jax.vmap`` of it.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Protocol, Tuple, runtime_checkable

import jax

Profile = Tuple[jax.Array, ...]


class Outcome(NamedTuple):
  """What the engine knows at the end of a solve (one game).

  Attributes:
    residual: fixed-point residual of the returned profile.
    steps: solver steps taken, ``int32``.
    result: a :class:`dice_jax.solvers.RESULT` code.
    history: the residual at every check, or ``None``.
    method: a :class:`dice_jax.solvers.METHOD` code: the method that produced the profile.
    bifurcations: bifurcation points the solver passed (continuation; 0 for the others).
  """

  residual: jax.Array
  steps: jax.Array
  result: jax.Array
  history: Optional[jax.Array]
  method: jax.Array
  bifurcations: jax.Array


@runtime_checkable
class Problem(Protocol):
  """The protocol every problem implements (see the module docstring)."""

  log_reference: Profile

  def row_temperatures(self) -> Profile: ...

  def min_temperature(self) -> jax.Array: ...

  def max_temperature(self) -> jax.Array: ...

  def response_logits(self, logits: Profile, probs: Profile) -> Profile: ...

  def residual(self, probs: Profile, response_logits: Profile) -> jax.Array: ...

  def gaps(self, logits: Profile) -> jax.Array: ...

  def lipschitz(self) -> jax.Array: ...

  def scale_payoffs(self, scale) -> "Problem": ...

  def uniqueness_certified(self) -> jax.Array: ...

  def postprocess(self, logits: Profile, outcome: Outcome): ...
