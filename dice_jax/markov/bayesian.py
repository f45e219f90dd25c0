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

import functools
import math
import string
from typing import Any, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from dice_jax import _validation
from dice_jax.equilibrium.problem import halfrange_lipschitz
from dice_jax.equilibrium.residual import row_kl, row_residual
from dice_jax.solvers import Extragradient
from dice_jax.solvers._solve import METHODS as NORMAL_FORM_METHODS
from dice_jax.solvers._solve import log_distributions, solve_games
from dice_jax.solvers.solution import Solution


@struct.dataclass
class BayesianGame:
  """A one-shot Bayesian game, or a batch of games of one shape.

  Attributes:
    prior: ``p(theta)``, shape ``(*batch, T_1, ..., T_N)``.
    payoffs: per agent ``U_i(theta, a)``, shape ``(*batch, T_1, ..., T_N, n_1, ..., n_N)``.
    temperature: per agent ``tau_i(theta_i)``, shape ``(*batch, T_i)``.
    log_reference: per agent ``log rho_i(.|theta_i)``, shape ``(*batch, T_i, n_i)``.
  """

  prior: jax.Array
  payoffs: Tuple[jax.Array, ...]
  temperature: Tuple[jax.Array, ...]
  log_reference: Tuple[jax.Array, ...]

  @classmethod
  def from_arrays(
    cls, prior, payoffs, *, temperature, reference: Optional[Sequence] = None, dtype=None
  ) -> "BayesianGame":
    """Build and validate a Bayesian game (or a batch: leading axes on every array).

    Args:
      prior: the common prior, shape ``(*batch, T_1, ..., T_N)``, non-negative, summing to 1,
        with every type of every agent of positive marginal probability.
      payoffs: one array per agent, shape ``(*batch, T_1, ..., T_N, n_1, ..., n_N)``.
      temperature: a scalar, one per agent (length N), or a sequence of N arrays broadcastable
        to ``(*batch, T_i)``.
      reference: optional per-agent reference strategies, broadcastable to ``(*batch, T_i, n_i)``.
      dtype: floating dtype; default the JAX default float type.

    Raises:
      ValueError: naming the argument, for mismatched shapes, non-finite values, a prior that is
        not a distribution or has a type of zero marginal probability, temperatures ``<= 0``.
    """
    dtype = dtype or jnp.result_type(float)
    pr = np.asarray(prior, dtype=np.float64)
    n = len(payoffs)
    if n < 1 or pr.ndim < n:
      raise ValueError(
        f"payoffs must hold one array per agent, and prior one type axis per "
        f"agent; got {n} payoff arrays and a prior of shape {pr.shape}."
      )
    batch, types = pr.shape[: pr.ndim - n], pr.shape[pr.ndim - n :]
    b = len(batch)
    _validation.require_finite("prior", pr)
    type_axes = tuple(range(b, b + n))
    if np.any(pr < 0) or np.max(np.abs(pr.sum(axis=type_axes) - 1), initial=0) > 1e-8:
      raise ValueError("prior must be a probability distribution over type profiles.")
    for i in range(n):
      marginal = pr.sum(axis=tuple(b + j for j in range(n) if j != i))
      if np.any(marginal <= 0):
        raise ValueError(
          f"prior gives agent {i}'s type "
          f"{int(np.argmin(marginal.reshape(-1, types[i]).min(0)))} probability "
          "0; drop that type (its conditional beliefs are undefined)."
        )
    us = []
    for i, u in enumerate(payoffs):
      try:
        u = np.asarray(u, dtype=np.float64)
      except (ValueError, TypeError):
        raise ValueError(f"payoffs[{i}] must be a rectangular numeric array.") from None
      if u.shape[: b + n] != pr.shape or u.ndim != b + 2 * n:
        raise ValueError(
          f"payoffs[{i}] has shape {u.shape}; expected the batch and type axes "
          f"{pr.shape} followed by {n} action axes."
        )
      _validation.require_finite(f"payoffs[{i}]", u)
      us.append(u)
    actions = us[0].shape[b + n :]
    if any(u.shape != us[0].shape for u in us):
      raise ValueError(f"payoffs must all have shape {us[0].shape}.")
    # One number per agent (or one for all), or one array per agent; the arrays may differ in
    # length (agents with different numbers of types), so no np.ndim of the whole value.
    per_agent = isinstance(temperature, (list, tuple)) and any(
      np.ndim(t) > 0 if not isinstance(t, (list, tuple)) else True for t in temperature
    )
    if not per_agent:
      t = np.broadcast_to(np.asarray(temperature, np.float64), (n,))
      temps = [np.full((*batch, types[i]), t[i]) for i in range(n)]
    else:
      if len(temperature) != n:
        raise ValueError(f"temperature must hold one array per agent ({n}).")
      temps = []
      for i, t in enumerate(temperature):
        t = np.asarray(t, np.float64)
        _validation.broadcast_or_raise(
          f"temperature[{i}]",
          t.shape,
          (*batch, types[i]),
          f"batch {batch} by {types[i]} types of agent {i}",
        )
        temps.append(np.broadcast_to(t, (*batch, types[i])))
    for i, t in enumerate(temps):
      _validation.require_positive(f"temperature[{i}]", t)
    if reference is None:
      refs = [np.full((*batch, types[i], k), -math.log(k)) for i, k in enumerate(actions)]
    else:
      refs = []
      for i, (rho, k) in enumerate(zip(reference, actions)):
        # The last axis is never broadcast: a length-1 "distribution" sums to 1 too.
        rho = _validation.distribution(
          f"reference[{i}]", rho, k, (*batch, types[i]), meaning=f"actions of agent {i}"
        )
        refs.append(np.log(rho))
    for i, r in enumerate(refs):
      if not np.all(np.isfinite(np.asarray(r, dtype))) or np.any(np.exp(np.asarray(r, dtype)) <= 0):
        raise ValueError(
          f"reference[{i}] has an entry that is 0 in {np.dtype(dtype).name}; "
          "entries must be positive in the dtype of the game."
        )
    return cls(
      prior=jnp.asarray(pr, dtype),
      payoffs=tuple(jnp.asarray(u, dtype) for u in us),
      temperature=tuple(jnp.asarray(t, dtype) for t in temps),
      log_reference=tuple(jnp.asarray(l, dtype) for l in refs),
    )

  @property
  def num_agents(self) -> int:
    return len(self.payoffs)

  @property
  def batch_shape(self) -> Tuple[int, ...]:
    return tuple(self.prior.shape[: self.prior.ndim - self.num_agents])

  @property
  def num_types(self) -> Tuple[int, ...]:
    return tuple(self.prior.shape[self.prior.ndim - self.num_agents :])

  @property
  def num_actions(self) -> Tuple[int, ...]:
    return tuple(self.payoffs[0].shape[self.payoffs[0].ndim - self.num_agents :])

  @property
  def dtype(self):
    return self.prior.dtype

  def __getitem__(self, index) -> "BayesianGame":
    """Index the batch axes: ``games[3]`` is the fourth game of a batch."""
    if not self.batch_shape:
      raise IndexError("this game has no batch axes to index")
    return jax.tree_util.tree_map(lambda x: x[index], self)

  def type_marginals(self) -> Tuple[jax.Array, ...]:
    """``p(theta_i)`` per agent, shape ``(*batch, T_i)``."""
    n, nd = self.num_agents, self.prior.ndim
    return tuple(
      jnp.sum(self.prior, axis=tuple(nd - n + j for j in range(n) if j != i)) for i in range(n)
    )

  def utilities(self, probs) -> Tuple[jax.Array, ...]:
    """Interim utility vectors ``v_i(theta_i)``, shape ``(*batch, T_i, n_i)`` (module docstring)."""
    n = self.num_agents
    types, acts = string.ascii_uppercase[:n], string.ascii_lowercase[:n]
    out = []
    for i, marginal in enumerate(self.type_marginals()):
      operands = [self.prior, self.payoffs[i]]
      specs = ["..." + types, "..." + types + acts]
      for j in range(n):
        if j != i:
          operands.append(probs[j])
          specs.append("..." + types[j] + acts[j])
      joint = jnp.einsum(",".join(specs) + "->..." + types[i] + acts[i], *operands)
      out.append(joint / marginal[..., None])
    return tuple(out)


