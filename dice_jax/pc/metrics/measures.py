"""What the DICE-PC harness measures each round, and the closed forms behind it.

Notation: ``x_t = (x_{t,1}(.|s), ..., x_{t,N}(.|s))`` is the profile of mixed prompt-control
policies played in round ``t`` (one per state ``s``), ``U_{t,i}(s, a)`` the true payoffs of
round ``t`` (:func:`dice_jax.pc.payoffs`), ``tau_i(s)`` and ``rho_i(.|s)`` the *target*
temperatures and references the run is evaluated at.

* **Equilibrium regret** ``ER_t(s) = sum_i gap_i(x_t(s))`` with the regularised gap of
  DESIGN §3, ``gap_i(x) = tau_i KL(x_i || b_i(x))``, ``b_i(x) = softmax(log rho_i + v_i(x) /
  tau_i)``, in the true game of round ``t``: the total gain the roles could get by deviating in
  the regularised game ``u_i(x) - tau_i KL(x_i || rho_i)``. It is ``>= 0`` and zero exactly at
  the HQRE of the true game (:func:`dice_jax.equilibrium.regularised_gap`, reused). The record
  reports its mean over states and the cumulative sum. Sublinear growth of the cumulative sum
  means the played policies converge to the HQRE; :func:`slope_ratio` measures it.
* **Hindsight regret** against the best fixed joint action, unregularised, per state, for the
  team objective ``W_t(s, a) = p_t(s, a) - sum_j c_j E[tokens_j]`` (accuracy minus the whole
  team's token cost, whatever the cost sharing):
  ``HR_T(s) = max_a sum_{t <= T} W_t(s, a) - sum_{t <= T} E_{a ~ x_t(s)} W_t(s, a)``
  (pseudo-regret: the policy's expected, not realised, payoff; one term per round and state).
  From the true payoffs when the environment knows them, else from the final posterior (then
  labelled *estimated*).
* **Distance to the true HQRE** ``||x_t(s) - x*_t(s)||_2`` over the concatenated profile.
* **Oscillation and drift** (:func:`dice_jax.certify.oscillation`, :func:`dice_jax.certify.drift`,
  reused): ``sum_i ||x_{t,i} - x_{t-1,i}||_1`` and ``sum_i ||x_{t,i} - x_{0,i}||_1``.
* **Monotonicity diagnostic** (:func:`dice_jax.certify.monotonicity_ratio`, reused) from the
  rollouts of round ``t`` alone, played at ``x = x_t``: for a rollout in state ``s`` with joint
  action ``a`` and realised payoffs ``r_i``, the importance-weighted estimate
  ``v̂_i(z)[k] = 1{a_i = k} / x_i(k) * prod_{j != i} z_j(a_j) / x_j(a_j) * r_i`` is unbiased for
  ``v_i(z)[k]`` at *any* profile ``z`` that ``x`` covers (Horvitz & Thompson, JASA 1952), in
  particular at ``z = x_t`` and ``z = x_{t-1}``. Both profiles are fixed before round ``t``'s
  rollouts, so ``m̂ = <v̂(x_t) - v̂(x_{t-1}), x_t - x_{t-1}> / ||x_t - x_{t-1}||^2`` is unbiased
  for ``<V(x_t) - V(x_{t-1}), x_t - x_{t-1}> / ||x_t - x_{t-1}||^2 <= alpha``. (Estimating
  ``v(x_{t-1})`` from round ``t - 1``'s rollouts instead is biased: those rollouts moved the
  posterior, hence the direction ``x_t - x_{t-1}``; measured on the oscillation suite that
  version gave a median ``m̂`` of about -2,000 after 2,000 rounds.) The per-rollout *differences*
  ``v̂(x_t) - v̂(x_{t-1})`` are what is resampled (a paired bootstrap: they are passed as
  ``utilities_x`` with a single zero row as ``utilities_y``), whose spread is
  ``O(||x_t - x_{t-1}||)`` rather than ``O(1)``. ``m̂`` is compared with ``min tau``: below is
  consistent with the certified margin, a bootstrap interval above ``min tau`` refutes it
  (DESIGN §5).
"""

from __future__ import annotations

import functools
from typing import Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from dice_jax.certify.diagnostics import drift, monotonicity_ratio, oscillation
from dice_jax.equilibrium.residual import regularised_gap
from dice_jax.equilibrium.response import log_logit_response
from dice_jax.pc import checks as _checks
from dice_jax.pc.environments.spec import CoordinationSpec

