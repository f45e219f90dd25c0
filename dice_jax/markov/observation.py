"""Observation-conditioned policies in Markov games (incomplete information, DESIGN §6).

Agent i sees ``o_i = omega_i(s)`` and plays ``pi_i(a | o_i)``; in state s the profile is
``pi_i(. | omega_i(s))``. Its objective is ``J_i(pi) = sum_s mu_0(s) V_i(s)`` with ``V_i`` the
regularised value of :mod:`dice_jax.markov.evaluation` (the KL term of state s uses
``tau_i(s)`` and ``rho_i(. | omega_i(s))``).

**HQRE condition.** Each ``pi_i(.|o)`` is a stationary point of ``J_i`` on its simplex. Write
``d(s) = [mu_0^T (I - gamma P_pi)^{-1}](s)`` for the (unnormalised) discounted occupancy and
``g_i(o) = dJ_i / dpi_i(.|o)`` for the gradient with ``pi_i(.|o)`` taken as free coordinates.
By the policy-gradient theorem (Sutton et al. 2000; Agarwal et al., JMLR 2021, direct
parameterisation with entropy)

    g_i(o)[a] = sum_{s: omega_i(s)=o} d(s) [ Q_i(s, a) - tau_i(s) (log pi_i(a|o) - log rho_i(a|o) + 1) ],

so with ``w_i(o) = sum_{s: omega_i(s)=o} d(s) tau_i(s)`` the stationarity condition
``g_i(o)[a] = const`` reads

    pi_i(.|o) = softmax( log pi_i(.|o) + g_i(o) / w_i(o) )
              = softmax( log rho_i(.|o) + sum_s d(s) Q_i(s, .) / sum_s d(s) tau_i(s) ),

the occupancy-weighted Q. ``g`` is computed by ``jax.grad`` of ``J_i`` (no hand-derived Q
average to drift); ``d`` by one transposed linear solve. With full observability this is the
Markov HQRE in every state of positive occupancy. Under ``"logit"`` (no KL in ``J``) the
response is ``softmax(log rho + g / w)``. An observation of zero occupancy has ``g = 0`` and
keeps its policy.
"""

from __future__ import annotations

import functools
from typing import Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from dice_jax.equilibrium.residual import row_kl, row_residual
from dice_jax.markov import evaluation as ev
from dice_jax.markov.game import MarkovGame
from dice_jax.markov.problem import MarkovProblem
from dice_jax.markov.solve import METHODS as MARKOV_METHODS
from dice_jax.markov.solve import check_zero_sum
from dice_jax.solvers import Extragradient
from dice_jax.solvers._solve import log_distributions, solve_games
from dice_jax.solvers.solution import Solution