@struct.dataclass
class BayesianProblem:
  """The HQRE of one (unbatched) Bayesian game in the solvers' protocol
  (:mod:`dice_jax.solvers.protocol`): one row per agent and type,
  ``z_i(theta_i) = log rho_i(.|theta_i) + s v_i(theta_i) / tau_i(theta_i)``.

  Attributes:
    game: the :class:`BayesianGame`.
    payoff_scale: ``s`` (1 for the game as given; continuation runs it from 0 to 1).
  """

  game: BayesianGame
  payoff_scale: Any = 1.0

  @property
  def log_reference(self):
    return self.game.log_reference

  def row_temperatures(self):
    return tuple(self.game.temperature)

  def min_temperature(self) -> jax.Array:
    return jnp.min(jnp.stack([jnp.min(t, axis=-1) for t in self.game.temperature]), axis=0)

  def max_temperature(self) -> jax.Array:
    return jnp.max(jnp.stack([jnp.max(t, axis=-1) for t in self.game.temperature]), axis=0)

  def response_logits(self, logits, probs):
    v = self.game.utilities(tuple(probs))
    return tuple(
      lr + self.payoff_scale * vi / t[..., None]
      for lr, vi, t in zip(self.game.log_reference, v, self.game.temperature)
    )

  def residual(self, probs, z) -> jax.Array:
    return row_residual(probs, z)

  def gaps(self, logits) -> jax.Array:
    """Per agent ``sum_theta_i p(theta_i) tau_i(theta_i) KL(x_i(.|theta_i) || b_i(.|theta_i))``,
    the ex-ante gain of a regularised best response."""
    kl = row_kl(logits, self.response_logits(logits, tuple(jnp.exp(l) for l in logits)))
    return jnp.stack(
      [
        jnp.sum(m * t * k, axis=-1)
        for m, t, k in zip(self.game.type_marginals(), self.game.temperature, kl)
      ],
      axis=-1,
    )

  def lipschitz(self) -> jax.Array:
    """``L`` of the normal-form bound (:meth:`dice_jax.HQREProblem.lipschitz`) with ``h_i`` the
    half-range of ``s U_i`` over all types and actions: an interim utility is an average of
    payoffs, so ``||dv_i(theta_i)||_inf <= h_i sum_{j != i} max_theta_j ||dx_j(theta_j)||_1``."""
    nd = self.game.num_agents * 2
    axes = tuple(range(-nd, 0))
    h = jnp.stack([(u.max(axis=axes) - u.min(axis=axes)) / 2 for u in self.game.payoffs], -1)
    return halfrange_lipschitz(h * self.payoff_scale)

  def uniqueness_certified(self) -> jax.Array:
    """``False``: no cheap rigorous uniqueness bound is wired in for this family yet, so
    ``method="auto"`` follows the principal branch (continuation)."""
    return jnp.bool_(False)

  def scale_payoffs(self, scale) -> "BayesianProblem":
    return self.replace(payoff_scale=scale * self.payoff_scale)

  def postprocess(self, logits, outcome) -> Solution:
    return Solution.from_outcome(logits, self.gaps(logits), outcome)


