"""Where a run's tasks come from: a frozen settings type that checks itself and loads the pool.

A :class:`TaskSource` is either a generator (``arithmetic`` or ``planning``,
:func:`dice_jax.rollouts.tasks.make_tasks`: ``count`` tasks per difficulty of one split) or a
JSONL dataset (``jsonl``, :func:`dice_jax.rollouts.tasks.load_jsonl`: optionally one split, some
difficulties, the first ``count`` tasks). :meth:`TaskSource.load` returns the tasks.
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Tuple

from dice_jax.rollouts import fields
from dice_jax.rollouts.tasks import KINDS, SPLITS, Task, load_jsonl, make_tasks, split_tasks

__all__ = ["MAX_GENERATED", "TaskSource"]

MAX_GENERATED = 10_000  # generated tasks per difficulty


@dataclasses.dataclass(frozen=True)
class TaskSource:
  """One source of tasks.

  Attributes:
    kind: ``"arithmetic"``, ``"planning"`` or ``"jsonl"``.
    count: generated: tasks per difficulty (default 20, at most :data:`MAX_GENERATED`); jsonl:
      keep at most this many (default all).
    split: generated: ``"train"`` (default) or ``"test"``; jsonl: ``"all"`` (default),
      ``"train"`` or ``"test"`` (:func:`~dice_jax.rollouts.tasks.split_tasks`).
    difficulties: generated: the buckets (integers ``>= 1``; default the generator's); jsonl:
      keep only tasks of these difficulties.
    seed: the generator's seed.
    path: the JSONL file (jsonl only).
    test_fraction: the held-out share of the train/test split, in ``(0, 1)``.

  Raises:
    ValueError: naming the field.
  """

  kind: str
  count: Optional[int] = None
  split: Optional[str] = None
  difficulties: Optional[Tuple] = None
  seed: int = 0
  path: Optional[str] = None
  test_fraction: float = 0.5

  def __post_init__(self):
    fields.choice("kind", self.kind, (*KINDS, "jsonl"))
    jsonl = self.kind == "jsonl"
    if jsonl and self.path is None:
      raise ValueError("path: missing: a jsonl source needs the dataset file.")
    if not jsonl and self.path is not None:
      raise ValueError(f"path: only a jsonl source reads a file (kind is {self.kind!r}).")
    if self.path is not None and (not isinstance(self.path, str) or not self.path.strip()):
      raise ValueError(f"path must be a file name; got {self.path!r}.")
    splits = ("all", *SPLITS) if jsonl else SPLITS
    object.__setattr__(self, "split", fields.choice("split", self.split or splits[0], splits))
    count = self.count if self.count is not None or jsonl else 20
    if count is not None:
      high = {} if jsonl else {"high": MAX_GENERATED}
      object.__setattr__(self, "count", fields.integer("count", count, low=1, **high))
    object.__setattr__(self, "seed", fields.integer("seed", self.seed))
    object.__setattr__(
      self,
      "test_fraction",
      fields.real(
        "test_fraction", self.test_fraction, low=0.0, low_open=True, high=1.0, high_open=True
      ),
    )
    d = self.difficulties
    if d is not None:
      if isinstance(d, (str, bytes)) or not isinstance(d, (list, tuple)):
        raise ValueError(f"difficulties must be a list; got {d!r}.")
      if not d:
        raise ValueError("difficulties must name at least one difficulty.")
      if not jsonl:
        d = [fields.integer(f"difficulties[{i}]", x, low=1) for i, x in enumerate(d)]
      object.__setattr__(self, "difficulties", tuple(d))

  def load(self) -> List[Task]:
    """The tasks (generated, or read from ``path`` and filtered).

    Raises:
      ValueError: ``"path: <file>:<line>: ..."`` for a bad dataset line; a generator's own error
        (e.g. a difficulty it cannot make); no task left after the filters.
    """
    if self.kind != "jsonl":
      return make_tasks(
        self.kind,
        self.count,
        split=self.split,
        seed=self.seed,
        difficulties=self.difficulties,
        test_fraction=self.test_fraction,
      )
    try:
      pool = load_jsonl(self.path)
    except (ValueError, OSError) as e:
      raise ValueError(f"path: {e}") from None
    if self.split != "all":
      pool = split_tasks(pool, test_fraction=self.test_fraction)[self.split == "test"]
    if self.difficulties is not None:
      keep = {str(d) for d in self.difficulties}
      pool = [t for t in pool if str(t.meta.get("difficulty")) in keep]
    pool = pool[: self.count]
    if not pool:
      raise ValueError(f"no task of {self.path} is left after split, difficulties and count.")
    return pool
