"""The JSON format of a Markov game (``dice-jax solve-markov GAME.json``).

A JSON object with the keys (nested lists; N agents, S states, n_i actions of agent i)::

    {
      "gamma": 0.9,                          # discount factor in [0, 1)
      "transitions": [S][n_1]...[n_N][S],    # P(s' | s, a); each innermost list sums to 1
      "rewards": [N][S][n_1]...[n_N],        # R_i(s, a)
      "temperatures": [N][S] | [N] | number, # tau_i(s) > 0 (per agent and state, per agent, one)
      "initial": [S],                        # optional, default uniform
      "reference": [N][S][n_i],              # optional reference policies, default uniform
      "convention": "own"                    # optional: "own" (default), "zero_sum", "logit"
    }

Unknown keys are rejected (a typo must not silently fall back to a default). Example: a
one-state, one-shot matching-pennies game::

    {"gamma": 0, "transitions": [[[[1], [1]], [[1], [1]]]],
     "rewards": [[[[1, -1], [-1, 1]]], [[[-1, 1], [1, -1]]]], "temperatures": [1, 1]}
"""
from __future__ import annotations

import json
from typing import Any, Dict, Tuple

from dice_jax.markov.evaluation import check_convention
from dice_jax.markov.game import MarkovGame

REQUIRED = ("gamma", "transitions", "rewards", "temperatures")
OPTIONAL = ("initial", "reference", "convention")


def game_from_dict(data: Dict[str, Any], *, dtype=None) -> Tuple[MarkovGame, str]:
  """``(game, convention)`` from a parsed JSON object; ``ValueError`` naming the key."""
  if not isinstance(data, dict):
    raise ValueError(f"the game file must hold a JSON object; got {type(data).__name__}.")
  missing = [k for k in REQUIRED if k not in data]
  if missing:
    raise ValueError(f"the game file lacks the key(s) {missing}; required: {list(REQUIRED)}.")
  unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL))
  if unknown:
    raise ValueError(f"the game file has unknown key(s) {unknown}; allowed: "
                     f"{list(REQUIRED + OPTIONAL)}.")
  convention = check_convention(data.get("convention", "own"))
  game = MarkovGame.from_arrays(data["transitions"], list(data["rewards"]), data["gamma"],
                                temperature=data["temperatures"], initial=data.get("initial"),
                                reference=data.get("reference"), dtype=dtype)
  return game, convention


def read_game(path: str, *, dtype=None) -> Tuple[MarkovGame, str]:
  """Read a game file (format in the module docstring)."""
  try:
    with open(path) as f:
      data = json.load(f)
  except json.JSONDecodeError as e:
    raise ValueError(f"{path} is not valid JSON: {e}") from None
  except OSError as e:
    raise ValueError(f"cannot read the game file {path}: {e.strerror}") from None
  return game_from_dict(data, dtype=dtype)


def game_to_dict(game: MarkovGame, convention: str = "own") -> Dict[str, Any]:
  """The JSON object of one unbatched game (temperatures ``[N][S]``, references included)."""
  import numpy as np
  if game.batch_shape:
    raise ValueError(f"game must be a single game; it has batch shape {game.batch_shape}.")
  return {
      "gamma": float(game.gamma),
      "transitions": np.asarray(game.transitions).tolist(),
      "rewards": [np.asarray(r).tolist() for r in game.rewards],
      "temperatures": np.asarray(game.temperature).tolist(),
      "initial": np.asarray(game.initial).tolist(),
      "reference": [np.exp(np.asarray(l)).tolist() for l in game.log_reference],
      "convention": check_convention(convention),
  }


def write_game(path: str, game: MarkovGame, convention: str = "own") -> None:
  with open(path, "w") as f:
    json.dump(game_to_dict(game, convention), f)