# The normal-form solvers; extragradient with eta = 1 / min tau (the earlier measured default).
METHODS = dict(NORMAL_FORM_METHODS, extragradient=functools.partial(Extragradient, step_scale=1.0))


def solve_bayesian(
  game: BayesianGame,
  *,
  method: Any = "extragradient",
  init: Optional[Sequence] = None,
  tol: Optional[float] = None,
  max_steps: Optional[int] = None,
  history: bool = False,
) -> Solution:
  """The HQRE (logit agent-form QRE with type-dependent temperatures) of a Bayesian game.

  Args:
    game: a :class:`BayesianGame`, possibly batched.
    method: a name in :data:`METHODS` or a solver object (any solver of
      :mod:`dice_jax.solvers`).
    init: optional initial strategies per agent, broadcastable to ``(*batch, T_i, n_i)``.
    tol, max_steps, history: as for :func:`dice_jax.solve`.

  Returns:
    A :class:`dice_jax.solvers.Solution` whose ``logits[i]`` has shape ``(*batch, T_i, n_i)``:
    row ``theta_i`` is ``log x_i(. | theta_i)``; ``agent_gaps`` are the ex-ante gaps of
    :meth:`BayesianProblem.gaps`.

  Example:
    >>> import numpy as np
    >>> g = BayesianGame.from_arrays(np.array([0.5, 0.5])[:, None] * np.ones((2, 1)) / 1,
    ...   [np.zeros((2, 1, 2, 2)), np.zeros((2, 1, 2, 2))], temperature=1.0)
    >>> np.asarray(solve_bayesian(g).probabilities[0]).round(3).tolist()
    [[0.5, 0.5], [0.5, 0.5]]
  """
  if not isinstance(game, BayesianGame):
    raise ValueError(f"game must be a BayesianGame; got {type(game).__name__}.")
  batch, dtype = game.batch_shape, game.dtype
  logits = log_distributions(
    "init", init, game.num_actions, [(*batch, t) for t in game.num_types], dtype
  )
  return solve_games(
    BayesianProblem,
    game,
    method=method,
    methods=METHODS,
    batch_shape=batch,
    dtype=dtype,
    logits=game.log_reference if logits is None else logits,
    tol=tol,
    max_steps=max_steps,
    history=history,
  )