__all__ = [
  "distance",
  "equilibrium_gaps",
  "equilibrium_regret",
  "expected_team_payoff",
  "joint_distribution",
  "hindsight_regret",
  "HindsightTracker",
  "importance_weighted_utilities",
  "monotonicity_diagnostic",
  "oscillation_index",
  "slope_ratio",
  "step_metrics",
  "team_payoffs",
]


def team_payoffs(spec: CoordinationSpec, success: np.ndarray, tokens: np.ndarray) -> np.ndarray:
  """``W(.., a) = p(.., a) - sum_j c_j tokens_j(.., a)``: accuracy minus the team's token cost."""
  return np.asarray(success, np.float64) - np.asarray(tokens, np.float64) @ np.asarray(
    spec.token_cost
  )


@jax.jit
def _gaps(game, temperature, log_reference, logits):
  probs = tuple(jnp.exp(l) for l in logits)
  log_b = log_logit_response(game.utilities(probs), temperature, log_reference)
  return regularised_gap(logits, log_b, temperature)


def equilibrium_gaps(
  game, profile: Sequence[np.ndarray], temperature: np.ndarray, reference: Sequence[np.ndarray]
) -> np.ndarray:
  """``gap_i(x) = tau_i KL(x_i || b_i(x))`` per game and role, ``[*batch, N]`` (no checks).

  ``profile`` and ``reference`` hold one ``[*batch, n_i]`` array per role, ``temperature`` is
  ``[*batch, N]``. Zero entries of ``x_i`` contribute nothing (``0 log 0 = 0``).
  """
  dtype = game.dtype
  logits = tuple(_checks.safe_log(p, dtype) for p in profile)
  log_ref = tuple(_checks.safe_log(r, dtype) for r in reference)
  return np.asarray(_gaps(game, np.asarray(temperature, dtype), log_ref, logits))


def equilibrium_regret(
  game, profile: Sequence[np.ndarray], temperature, reference: Optional[Sequence[np.ndarray]] = None
) -> np.ndarray:
  """``sum_i tau_i KL(x_i || b_i(x))`` per game of a (batched) game: 0 exactly at its HQRE.

  Args:
    game: a :class:`dice_jax.NormalFormGame`, batch axes ``batch``.
    profile: one ``[*batch, n_i]`` distribution per player.
    temperature: ``tau > 0`` broadcastable to ``(*batch, N)``.
    reference: optional ``rho_i`` per player (default uniform), each ``[*batch, n_i]`` or
      ``[n_i]``.

  Returns:
    ``[*batch]`` NumPy array.

  Raises:
    ValueError: naming the argument, for non-positive temperatures or a profile / reference
      that is not a distribution of the right length.

  Example:
    >>> import dice_jax
    >>> g = dice_jax.games.matching_pennies()
    >>> sol = dice_jax.solve(g, 0.5)
    >>> float(equilibrium_regret(g, sol.probabilities, 0.5)) < 1e-12
    True
  """
  from dice_jax import _validation  # noqa: PLC0415

  n_actions, batch, dtype, tau = _validation.game_and_temperature(game, temperature)
  n = len(n_actions)

  def check(name, value, positive):
    if value is None or len(value) != n:
      raise ValueError(f"{name} must hold one distribution per player ({n}).")
    out = []
    for i, (p, k) in enumerate(zip(value, n_actions)):
      a = np.asarray(p, np.float64)
      if a.shape[-1:] != (k,):
        raise ValueError(f"{name}[{i}] must have {k} entries on its last axis; got {a.shape}.")
      bad = np.any(a <= 0) if positive else np.any(a < 0)
      if not np.all(np.isfinite(a)) or bad or np.any(np.abs(a.sum(-1) - 1) > 1e-6):
        raise ValueError(
          f"{name}[{i}] must be a probability distribution"
          f"{' (strictly positive)' if positive else ''}."
        )
      out.append(np.broadcast_to(a, (*batch, k)))
    return tuple(out)

  x = check("profile", profile, False)
  ref = (
    tuple(np.full((*batch, k), 1.0 / k) for k in n_actions)
    if reference is None
    else check("reference", reference, True)
  )
  return equilibrium_gaps(game, x, tau, ref).sum(-1)


def distance(profile: Sequence[np.ndarray], target: Sequence[np.ndarray]) -> np.ndarray:
  """``||x - y||_2`` over the concatenated profile, per leading index: ``[...]``."""
  return np.sqrt(
    sum(np.sum(np.square(np.asarray(a) - np.asarray(b)), -1) for a, b in zip(profile, target))
  )


