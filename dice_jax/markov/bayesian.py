"""One-shot Bayesian games with type-dependent temperatures (DESIGN §6).

Agent i has types ``theta_i in {0..T_i-1}``, the types are drawn from a common prior
``p(theta_1, ..., theta_N)``, payoffs are ``U_i(theta, a)`` and agent i plays a strategy
``x_i(. | theta_i)`` with temperature ``tau_i(theta_i)`` and reference ``rho_i(. | theta_i)``.
The interim utility vector of type ``theta_i`` is

    v_i(theta_i)[a_i] = sum_{theta_{-i}} p(theta_{-i} | theta_i)
                        sum_{a_{-i}} prod_{j != i} x_j(a_j | theta_j) U_i(theta, a_i, a_{-i}),

and the HQRE is ``x_i(.|theta_i) = softmax(log rho_i(.|theta_i) + v_i(theta_i) / tau_i(theta_i))``
for every agent and type: the logit agent-form QRE of the Bayesian game (McKelvey & Palfrey,
"Quantal response equilibria for extensive form games", Exp. Econ. 1998), with precision
``1 / tau_i(theta_i)`` per type. Equivalently, the logit QRE at ``lambda = 1`` of the agent-form
normal-form game whose player ``(i, theta_i)`` has payoff ``p(theta_i)^{-1} tau_i(theta_i)^{-1}
sum_{theta_{-i}} p(theta) U_i(theta, a)`` (the tests check exactly this against Gambit).
"""
from __future__ import annotations

import math
import string
from typing import Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from dice_jax import _validation
from dice_jax.solvers._solve import default_tol
from dice_jax.solvers.engine import iterate
from dice_jax.solvers.solution import Solution


