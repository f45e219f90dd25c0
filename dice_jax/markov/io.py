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

Unknown keys are rejected (a typo must not silently fall back to a default), and so are
duplicate keys, text where a number belongs (``"gamma": "0.9"``), booleans, ``NaN`` /
``Infinity`` and numbers beyond float64. Every error is a ``ValueError`` or ``TypeError`` whose
message names the file and the field (``rewards[1]``, ``reference[0]``...), and for syntax
errors the line and column.

Limits, checked before the game is built (:func:`read_game`'s ``max_bytes`` and ``max_depth``):
the file may have at most :data:`MAX_BYTES` bytes (64 MiB; a file within the limit is read and
rejected, if bad, in time linear in its size) and at most :data:`MAX_DEPTH` levels of nesting
(32: an N-agent game nests N + 3 levels, so up to 29 agents). Every array is stored explicitly in
the file, so nothing allocated exceeds a small multiple of the file's size.

Example: a one-state, one-shot matching-pennies game::

    {"gamma": 0, "transitions": [[[[1], [1]], [[1], [1]]]],
     "rewards": [[[[1, -1], [-1, 1]]], [[[-1, 1], [1, -1]]]], "temperatures": [1, 1]}
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Tuple

from dice_jax import _validation
from dice_jax.markov.evaluation import check_convention
from dice_jax.markov.game import MarkovGame

REQUIRED = ("gamma", "transitions", "rewards", "temperatures")
OPTIONAL = ("initial", "reference", "convention")
#: The largest game file :func:`read_game` reads by default (bytes).
MAX_BYTES = 64 * 2**20
#: The deepest nesting :func:`read_game` accepts by default (levels of objects and lists).
MAX_DEPTH = 32


def _per_agent(key: str, value: Any) -> list:
  if not isinstance(value, list):
    raise TypeError(f"{key} must be a list with one entry per agent; got {type(value).__name__}.")
  return [_validation.real_array(f"{key}[{i}]", v, allow_bool=False) for i, v in enumerate(value)]


def game_from_dict(
  data: Dict[str, Any], *, dtype=None, source: str = "the game"
) -> Tuple[MarkovGame, str]:
  """``(game, convention)`` from a parsed JSON object.

  Types are checked before values (text, booleans or ``null`` where numbers belong are a
  ``TypeError``); every error message starts with ``source`` and names the key.
  """
  try:
    if not isinstance(data, dict):
      raise TypeError(f"the game must be a JSON object; got {type(data).__name__}.")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
      raise ValueError(f"lacks the key(s) {missing}; required: {list(REQUIRED)}.")
    unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
      raise ValueError(f"has unknown key(s) {unknown}; allowed: {list(REQUIRED + OPTIONAL)}.")
    convention = data.get("convention", "own")
    if not isinstance(convention, str):
      raise TypeError(f"convention must be text; got {type(convention).__name__}.")
    convention = check_convention(convention)
    gamma = _validation.real_scalar("gamma", data["gamma"])
    transitions = _validation.real_array("transitions", data["transitions"], allow_bool=False)
    rewards = _per_agent("rewards", data["rewards"])
    temperatures = _validation.real_array("temperatures", data["temperatures"], allow_bool=False)
    initial = data.get("initial")
    if initial is not None:
      initial = _validation.real_array("initial", initial, allow_bool=False)
    reference = data.get("reference")
    if reference is not None:
      reference = _per_agent("reference", reference)
    game = MarkovGame.from_arrays(
      transitions,
      rewards,
      gamma,
      temperature=temperatures,
      initial=initial,
      reference=reference,
      dtype=dtype,
    )
  except (ValueError, TypeError) as e:
    raise type(e)(f"{source}: {e}") from None
  return game, convention


def read_game(
  path: str, *, dtype=None, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH
) -> Tuple[MarkovGame, str]:
  """Read a game file (format and limits in the module docstring).

  Raises:
    ValueError, TypeError: naming the file and the field (or line and column): unreadable, too
      large or deep, not UTF-8, not JSON, or not a valid game.
  """
  data = _validation.load_json(path, what="game file", max_bytes=max_bytes, max_depth=max_depth)
  return game_from_dict(data, dtype=dtype, source=os.fspath(path))


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
  """Write one unbatched game to ``path`` in the JSON format above (:func:`game_to_dict`)."""
  with open(path, "w") as f:
    json.dump(game_to_dict(game, convention), f)