def joint_distribution(profile: Sequence[np.ndarray]) -> np.ndarray:
  """``[..., n_1, ..., n_N]`` product distribution of independent per-role policies."""
  out = np.asarray(profile[0])
  for p in profile[1:]:
    p = np.asarray(p)
    out = out[..., None] * p.reshape(p.shape[:-1] + (1,) * (out.ndim - p.ndim + 1) + p.shape[-1:])
  return out


def expected_team_payoff(team: np.ndarray, profile: Sequence[np.ndarray]) -> np.ndarray:
  """``E_{a ~ x} W(.., a)`` for independent per-role policies: ``[...]``."""
  n = len(profile)
  joint = joint_distribution(profile)
  return np.sum((team * joint).reshape(joint.shape[:-n] + (-1,)), -1)


def hindsight_regret(team: np.ndarray, profiles: Sequence[np.ndarray]) -> np.ndarray:
  """Cumulative regret against the best fixed joint action in hindsight, ``[T, S]``.

  ``HR_t(s) = max_a sum_{k <= t} W_k(s, a) - sum_{k <= t} E_{x_k(s)} W_k(s, .)``.

  Args:
    team: team payoffs ``[T, S, n_1..n_N]`` (one tensor per round) or ``[S, n..]`` (static).
    profiles: per role ``[T, S, n_i]`` the policies played.
  """
  n = len(profiles)
  t = np.asarray(profiles[0]).shape[0]
  team = np.asarray(team, np.float64)
  if team.ndim == np.asarray(profiles[0]).ndim - 1 + n - 1:  # static: [S, n..]
    team = np.broadcast_to(team, (t, *team.shape))
  earned = np.cumsum(expected_team_payoff(team, profiles), 0)  # [T, S]
  best = np.cumsum(team.reshape(t, team.shape[1], -1), 0).max(-1)  # [T, S]
  return best - earned


class HindsightTracker:
  """Online :func:`hindsight_regret`: add one round at a time (``O(S prod n_i)`` per round)."""

  def __init__(self):
    self._cum = None
    self._earned = None

  def add(self, team: np.ndarray, profile: Sequence[np.ndarray]) -> np.ndarray:
    """Add round ``t`` (team payoffs ``[S, n..]``, policies ``[S, n_i]``); returns ``HR_t [S]``."""
    team = np.asarray(team, np.float64)
    e = expected_team_payoff(team, profile)
    if self._cum is None:
      self._cum, self._earned = team.copy(), e
    else:
      self._cum = self._cum + team
      self._earned = self._earned + e
    return self._cum.reshape(team.shape[0], -1).max(-1) - self._earned