@struct.dataclass
class ObservationGame:
  """A :class:`MarkovGame` with observation maps (or a batch of games sharing the maps).

  Attributes:
    game: the underlying Markov game, possibly batched. Its ``log_reference`` is ignored; the
      references are per observation.
    observations: per agent an ``int32`` array ``(*batch, S)``: ``omega_i(s)`` in ``[0, O_i)``
      (the same maps for every game of a batch).
    log_reference: per agent ``log rho_i(. | o)``, shape ``(*batch, O_i, n_i)``.
  """

  game: MarkovGame
  observations: Tuple[jax.Array, ...]
  log_reference: Tuple[jax.Array, ...]

  @classmethod
  def create(
    cls, game: MarkovGame, observations: Sequence, *, reference: Optional[Sequence] = None
  ) -> "ObservationGame":
    """Validate and build. Every observation ``0..O_i-1`` must occur (``O_i = max + 1``).

    Args:
      game: a :class:`MarkovGame`, possibly batched.
      observations: one map per agent, ``S`` non-negative integers (shared by a batch).
      reference: optional per-agent references, broadcastable to ``(*batch, O_i, n_i)``.

    Raises:
      ValueError: naming the argument, for a game that is not a MarkovGame, a wrong number of
        maps, maps of the wrong length, non-integer or negative entries, unused observations,
        bad references.
    """
    if not isinstance(game, MarkovGame):
      raise ValueError(f"game must be a MarkovGame; got {type(game).__name__}.")
    n, s, batch = game.num_agents, game.num_states, game.batch_shape
    if len(observations) != n:
      raise ValueError(f"observations must hold one map per agent ({n}); got {len(observations)}.")
    maps = []
    for i, o in enumerate(observations):
      o = np.asarray(o)
      if o.shape != (s,) or not np.issubdtype(o.dtype, np.integer) or np.any(o < 0):
        raise ValueError(f"observations[{i}] must be {s} non-negative integers (one per state).")
      if set(np.unique(o)) != set(range(o.max() + 1)):
        raise ValueError(f"observations[{i}] must use every observation 0..{o.max()}.")
      maps.append(o)
    counts = [int(o.max()) + 1 for o in maps]
    refs = log_distributions(
      "reference", reference, game.num_actions, [(*batch, c) for c in counts], game.dtype
    )
    if refs is None:
      refs = [np.full((*batch, c, k), -np.log(k)) for c, k in zip(counts, game.num_actions)]
    return cls(
      game=game,
      observations=tuple(jnp.asarray(np.broadcast_to(o, (*batch, s)), jnp.int32) for o in maps),
      log_reference=tuple(jnp.asarray(r, game.dtype) for r in refs),
    )

  @property
  def num_observations(self) -> Tuple[int, ...]:
    return tuple(l.shape[-2] for l in self.log_reference)

  def state_game(self) -> MarkovGame:
    """The Markov game whose per-state reference is ``rho_i(. | omega_i(s))``."""
    return self.game.replace(
      log_reference=tuple(lr[o] for lr, o in zip(self.log_reference, self.observations))
    )

  def state_logits(self, obs_logits) -> ev.Policy:
    """``log pi_i(. | omega_i(s))`` per state, shape ``(S, n_i)``."""
    return tuple(l[o] for l, o in zip(obs_logits, self.observations))


def objectives(og: ObservationGame, obs_probs, convention: str = "own") -> jax.Array:
  """``J_i = sum_s mu_0(s) V_i(s)`` for every agent, shape ``(N,)``, as a function of the
  observation policies' probabilities (free coordinates: differentiable in each entry)."""
  logits = og.state_logits(tuple(jnp.log(p) for p in obs_probs))
  v = ev.values(og.state_game(), logits, convention)
  return v @ og.game.initial


def occupancy(og: ObservationGame, obs_logits) -> jax.Array:
  """Discounted occupancy ``d = mu_0^T (I - gamma P_pi)^{-1}``, shape ``(S,)``."""
  p = ev.state_transitions(og.game, og.state_logits(obs_logits))
  a = jnp.eye(p.shape[-1], dtype=p.dtype) - og.game.gamma * p
  return ev.solve_bellman(a.T, og.game.initial[:, None])[:, 0]


