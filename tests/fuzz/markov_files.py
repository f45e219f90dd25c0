"""A valid Markov game file and a strategy that mutates it (shared by the JSON and CLI fuzzers)."""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import strategies as st

from tests.fuzz.values import json_values

VALID = {
  "gamma": 0.5,
  "transitions": np.full((2, 2, 3, 2), 0.5).tolist(),
  "rewards": [np.arange(12.0).reshape(2, 2, 3).tolist(), np.ones((2, 2, 3)).tolist()],
  "temperatures": [0.5, 1.0],
  "initial": [0.25, 0.75],
  "reference": [[[0.5, 0.5]] * 2, [[0.2, 0.3, 0.5]] * 2],
  "convention": "own",
}


def _paths(x, prefix=()):
  """Every path into nested lists/dicts, the root included."""
  yield prefix
  if isinstance(x, dict):
    for k, v in x.items():
      yield from _paths(v, prefix + (k,))
  elif isinstance(x, list):
    for i, v in enumerate(x):
      yield from _paths(v, prefix + (i,))


ALL_PATHS = list(_paths(VALID))


@st.composite
def mutated(draw):
  """VALID with 1-3 edits: a value replaced, a key removed or added, a list wrapped or cut."""
  data = copy.deepcopy(VALID)
  for _ in range(draw(st.integers(1, 3))):
    path = draw(st.sampled_from(ALL_PATHS[1:]))
    parent = data
    try:
      for k in path[:-1]:
        parent = parent[k]
      key = path[-1]
      old = parent[key]
    except (KeyError, IndexError, TypeError):
      continue
    op = draw(st.sampled_from(["replace", "delete", "wrap", "cut", "add"]))
    if op == "replace":
      parent[key] = draw(json_values)
    elif op == "delete":
      del parent[key]
    elif op == "wrap":
      parent[key] = [old]
    elif op == "cut" and isinstance(old, list):
      parent[key] = old[:-1]
    elif op == "add" and isinstance(parent, dict):
      parent[draw(st.text(max_size=4))] = draw(json_values)
  return data