def slope_ratio(instantaneous: Sequence[float]) -> float:
  """Slope of a cumulative curve over its last quarter divided by its slope over the first
  quarter: ``mean(last quarter of r_t) / mean(first quarter of r_t)`` for increments ``r_t``.
  About 1 for linear growth, near 0 for a curve that flattens (sublinear)."""
  r = np.asarray(instantaneous, np.float64)
  q = max(1, len(r) // 4)
  first = np.mean(r[:q])
  return float(np.mean(r[-q:]) / first) if first > 0 else float("nan")


@jax.jit
def _profile_steps(prev, cur, first):
  traj = tuple(jnp.stack([a, b], -2) for a, b in zip(prev, cur))
  return oscillation(traj), drift(tuple(jnp.stack([f, c], -2) for f, c in zip(first, cur)))[..., 1]


def step_metrics(
  prev: Sequence[np.ndarray], cur: Sequence[np.ndarray], first: Sequence[np.ndarray]
) -> Tuple[np.ndarray, np.ndarray]:
  """``(oscillation step, drift)`` per state: ``sum_i ||x_t - x_{t-1}||_1`` and
  ``sum_i ||x_t - x_0||_1`` via :mod:`dice_jax.certify.diagnostics`."""
  o, d = _profile_steps(tuple(prev), tuple(cur), tuple(first))
  return np.asarray(o), np.asarray(d)


@jax.jit
def _oscillation_index(profiles):
  return oscillation(tuple(jnp.moveaxis(p, 0, -2) for p in profiles))


def oscillation_index(profiles: Sequence[np.ndarray]) -> np.ndarray:
  """``mean_t sum_i ||x_{t+1,i} - x_{t,i}||_1`` per state from per-role ``[T, S, n_i]``
  (:func:`dice_jax.certify.oscillation`; compiled once per trajectory shape)."""
  return np.asarray(_oscillation_index(tuple(np.asarray(p) for p in profiles)))


def importance_weighted_utilities(
  states: np.ndarray,
  actions: np.ndarray,
  rewards: np.ndarray,
  failed: np.ndarray,
  behaviour: Sequence[np.ndarray],
  target: Optional[Sequence[np.ndarray]] = None,
) -> Tuple[Tuple[np.ndarray, ...], np.ndarray]:
  """Unbiased per-rollout estimates of ``v_i(z)`` from rollouts played at ``x`` (``behaviour``).

  For a rollout in state ``s`` with joint action ``a`` drawn from ``x(.|s)`` and realised payoff
  ``r_i``, ``v̂_i(z)[k] = 1{a_i = k} / x_i(k|s) * prod_{j != i} z_j(a_j|s) / x_j(a_j|s) * r_i``
  has expectation ``sum_{a_{-i}} z_{-i}(a_{-i}) U_i(k, a_{-i}) = v_i(z)[k]`` (importance
  sampling; Horvitz & Thompson, JASA 1952) wherever ``x_i(k|s) > 0`` and ``x`` covers ``z``.
  ``target`` defaults to ``behaviour``.

  Returns:
    per role ``[S, B, n_i]`` rows ``(B / B_s) 1{s_b = s} v̂_i^{(b)}`` -- their mean over ``b`` is
    the mean over state ``s``'s scored rollouts, so every state keeps the fixed shape
    ``[B, n_i]`` (one compiled program for the bootstrap); failed rollouts are zero rows and
    entries with ``x_i(k|s) = 0`` are 0 -- and ``[S]`` counts ``B_s`` of scored rollouts.
  """
  states, actions = np.asarray(states), np.asarray(actions)
  target = behaviour if target is None else target
  b = len(states)
  s_count = behaviour[0].shape[0]
  mask = (states[None, :] == np.arange(s_count)[:, None]) & ~np.asarray(failed)[None, :]
  counts = mask.sum(1)
  scale = np.where(counts > 0, b / np.maximum(counts, 1), 0.0)[:, None] * mask  # [S, B]
  # likelihood ratio of every role's sampled action, [S, B, N]
  ratio = np.stack(
    [
      np.where(x[:, a] > 0, z[:, a] / np.where(x[:, a] > 0, x[:, a], 1), 0.0)
      for x, z, a in zip(behaviour, target, actions.T)
    ],
    -1,
  )
  out = []
  for i, x in enumerate(behaviour):
    k = x.shape[-1]
    onehot = actions[:, i, None] == np.arange(k)[None, :]  # [B, n_i]
    px = x[:, None, :]  # [S, 1, n_i]
    w = np.where(px > 0, onehot[None] / np.where(px > 0, px, 1), 0.0)
    others = np.prod(np.delete(ratio, i, axis=-1), -1)  # [S, B]
    out.append((scale * others)[..., None] * w * np.asarray(rewards)[None, :, i, None])
  return tuple(out), counts


@functools.lru_cache(maxsize=None)
def _vmapped_ratio(num_bootstrap: int):
  fn = functools.partial(monotonicity_ratio, num_bootstrap=num_bootstrap)
  inner = jax.vmap(lambda ux, uy, x, y, t, k: fn(ux, uy, x, y, t, key=k))

  def outer(ux, uy, x, y, t, seed):
    keys = jax.random.split(jax.random.PRNGKey(seed), x[0].shape[0])
    return inner(ux, uy, x, y, t, keys)

  return jax.jit(outer)


def monotonicity_diagnostic(
  utilities_x, utilities_y, x, y, temperature, *, seed: int = 0, num_bootstrap: int = 100
):
  """:func:`dice_jax.certify.monotonicity_ratio` for every state at once.

  Args:
    utilities_x, utilities_y: per role ``[S, B, n_i]`` rows (e.g. from
      :func:`importance_weighted_utilities`) at profiles ``x`` and ``y``.
    x, y: per role ``[S, n_i]``.
    temperature: ``[S, N]``.

  Returns:
    A :class:`dice_jax.certify.MonotonicityRatio` with leading axis ``S`` (NumPy leaves).
  """
  out = _vmapped_ratio(int(num_bootstrap))(
    tuple(utilities_x),
    tuple(utilities_y),
    tuple(x),
    tuple(y),
    np.asarray(temperature),
    np.uint32(seed),
  )
  return jax.tree_util.tree_map(np.asarray, out)
