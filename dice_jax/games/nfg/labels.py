"""Gambit's rule for player, strategy and outcome labels: unique and nonempty within a scope."""

from __future__ import annotations

import collections
from typing import List, Sequence


def normalize_labels(labels: Sequence[str]) -> List[str]:
  """The labels Gambit gives a list of labels read from a file (``NormalizeLabels`` in
  ``src/games/file.cc``, pygambit 16.7).

  A label that occurs once and is not empty is kept. Every other label (an empty one, or each
  copy of a repeated one) becomes ``label_k`` with the smallest ``k`` (counting per label, from 1)
  that no label of the list already uses: ``["", "a", "a", "a_1"]`` becomes
  ``["_1", "a_2", "a_3", "a_1"]``.
  """
  counts = collections.Counter(labels)
  if all(c == 1 for c in counts.values()) and "" not in counts:
    return list(labels)
  used = set(labels)
  visited: collections.Counter = collections.Counter()
  out = []
  for label in labels:
    if counts[label] == 1 and label != "":
      out.append(label)
      continue
    while True:
      visited[label] += 1
      candidate = f"{label}_{visited[label]}"
      if candidate not in used:
        break
    used.add(candidate)
    out.append(candidate)
  return out