@struct.dataclass
class BayesianGame:
  """A one-shot Bayesian game (unbatched).

  Attributes:
    prior: ``p(theta)``, shape ``(T_1, ..., T_N)``.
    payoffs: per agent ``U_i(theta, a)``, shape ``(T_1, ..., T_N, n_1, ..., n_N)``.
    temperature: per agent ``tau_i(theta_i)``, shape ``(T_i,)``.
    log_reference: per agent ``log rho_i(.|theta_i)``, shape ``(T_i, n_i)``.
  """

  prior: jax.Array
  payoffs: Tuple[jax.Array, ...]
  temperature: Tuple[jax.Array, ...]
  log_reference: Tuple[jax.Array, ...]

  @classmethod
  def from_arrays(cls, prior, payoffs, *, temperature, reference: Optional[Sequence] = None,
                  dtype=None) -> "BayesianGame":
    """Build and validate a Bayesian game.

    Args:
      prior: the common prior, shape ``(T_1, ..., T_N)``, non-negative, summing to 1, with every
        type of every agent of positive marginal probability.
      payoffs: one array per agent, shape ``(T_1, ..., T_N, n_1, ..., n_N)``.
      temperature: a scalar, one per agent (length N), or a sequence of N arrays ``(T_i,)``.
      reference: optional per-agent reference strategies, broadcastable to ``(T_i, n_i)``.

    Raises:
      ValueError: naming the argument, for mismatched shapes, non-finite values, a prior that is
        not a distribution or has a type of zero marginal probability, temperatures ``<= 0``.
    """
    dtype = dtype or jnp.result_type(float)
    pr = np.asarray(prior, dtype=np.float64)
    n = pr.ndim
    if n < 1 or len(payoffs) != n:
      raise ValueError(f"payoffs must hold one array per agent ({n}, the prior's axes); "
                       f"got {len(payoffs)}.")
    _validation.require_finite("prior", pr)
    if np.any(pr < 0) or abs(pr.sum() - 1) > 1e-8:
      raise ValueError("prior must be a probability distribution over type profiles.")
    types = pr.shape
    for i in range(n):
      marginal = pr.sum(axis=tuple(j for j in range(n) if j != i))
      if np.any(marginal <= 0):
        raise ValueError(f"prior gives agent {i}'s type {int(np.argmin(marginal))} probability "
                         "0; drop that type (its conditional beliefs are undefined).")
    us = []
    for i, u in enumerate(payoffs):
      try:
        u = np.asarray(u, dtype=np.float64)
      except (ValueError, TypeError):
        raise ValueError(f"payoffs[{i}] must be a rectangular numeric array.") from None
      if u.shape[:n] != types or u.ndim != 2 * n:
        raise ValueError(f"payoffs[{i}] has shape {u.shape}; expected the type axes {types} "
                         f"followed by {n} action axes.")
      _validation.require_finite(f"payoffs[{i}]", u)
      us.append(u)
    actions = us[0].shape[n:]
    if any(u.shape != us[0].shape for u in us):
      raise ValueError(f"payoffs must all have shape {us[0].shape}.")
    if np.ndim(temperature) == 0 or (np.ndim(temperature) == 1 and
                                     not isinstance(temperature[0], (list, tuple, np.ndarray))):
      t = np.broadcast_to(np.asarray(temperature, np.float64), (n,))
      temps = [np.full(types[i], t[i]) for i in range(n)]
    else:
      if len(temperature) != n:
        raise ValueError(f"temperature must hold one array per agent ({n}).")
      temps = []
      for i, t in enumerate(temperature):
        t = np.asarray(t, np.float64)
        _validation.broadcast_or_raise(f"temperature[{i}]", t.shape, (types[i],),
                                       f"{types[i]} types of agent {i}")
        temps.append(np.broadcast_to(t, (types[i],)))
    for i, t in enumerate(temps):
      _validation.require_positive(f"temperature[{i}]", t)
    if reference is None:
      refs = [np.full((types[i], k), -math.log(k)) for i, k in enumerate(actions)]
    else:
      refs = []
      for i, (rho, k) in enumerate(zip(reference, actions)):
        rho = np.asarray(rho, np.float64)
        _validation.broadcast_or_raise(f"reference[{i}]", rho.shape, (types[i], k),
                                       f"{types[i]} types by {k} actions")
        _validation.require_distribution(f"reference[{i}]", rho)
        refs.append(np.log(np.broadcast_to(rho, (types[i], k))))
    return cls(prior=jnp.asarray(pr, dtype), payoffs=tuple(jnp.asarray(u, dtype) for u in us),
               temperature=tuple(jnp.asarray(t, dtype) for t in temps),
               log_reference=tuple(jnp.asarray(l, dtype) for l in refs))

  @property
  def num_agents(self) -> int:
    return self.prior.ndim

  @property
  def num_types(self) -> Tuple[int, ...]:
    return tuple(self.prior.shape)

  @property
  def num_actions(self) -> Tuple[int, ...]:
    return tuple(self.payoffs[0].shape[self.num_agents:])

  def utilities(self, probs) -> Tuple[jax.Array, ...]:
    """Interim utility vectors ``v_i(theta_i)``, shape ``(T_i, n_i)`` (module docstring)."""
    n = self.num_agents
    types, acts = string.ascii_uppercase[:n], string.ascii_lowercase[:n]
    out = []
    for i in range(n):
      operands = [self.prior, self.payoffs[i]]
      specs = [types, types + acts]
      for j in range(n):
        if j != i:
          operands.append(probs[j])
          specs.append(types[j] + acts[j])
      joint = jnp.einsum(",".join(specs) + "->" + types[i] + acts[i], *operands)
      marginal = jnp.sum(self.prior, axis=tuple(j for j in range(n) if j != i))
      out.append(joint / marginal[:, None])
    return tuple(out)


def _prox(logits, z, w):
  return tuple(jax.nn.log_softmax(wi[:, None] * l + (1 - wi[:, None]) * zi, axis=-1)
               for l, zi, wi in zip(logits, z, w))


