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

from typing import Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from dice_jax.markov import evaluation as ev
from dice_jax.markov.game import MarkovGame
from dice_jax.solvers._solve import default_tol
from dice_jax.solvers.engine import iterate
from dice_jax.solvers.solution import Solution


@struct.dataclass
class ObservationGame:
  """A :class:`MarkovGame` with observation maps.

  Attributes:
    game: the underlying Markov game (unbatched). Its ``log_reference`` is ignored; the
      references are per observation.
    observations: per agent an ``int32`` array ``(S,)``: ``omega_i(s)`` in ``[0, O_i)``.
    log_reference: per agent ``log rho_i(. | o)``, shape ``(O_i, n_i)``.
  """

  game: MarkovGame
  observations: Tuple[jax.Array, ...]
  log_reference: Tuple[jax.Array, ...]

  @classmethod
  def create(cls, game: MarkovGame, observations: Sequence, *,
             reference: Optional[Sequence] = None) -> "ObservationGame":
    """Validate and build. Every observation ``0..O_i-1`` must occur (``O_i = max + 1``).

    Raises:
      ValueError: naming the argument, for a batched game, a wrong number of maps, maps of the
        wrong length, non-integer or negative entries, unused observations, bad references.
    """
    if not isinstance(game, MarkovGame) or game.batch_shape:
      raise ValueError("game must be one unbatched MarkovGame.")
    n, s = game.num_agents, game.num_states
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
    if reference is None:
      refs = [np.full((c, k), -np.log(k)) for c, k in zip(counts, game.num_actions)]
    else:
      from dice_jax import _validation
      refs = []
      for i, (rho, c, k) in enumerate(zip(reference, counts, game.num_actions)):
        _validation.broadcast_or_raise(f"reference[{i}]", np.shape(rho), (c, k),
                                       f"{c} observations by {k} actions")
        _validation.require_distribution(f"reference[{i}]", rho)
        refs.append(np.log(np.broadcast_to(np.asarray(rho, np.float64), (c, k))))
    return cls(game=game, observations=tuple(jnp.asarray(o, jnp.int32) for o in maps),
               log_reference=tuple(jnp.asarray(r, game.dtype) for r in refs))

  @property
  def num_observations(self) -> Tuple[int, ...]:
    return tuple(l.shape[0] for l in self.log_reference)

  def state_game(self) -> MarkovGame:
    """The Markov game whose per-state reference is ``rho_i(. | omega_i(s))``."""
    return self.game.replace(log_reference=tuple(
        lr[o] for lr, o in zip(self.log_reference, self.observations)))

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
  return ev.solve_diagonally_dominant(a.T, og.game.initial[:, None])[:, 0]


@struct.dataclass
class ObservationProblem:
  """The engine's view: response logits from ``jax.grad`` of ``J_i`` (module docstring)."""

  game: ObservationGame
  convention: str = struct.field(pytree_node=False, default="own")

  def weights(self, logits) -> Tuple[jax.Array, ...]:
    """``w_i(o) = sum_{s: omega_i(s)=o} d(s) tau_i(s)``, shape ``(O_i,)``."""
    d = occupancy(self.game, logits)
    return tuple(jax.ops.segment_sum(d * self.game.game.temperature[i], o, num_segments=c)
                 for i, (o, c) in enumerate(zip(self.game.observations,
                                                 self.game.num_observations)))

  def response_logits(self, logits) -> ev.Policy:
    probs = tuple(jnp.exp(l) for l in logits)
    # One reverse-mode Jacobian of (J_1, ..., J_N) (a single traced evaluation, N vmapped
    # cotangents); agent i's block is grad_{pi_i} J_i.
    jac = jax.jacrev(lambda p: objectives(self.game, p, self.convention))(probs)
    grads = [jac[i][i] for i in range(len(logits))]
    out = []
    for l, lr, g, w in zip(logits, self.game.log_reference, grads, self.weights(logits)):
      reached = w > jnp.finfo(w.dtype).tiny
      safe = jnp.where(reached, w, 1.0)[:, None]
      base = lr if self.convention == "logit" else l
      out.append(jnp.where(reached[:, None], base + g / safe, l))
    return tuple(out)

  def residual(self, logits, z) -> jax.Array:
    return jnp.max(jnp.stack([jnp.max(jnp.sum(jnp.abs(jnp.exp(l) - jax.nn.softmax(zi, -1)), -1))
                              for l, zi in zip(logits, z)]))

  def gaps(self, logits) -> jax.Array:
    """Per agent ``sum_o w_i(o) KL(pi_i(.|o) || b_i(.|o))`` (occupancy-weighted)."""
    z = self.response_logits(logits)
    return jnp.stack([jnp.sum(w * jnp.sum(jnp.exp(l) * (l - jax.nn.log_softmax(zi, -1)), -1))
                      for l, zi, w in zip(logits, z, self.weights(logits))])


@struct.dataclass
class ObservationExtragradient:
  """Extragradient steps ``prox(pi, b) = log_softmax(w log pi + (1 - w) log b)`` per
  observation with the constant weight ``w = 1 / (1 + step_scale)``."""

  step_scale: float = 1.0
  check_every: int = struct.field(pytree_node=False, default=1)

  def init(self, problem, logits):
    return logits

  def step(self, problem: ObservationProblem, logits):
    w = 1.0 / (1.0 + self.step_scale)

    def half(k, carry):  # evaluate a point, prox from logits: traced once for both half-steps
      point, r = carry
      z = problem.response_logits(point)
      r = jnp.where(k == 0, problem.residual(point, z), r)
      return tuple(jax.nn.log_softmax(w * a + (1 - w) * b, -1) for a, b in zip(logits, z)), r

    new, r = jax.lax.fori_loop(0, 2, half, (logits, jnp.asarray(jnp.inf, logits[0].dtype)))
    return new, logits, r, jnp.bool_(True)


def _solve_one(og, logits, tol, max_steps, convention):
  return iterate(ObservationExtragradient(), ObservationProblem(game=og, convention=convention),
                 logits, tol=tol, max_steps=max_steps)


_solve_jit = jax.jit(_solve_one, static_argnums=4)


def solve_observation(og: ObservationGame, *, convention: str = "own", tol: Optional[float] = None,
                      max_steps: int = 10_000) -> Solution:
  """The HQRE of observation-conditioned policies; ``logits[i]`` has shape ``(O_i, n_i)``.

  No uniqueness or convergence guarantee in general (aliasing breaks the Markov structure);
  check ``result``.
  """
  if not isinstance(og, ObservationGame):
    raise ValueError(f"og must be an ObservationGame; got {type(og).__name__}.")
  ev.check_convention(convention)
  if convention == "zero_sum":
    from dice_jax.markov.solve import check_zero_sum
    check_zero_sum(og.game)
  if tol is not None and not (np.isfinite(tol) and tol > 0):
    raise ValueError(f"tol must be a finite number > 0; got {tol!r}.")
  if not (int(max_steps) == max_steps and max_steps >= 1):
    raise ValueError(f"max_steps must be a positive integer; got {max_steps!r}.")
  dtype = og.game.dtype
  tol = default_tol(dtype) if tol is None else tol
  return _solve_jit(og, og.log_reference, jnp.asarray(tol, dtype), jnp.int32(max_steps),
                    convention)
