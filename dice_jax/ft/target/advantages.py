"""Advantages of the agents' candidates in one state, from their joint outcome (DICE-FT).

With payoff tensors ``U_i[c_1, ..., c_N]`` over the agents' candidate sets, the current
candidate distributions ``pi_j`` (sequence probabilities renormalised over each set) and a
per-candidate cost ``cost_i(c)`` (e.g. ``token_cost * tokens``,
:func:`dice_jax.rollouts.payoffs.token_costs`), the utility of agent ``i``'s candidate ``c`` is
the normal-form utility vector of DESIGN §2 at the profile of candidate distributions,

    v_i(c) = sum_{c_-i} prod_{j != i} pi_j(c_j) U_i[c, c_-i]  -  cost_i(c),

and ``A_i(c) = v_i(c) - <pi_i, v_i>``: baseline-subtracted per state by the state's value under
``pi_k``. The mirror target is a softmax over each candidate set, so the baseline does not
change ``pi+``; it makes the logged advantages comparable across states. A candidate whose
payoff entries are not finite (a failed rollout or checker) is dropped from its agent's set
(masked) and carries zero weight in the other agents' expectations.

References: Sokota et al., "A Unified Approach to Reinforcement Learning, Quantal Response
Equilibria, and Two-Player Zero-Sum Games" (MMD), ICLR 2023; the DICE paper (DESIGN §7).
"""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["joint_advantages", "normal_form_advantages"]


def joint_advantages(
  payoffs: Sequence[np.ndarray],
  policies: Sequence[np.ndarray],
  costs: Optional[Sequence[np.ndarray]] = None,
):
  """Advantages of every agent's candidates in one state from the joint payoff.

  Args:
    payoffs: ``N`` arrays ``U_i`` of shape ``(k_1, ..., k_N)``: agent ``i``'s payoff when agent
      ``j`` answers with its candidate ``c_j``. Non-finite entries mark failed rollouts.
    policies: ``N`` arrays of shape ``(k_j,)``: the current candidate distributions ``pi_j``
      (need not be normalised; they are renormalised over the candidates that did not fail).
    costs: optional ``N`` arrays ``(k_i,)``: the cost of agent ``i``'s own candidate.

  Returns:
    ``(advantages, values, valid)``: per agent ``A_i`` ``(k_i,)`` (0 where invalid), the state
    value ``<pi_i, v_i>``, and ``valid_i`` (candidates whose utility is finite). If some agent
    has no valid candidate the state has no outcome: every ``valid_i`` is all False.

  Raises:
    ValueError: naming the argument, for shapes that do not match or negative/non-finite
      ``policies`` or non-finite ``costs``.
  """
  n = len(policies)
  if len(payoffs) != n:
    raise ValueError(f"payoffs must give one tensor per agent ({n}); got {len(payoffs)}.")
  pis = [np.asarray(p, np.float64) for p in policies]
  shape = tuple(p.shape[0] for p in pis)
  for i, p in enumerate(pis):
    if p.ndim != 1 or not np.all(np.isfinite(p)) or np.any(p < 0):
      raise ValueError(f"policies[{i}] must be a 1-D array of finite probabilities >= 0.")
  us = [np.asarray(u, np.float64) for u in payoffs]
  for i, u in enumerate(us):
    if u.shape != shape:
      raise ValueError(f"payoffs[{i}] has shape {u.shape}; the candidate sets need {shape}.")
  cs = [np.zeros(s) for s in shape] if costs is None else [np.asarray(c, np.float64) for c in costs]
  if len(cs) != n:
    raise ValueError(f"costs must give one array per agent ({n}); got {len(cs)}.")
  for i, c in enumerate(cs):
    if c.shape != (shape[i],) or not np.all(np.isfinite(c)):
      raise ValueError(f"costs[{i}] must be finite with shape {(shape[i],)}; got {c.shape}.")
  # a candidate fails when its own payoff row holds a non-finite entry
  valid = [
    np.all(np.isfinite(np.moveaxis(u, i, 0).reshape(shape[i], -1)), axis=1)
    for i, u in enumerate(us)
  ]
  w = [np.where(v, p, 0.0) for v, p in zip(valid, pis)]
  if any(wi.sum() <= 0 for wi in w):
    return ([np.zeros(s) for s in shape], [0.0] * n, [np.zeros(s, bool) for s in shape])
  w = [wi / wi.sum() for wi in w]
  advantages, values = [], []
  for i, u in enumerate(us):
    weight = np.ones(())
    for j in range(n):
      if j != i:
        weight = np.multiply.outer(weight, w[j]) if weight.ndim else w[j].copy()
    # weight has the axes of the other agents in order; put agent i's axis first
    ui = np.moveaxis(u, i, 0).reshape(shape[i], -1)
    wf = np.reshape(weight, (-1,))
    v = np.where(wf[None, :] > 0, ui, 0.0) @ wf - cs[i]
    v = np.where(valid[i], v, 0.0)
    value = float(np.sum(w[i] * v))
    advantages.append(np.where(valid[i], v - value, 0.0))
    values.append(value)
  return advantages, values, valid


def normal_form_advantages(game) -> Callable[[List[jax.Array]], List[jax.Array]]:
  """Advantages for agents that are the players of a normal-form game, each with one prompt
  whose candidates are that player's actions: ``A_i = v_i(pi) - <pi_i, v_i(pi)>`` (the utility
  vector at the agents' current candidate distributions, baseline-subtracted)."""

  def advantages(policies):
    profile = tuple(p[0] for p in policies)
    v = game.utilities(profile)
    return [(vi - jnp.sum(x * vi))[None, :] for x, vi in zip(profile, v)]

  return advantages
