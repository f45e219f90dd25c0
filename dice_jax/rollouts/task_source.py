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
from dice_jax.rollouts.tasks import (
  KINDS,
  SPLITS,
  Task,
  check_test_fraction,
  generator_options,
  load_jsonl,
  make_tasks,
  split_tasks,
)

__all__ = ["MAX_GENERATED", "TaskSource"]

MAX_GENERATED = 10_000  # generated tasks per difficulty


def _set(obj, name, value):
  object.__setattr__(obj, name, value)


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
    ValueError: naming the field. A generated source's ``split``, ``seed``, ``difficulties``
      and ``test_fraction`` are checked by :func:`~dice_jax.rollouts.tasks.generator_options`,
      the check :func:`~dice_jax.rollouts.tasks.make_tasks` itself runs.
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
    if self.path is not None:
      fields.text("path", self.path, "a file name")
    if not jsonl:  # the generator's own arguments are checked where make_tasks checks them
      count = 20 if self.count is None else self.count
      _set(self, "count", fields.integer("count", count, low=1, high=MAX_GENERATED))
      given = generator_options(
        self.kind,
        split=self.split or "train",
        seed=self.seed,
        difficulties=self.difficulties,
        test_fraction=self.test_fraction,
      )
      for f in ("split", "seed", "test_fraction"):
        _set(self, f, getattr(given, f))
      if self.difficulties is not None:
        _set(self, "difficulties", given.difficulties)
      return
    _set(self, "split", fields.choice("split", self.split or "all", ("all", *SPLITS)))
    if self.count is not None:
      _set(self, "count", fields.integer("count", self.count, low=1))
    if self.difficulties is not None:  # compared with the file's difficulty, any value
      _set(
        self,
        "difficulties",
        fields.sequence("difficulties", self.difficulties, of="difficulties", one="difficulty"),
      )
    _set(self, "seed", fields.integer("seed", self.seed))
    _set(self, "test_fraction", check_test_fraction(self.test_fraction))

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
