"""Token-cost payoffs, shared by DICE-PC and DICE-FT.

An agent's payoff is the task's success minus what the tokens cost (DESIGN §7):

    U_i = success - sum_j w_ij c_j tokens_j

with ``c_j`` agent ``j``'s cost per generated token and ``w_ij = [i = j]`` (``sharing="own"``:
each agent pays for its own tokens; DICE-FT's candidates) or ``w_ij = 1`` (``sharing="team"``:
every agent is charged the team's tokens, an identical-interest game; DICE-PC's default).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dice_jax.rollouts import fields

__all__ = ["SHARING", "charged_costs", "cost_per_token", "token_cost_payoffs", "token_costs"]

SHARING = ("team", "own")


def cost_per_token(name: str, value: Any) -> float:
  """One agent's cost ``c`` of a generated token: a finite number ``>= 0``.

  The one check of a token cost: :func:`token_costs` applies it to each agent's, and settings
  types that hold one agent's cost call it.

  Raises:
    ValueError: starting with ``name``, for a non-numeric, negative or non-finite cost.
  """
  return fields.real(name, value, low=0.0)


def token_costs(value: Any, num_agents: int, *, name: str = "token_cost") -> np.ndarray:
  """``[N]`` costs per token from one number (every agent) or one per agent.

  Raises:
    ValueError: naming ``name`` (and the agent), for a non-numeric, negative or non-finite cost
      or a list of the wrong length.
  """
  a = fields.numeric_array(name, value, "a number >= 0 or one per agent")
  if a.ndim == 0:
    a = np.full(int(num_agents), float(a))
  if a.shape != (int(num_agents),):
    raise ValueError(f"{name} must give one cost per agent ({num_agents}); got shape {a.shape}.")
  return np.array([cost_per_token(f"{name}[{i}]", float(c)) for i, c in enumerate(a)])


def charged_costs(tokens: np.ndarray, token_cost: np.ndarray, sharing: str = "own") -> np.ndarray:
  """``[..., N]`` cost charged to each agent from the tokens ``[..., N]`` each agent generated."""
  fields.choice("sharing", sharing, SHARING)
  cost = np.asarray(tokens, np.float64) * np.asarray(token_cost, np.float64)
  if sharing == "team":
    return np.broadcast_to(cost.sum(-1, keepdims=True), cost.shape)
  return cost


def token_cost_payoffs(
  success: np.ndarray, tokens: np.ndarray, token_cost: np.ndarray, sharing: str = "team"
) -> np.ndarray:
  """``[N, ...]`` payoff tensors ``U_i = success - charged cost_i``.

  Args:
    success: ``[...]`` probability (or indicator) that the answer is correct.
    tokens: ``[..., N]`` expected tokens of each agent.
    token_cost: ``[N]`` cost per token of each agent.
    sharing: ``"team"`` or ``"own"`` (module docstring).
  """
  success = np.asarray(success, np.float64)
  charged = charged_costs(tokens, token_cost, sharing)
  return np.moveaxis(success[..., None] - charged, -1, 0)