@struct.dataclass
class BayesianProblem:
  """The engine's view of a Bayesian game: responses, residual (max over agents and types) and
  gaps (per agent, ``sum_theta_i p(theta_i) tau_i(theta_i) KL(x_i(.|theta_i) || b_i(.|theta_i))``,
  the ex-ante gain of a regularised best response)."""

  game: BayesianGame

  def response_logits(self, logits):
    v = self.game.utilities(tuple(jnp.exp(l) for l in logits))
    return tuple(lr + vi / t[:, None] for lr, vi, t in
                 zip(self.game.log_reference, v, self.game.temperature))

  def residual(self, logits, z):
    return jnp.max(jnp.stack([jnp.max(jnp.sum(jnp.abs(jnp.exp(l) - jax.nn.softmax(zi, -1)), -1))
                              for l, zi in zip(logits, z)]))

  def gaps(self, logits):
    z = self.response_logits(logits)
    n = self.game.num_agents
    out = []
    for i, (l, zi, t) in enumerate(zip(logits, z, self.game.temperature)):
      kl = jnp.sum(jnp.exp(l) * (l - jax.nn.log_softmax(zi, -1)), -1)
      marginal = jnp.sum(self.game.prior, axis=tuple(j for j in range(n) if j != i))
      out.append(jnp.sum(marginal * t * kl))
    return jnp.stack(out)


@struct.dataclass
class BayesianExtragradient:
  """Extragradient mirror steps per agent and type (as :class:`dice_jax.solvers.Extragradient`),
  ``w_i(theta_i) = 1 / (1 + eta tau_i(theta_i))``, ``eta = step_scale / min tau``."""

  step_scale: float = 1.0
  check_every: int = struct.field(pytree_node=False, default=1)

  def init(self, problem: BayesianProblem, logits):
    tmin = jnp.min(jnp.stack([jnp.min(t) for t in problem.game.temperature]))
    eta = self.step_scale / tmin
    return logits, tuple(1.0 / (1.0 + eta * t) for t in problem.game.temperature)

  def step(self, problem: BayesianProblem, state):
    logits, w = state
    z = problem.response_logits(logits)
    r = problem.residual(logits, z)
    look = _prox(logits, z, w)
    new = _prox(logits, problem.response_logits(look), w)
    return (new, w), logits, r, jnp.bool_(True)


def _solve_one(game, logits, tol, max_steps):
  return iterate(BayesianExtragradient(), BayesianProblem(game=game), logits, tol=tol,
                 max_steps=max_steps)


_solve_jit = jax.jit(_solve_one)


def solve_bayesian(game: BayesianGame, *, tol: Optional[float] = None,
                   max_steps: int = 10_000) -> Solution:
  """The HQRE (logit agent-form QRE with type-dependent temperatures) of a Bayesian game.

  Returns a :class:`dice_jax.solvers.Solution` whose ``logits[i]`` has shape ``(T_i, n_i)``:
  row ``theta_i`` is ``log x_i(. | theta_i)``.

  Example:
    >>> import numpy as np
    >>> g = BayesianGame.from_arrays(np.array([0.5, 0.5])[:, None] * np.ones((2, 1)) / 1,
    ...   [np.zeros((2, 1, 2, 2)), np.zeros((2, 1, 2, 2))], temperature=1.0)
    >>> np.asarray(solve_bayesian(g).probabilities[0]).round(3).tolist()
    [[0.5, 0.5], [0.5, 0.5]]
  """
  if not isinstance(game, BayesianGame):
    raise ValueError(f"game must be a BayesianGame; got {type(game).__name__}.")
  if tol is not None and not (np.isfinite(tol) and tol > 0):
    raise ValueError(f"tol must be a finite number > 0; got {tol!r}.")
  if not (int(max_steps) == max_steps and max_steps >= 1):
    raise ValueError(f"max_steps must be a positive integer; got {max_steps!r}.")
  dtype = game.prior.dtype
  tol = default_tol(dtype) if tol is None else tol
  return _solve_jit(game, game.log_reference, jnp.asarray(tol, dtype), jnp.int32(max_steps))