@struct.dataclass
class ObservationProblem:
  """The HQRE of observation-conditioned policies of one (unbatched) game in the solvers'
  protocol (:mod:`dice_jax.solvers.protocol`): rows are observations, response logits from
  ``jax.grad`` of ``J_i`` (module docstring).

  Attributes:
    game: the :class:`ObservationGame`.
    convention: ``"own"``, ``"zero_sum"`` or ``"logit"`` (static).
  """

  game: ObservationGame
  convention: str = struct.field(pytree_node=False, default="own")

  @property
  def log_reference(self):
    return self.game.log_reference

  def weights(self, logits) -> Tuple[jax.Array, ...]:
    """``w_i(o) = sum_{s: omega_i(s)=o} d(s) tau_i(s)``, shape ``(O_i,)``."""
    d = occupancy(self.game, logits)
    return tuple(
      jax.ops.segment_sum(d * self.game.game.temperature[i], o, num_segments=c)
      for i, (o, c) in enumerate(zip(self.game.observations, self.game.num_observations))
    )

  # --- the problem protocol (dice_jax.solvers.protocol) ---------------------------------------

  def row_temperatures(self):
    """Per agent and observation the mean of ``tau_i(s)`` over the states it covers."""
    out = []
    for i, (o, c) in enumerate(zip(self.game.observations, self.game.num_observations)):
      t = self.game.game.temperature[i]
      total = jax.ops.segment_sum(t, o, num_segments=c)
      count = jax.ops.segment_sum(jnp.ones_like(t), o, num_segments=c)
      out.append(total / count)
    return tuple(out)

  def min_temperature(self) -> jax.Array:
    return jnp.min(self.game.game.temperature)

  def max_temperature(self) -> jax.Array:
    return jnp.max(self.game.game.temperature)

  def response_logits(self, logits, probs) -> ev.Policy:
    # One reverse-mode Jacobian of (J_1, ..., J_N) (a single traced evaluation, N vmapped
    # cotangents); agent i's block is grad_{pi_i} J_i.
    jac = jax.jacrev(lambda p: objectives(self.game, p, self.convention))(tuple(probs))
    grads = [jac[i][i] for i in range(len(logits))]
    out = []
    for l, lr, g, w in zip(logits, self.game.log_reference, grads, self.weights(logits)):
      reached = w > jnp.finfo(w.dtype).tiny
      safe = jnp.where(reached, w, 1.0)[:, None]
      base = lr if self.convention == "logit" else l
      out.append(jnp.where(reached[:, None], base + g / safe, l))
    return tuple(out)

  def residual(self, probs, z) -> jax.Array:
    return row_residual(probs, z)

  def gaps(self, logits) -> jax.Array:
    """Per agent ``sum_o w_i(o) KL(pi_i(.|o) || b_i(.|o))`` (occupancy-weighted)."""
    kl = row_kl(logits, self.response_logits(logits, tuple(jnp.exp(l) for l in logits)))
    return jnp.stack([jnp.sum(w * k) for k, w in zip(kl, self.weights(logits))])

  def lipschitz(self) -> jax.Array:
    """The scale of the underlying Markov problem (:meth:`MarkovProblem.lipschitz`)."""
    return MarkovProblem(game=self.game.game, convention=self.convention).lipschitz()

  def uniqueness_certified(self) -> jax.Array:
    """``False``: no cheap rigorous uniqueness bound is wired in for this family yet, so
    ``method="auto"`` follows the principal branch (continuation)."""
    return jnp.bool_(False)

  def scale_payoffs(self, scale) -> "ObservationProblem":
    g = self.game.game
    return self.replace(
      game=self.game.replace(game=g.replace(rewards=tuple(scale * r for r in g.rewards)))
    )

  def postprocess(self, logits, outcome) -> Solution:
    return Solution.from_outcome(logits, self.gaps(logits), outcome)


METHODS = dict(MARKOV_METHODS, extragradient=functools.partial(Extragradient, step_scale=1.0))


def solve_observation(
  og: ObservationGame,
  *,
  method="extragradient",
  convention: str = "own",
  init: Optional[Sequence] = None,
  tol: Optional[float] = None,
  max_steps: Optional[int] = None,
  history: bool = False,
) -> Solution:
  """The HQRE of observation-conditioned policies; ``logits[i]`` has shape ``(*batch, O_i, n_i)``.

  No uniqueness or convergence guarantee in general (aliasing breaks the Markov structure);
  check ``result``.

  Args:
    og: an :class:`ObservationGame` (possibly batched).
    method: a name in :data:`METHODS` (the Markov solvers; extragradient with
      ``eta = 1 / min tau``) or a solver object.
    convention: ``"own"``, ``"zero_sum"`` or ``"logit"``.
    init: optional initial policies per agent, broadcastable to ``(*batch, O_i, n_i)``.
    tol, max_steps, history: as for :func:`dice_jax.markov.solve_markov`.
  """
  if not isinstance(og, ObservationGame):
    raise ValueError(f"og must be an ObservationGame; got {type(og).__name__}.")
  ev.check_convention(convention)
  if convention == "zero_sum":
    check_zero_sum(og.game)
  batch, dtype = og.game.batch_shape, og.game.dtype
  logits = log_distributions(
    "init", init, og.game.num_actions, [(*batch, c) for c in og.num_observations], dtype
  )
  return solve_games(
    ObservationProblem,
    og,
    method=method,
    methods=METHODS,
    batch_shape=batch,
    dtype=dtype,
    logits=og.log_reference if logits is None else logits,
    options=(("convention", convention),),
    tol=tol,
    max_steps=max_steps,
    history=history,
  )
