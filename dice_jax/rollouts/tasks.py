"""Programmatic tasks with exact checkers, held-out splits, and user JSONL datasets.

Two generated families, each with a difficulty bucket that is the DICE-PC *state*:

* **arithmetic** -- a word problem with ``difficulty`` operations (add, take away, double or
  triple, split into equal piles) on a starting count; the answer is an integer
  (checked by :func:`dice_jax.rollouts.checkers.check_number`).
* **planning** -- order ``difficulty`` named jobs so that every "x before y" rule holds; the rules
  form a random precedence tree consistent with a hidden order, so usually several orders are
  right and the checker verifies the rules (:func:`dice_jax.rollouts.checkers.check_order`).

**Splits.** A task's split is a function of its question text alone: the first 8 bytes of
``sha256(salt + question)`` as a fraction of ``2**64``, below ``test_fraction`` -> ``"test"``,
else ``"train"``. So train and test never share a question, whatever the seeds, and
:func:`make_tasks` is reproducible: the same arguments give the same tasks.

**User data.** :func:`load_jsonl` reads one JSON object per line with ``question`` and
``answer`` (a number, numeric text, a GSM8K solution ending in ``#### 42``, or short text) and
optional ``domain``, ``difficulty``, ``checker``, ``items``/``constraints``; errors name the file,
the line and the field.

The state of a task is named :func:`state_name` (``"arithmetic/d2"``); :func:`assign_states`
sets :attr:`Task.state` to indices into a list of such names.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from dice_jax.rollouts import fields
from dice_jax.rollouts.checkers import CHECKERS, count_orders, reference_number, satisfies

__all__ = [
  "ARITHMETIC_DIFFICULTIES",
  "GeneratorOptions",
  "KINDS",
  "PLANNING_DIFFICULTIES",
  "Task",
  "TaskFileError",
  "arithmetic_task",
  "assign_states",
  "check_test_fraction",
  "generator_options",
  "load_jsonl",
  "make_tasks",
  "planning_task",
  "split_of",
  "split_tasks",
  "state_name",
  "states_of",
]

KINDS = ("arithmetic", "planning")
ARITHMETIC_DIFFICULTIES = (1, 2, 3, 4)
PLANNING_DIFFICULTIES = (2, 3, 4)
SPLITS = ("train", "test")

_NAMES = (
  "Ava",
  "Ben",
  "Cara",
  "Dan",
  "Eli",
  "Fay",
  "Gus",
  "Hana",
  "Ivan",
  "Jo",
  "Kai",
  "Lena",
  "Mia",
  "Nico",
  "Omar",
  "Pia",
  "Quinn",
  "Rosa",
  "Sam",
  "Tara",
)
_ITEMS = (
  "apples",
  "marbles",
  "stickers",
  "pencils",
  "coins",
  "books",
  "shells",
  "cards",
  "cookies",
  "stamps",
  "buttons",
  "beads",
)
_JOBS = (
  "bake",
  "clean",
  "dust",
  "email",
  "feed",
  "garden",
  "iron",
  "jog",
  "knit",
  "mop",
  "paint",
  "read",
  "sew",
  "shop",
  "vacuum",
  "wash",
)
_MAX_VALUE = 200


@dataclasses.dataclass(frozen=True)
class Task:
  """One task: a question with its reference answer, and the state it is played in.

  Attributes:
    question: the text the roles see.
    answer: the reference answer (what the exact checker compares with).
    state: index of the task's state in the algorithm's list of states (DICE-PC:
      :attr:`dice_jax.pc.CoordinationSpec.states`; :func:`assign_states` sets it).
    kind: the task family (``"arithmetic"``, ``"planning"``, ``"jsonl"``, ``"synthetic"``).
    meta: anything else (difficulty, seed, the generating parameters).
  """

  question: str
  answer: Any
  state: int = 0
  kind: str = "synthetic"
  meta: Dict[str, Any] = dataclasses.field(default_factory=dict)


class TaskFileError(ValueError):
  """A JSONL task file that cannot be read; the message names the file, line and field."""


def check_test_fraction(value: Any) -> float:
  """``value`` as the held-out share of a split: a number in ``(0, 1)``.

  Raises:
    ValueError: starting with ``test_fraction``.
  """
  return fields.real("test_fraction", value, low=0.0, low_open=True, high=1.0, high_open=True)


def split_of(question: str, *, test_fraction: float = 0.5, salt: str = "dice-pc") -> str:
  """``"test"`` or ``"train"``: the split a question belongs to (a hash of its text).

  Raises:
    ValueError: ``test_fraction`` outside ``(0, 1)`` (:func:`check_test_fraction`).
  """
  test_fraction = check_test_fraction(test_fraction)
  h = hashlib.sha256((salt + "\x00" + question).encode("utf-8")).digest()
  return "test" if int.from_bytes(h[:8], "big") / 2.0**64 < test_fraction else "train"


def split_tasks(
  tasks: Iterable[Task], *, test_fraction: float = 0.5, salt: str = "dice-pc"
) -> Tuple[List[Task], List[Task]]:
  """``(train, test)``: tasks partitioned by :func:`split_of` of their question."""
  train, test = [], []
  for t in tasks:
    (
      test if split_of(t.question, test_fraction=test_fraction, salt=salt) == "test" else train
    ).append(t)
  return train, test


# --- arithmetic ---------------------------------------------------------------------------------


def arithmetic_task(rng: np.random.Generator, difficulty: int) -> Task:
  """One word problem with ``difficulty`` operations; every intermediate count is an integer in
  ``[1, 200]``.

  Example::

      >>> t = arithmetic_task(np.random.default_rng(0), 2)
      >>> t.meta["difficulty"], isinstance(t.answer, int)
      (2, True)
  """
  if int(difficulty) < 1:
    raise ValueError(f"difficulty must be >= 1 (the number of operations); got {difficulty}.")
  name = _NAMES[rng.integers(len(_NAMES))]
  item = _ITEMS[rng.integers(len(_ITEMS))]
  value = int(rng.integers(3, 21))
  sentences = [f"{name} has {value} {item}."]
  steps = []
  for _ in range(int(difficulty)):
    ops = ["add", "sub", "mul", "div"]
    divisors = [k for k in (2, 3, 4, 5) if value % k == 0]
    if value <= 1:
      ops.remove("sub")
    if value * 2 > _MAX_VALUE:
      ops.remove("mul")
    if not divisors:
      ops.remove("div")
    if value > _MAX_VALUE - 2:
      ops.remove("add")
    op = ops[rng.integers(len(ops))]
    if op == "add":
      k = int(rng.integers(2, min(20, _MAX_VALUE - value) + 1))
      value += k
      sentences.append(
        _pick(
          rng,
          [
            f"Then {name} gets {k} more {item}.",
            f"A friend gives {name} {k} {item}.",
            f"{name} finds {k} more {item}.",
          ],
        )
      )
    elif op == "sub":
      k = int(rng.integers(1, min(value - 1, 15) + 1))
      value -= k
      noun = item if k > 1 else item[:-1]  # every item name is a plain "-s" plural
      sentences.append(
        _pick(
          rng,
          [
            f"Then {name} gives away {k} {noun}.",
            f"{name} loses {k} {noun}.",
            f"{name} gives {k} {noun} to a friend.",
          ],
        )
      )
    elif op == "mul":
      k = 3 if value * 3 <= _MAX_VALUE and rng.random() < 0.3 else 2
      value *= k
      word = {2: "doubles", 3: "triples"}[k]
      sentences.append(f"Then {name} {word} the number of {item}.")
    else:
      k = divisors[rng.integers(len(divisors))]
      value //= k
      sentences.append(f"{name} splits the {item} into {k} equal piles and keeps only one pile.")
    steps.append((op, k, value))
  question = " ".join(sentences) + f" How many {item} does {name} have now?"
  return Task(
    question=question,
    answer=int(value),
    kind="arithmetic",
    meta={"domain": "arithmetic", "difficulty": int(difficulty), "steps": steps},
  )


def _pick(rng, options):
  return options[rng.integers(len(options))]


# --- planning -----------------------------------------------------------------------------------


def planning_task(rng: np.random.Generator, difficulty: int) -> Task:
  """Order ``difficulty`` jobs (2 to 8) under "x before y" rules.

  A hidden order is drawn; job ``k`` of it gets one rule "j before k" with ``j`` an earlier job
  drawn uniformly, so the rules form a precedence tree and the hidden order satisfies them. The
  question lists the jobs in an order that breaks at least one rule. ``answer`` is one valid
  order; ``meta`` holds ``items``, ``constraints`` and ``num_solutions`` (the count of valid
  orders).
  """
  n = int(difficulty)
  if not 2 <= n <= 8:
    raise ValueError(f"difficulty (the number of jobs) must lie in [2, 8]; got {difficulty}.")
  jobs = [str(j) for j in rng.choice(_JOBS, size=n, replace=False)]
  constraints = [(jobs[int(rng.integers(k))], jobs[k]) for k in range(1, n)]
  constraints = [
    constraints[int(i)] for i in rng.permutation(n - 1)
  ]  # present the rules in random order
  listed = list(jobs)
  for _ in range(100):
    listed = [jobs[int(i)] for i in rng.permutation(n)]
    if satisfies(listed, jobs, constraints):
      break
  else:  # pragma: no cover - the reverse of the hidden order breaks every rule
    listed = jobs[::-1]
  rules = "\n".join(f"- {a} must come before {b}." for a, b in constraints)
  question = (
    f"Put these {n} jobs in an order that obeys every rule.\n"
    f"Jobs: {', '.join(listed)}.\nRules:\n{rules}\n"
    f"List all {n} jobs in order, separated by commas."
  )
  return Task(
    question=question,
    answer=", ".join(jobs),
    kind="planning",
    meta={
      "domain": "planning",
      "difficulty": n,
      "items": sorted(jobs),
      "constraints": [list(c) for c in constraints],
      "num_solutions": count_orders(jobs, constraints),
    },
  )


_GENERATORS = {"arithmetic": arithmetic_task, "planning": planning_task}
_DEFAULT_DIFFICULTIES = {"arithmetic": ARITHMETIC_DIFFICULTIES, "planning": PLANNING_DIFFICULTIES}


class GeneratorOptions(NamedTuple):
  """The checked arguments of :func:`make_tasks` other than the count (:func:`generator_options`)."""

  kind: str
  split: str
  seed: int
  difficulties: Tuple[int, ...]
  test_fraction: float


def generator_options(
  kind: Any,
  *,
  split: Any = "train",
  seed: Any = 0,
  difficulties: Optional[Sequence[Any]] = None,
  test_fraction: Any = 0.5,
) -> GeneratorOptions:
  """The one check of a generated task source's arguments, before anything is generated:
  :func:`make_tasks` calls it, and so does :class:`dice_jax.rollouts.task_source.TaskSource`.

  Args:
    kind: one of :data:`KINDS`.
    split: ``"train"`` or ``"test"``.
    seed: an integer ``>= 0``.
    difficulties: a non-empty list of integers ``>= 1`` (``None``: the kind's default buckets;
      the generator checks its own range, e.g. planning's ``[2, 8]``).
    test_fraction: the held-out share, in ``(0, 1)``.

  Raises:
    ValueError: starting with the argument's name (``difficulties[1]`` for one bucket).
  """
  kind = fields.choice("kind", kind, KINDS)
  if difficulties is None:
    difficulties = _DEFAULT_DIFFICULTIES[kind]
  difficulties = fields.sequence("difficulties", difficulties, of="integers", one="difficulty")
  return GeneratorOptions(
    kind=kind,
    split=fields.choice("split", split, SPLITS),
    seed=fields.integer("seed", seed),
    difficulties=tuple(
      fields.integer(f"difficulties[{i}]", d, low=1) for i, d in enumerate(difficulties)
    ),
    test_fraction=check_test_fraction(test_fraction),
  )


def make_tasks(
  kind: str,
  n: int,
  *,
  split: str = "train",
  seed: int = 0,
  difficulties: Optional[Sequence[int]] = None,
  test_fraction: float = 0.5,
  salt: str = "dice-pc",
) -> List[Task]:
  """``n`` distinct tasks of ``kind`` per difficulty, all in ``split``; reproducible from ``seed``.

  Candidates are drawn from ``np.random.default_rng([seed, kind index, difficulty])`` and kept
  when :func:`split_of` puts them in ``split`` and the question is new. Tasks are ordered by
  difficulty; ``meta`` records ``split``, ``seed`` and ``uid`` (a hash of the question).

  Args:
    kind: ``"arithmetic"`` or ``"planning"``.
    n: tasks per difficulty (an integer >= 0).
    split: ``"train"`` or ``"test"``.
    seed: the generator seed.
    difficulties: buckets to generate (default :data:`ARITHMETIC_DIFFICULTIES` /
      :data:`PLANNING_DIFFICULTIES`).
    test_fraction, salt: passed to :func:`split_of`.

  Raises:
    ValueError: naming ``kind``, ``split``, ``seed``, ``difficulties`` or ``test_fraction``
      (:func:`generator_options`), or ``n``, before anything is generated; a difficulty the
      generator cannot make; a bucket with too few distinct questions for ``n``.

  Example::

      >>> test = make_tasks("arithmetic", 5, split="test", seed=0)
      >>> len(test), {t.meta["split"] for t in test}
      (20, {'test'})
  """
  kind, split, seed, diffs, test_fraction = generator_options(
    kind, split=split, seed=seed, difficulties=difficulties, test_fraction=test_fraction
  )
  n = fields.integer("n", n)
  gen = _GENERATORS[kind]
  out: List[Task] = []
  for d in diffs:
    rng = np.random.default_rng([seed, KINDS.index(kind), d])
    seen = set()
    bucket: List[Task] = []
    tries = 0
    while len(bucket) < n:
      tries += 1
      if tries > 200 * n + 1000:
        raise ValueError(
          f"difficulty {d} of {kind!r} has too few distinct {split} questions for "
          f"n={n} (found {len(bucket)})."
        )
      t = gen(rng, d)
      if (
        t.question in seen or split_of(t.question, test_fraction=test_fraction, salt=salt) != split
      ):
        continue
      seen.add(t.question)
      uid = hashlib.sha256(t.question.encode("utf-8")).hexdigest()[:16]
      bucket.append(
        dataclasses.replace(t, meta={**t.meta, "split": split, "seed": seed, "uid": uid})
      )
    out.extend(bucket)
  return out


# --- states -------------------------------------------------------------------------------------


def state_name(task: Task) -> str:
  """``"<domain>/d<difficulty>"`` (``"<domain>"`` when the task has no difficulty).

  The domain is ``meta["domain"]``, else the task's ``kind``.
  """
  meta = task.meta or {}
  domain = str(meta.get("domain", task.kind))
  d = meta.get("difficulty")
  return domain if d is None else f"{domain}/d{d}"


def _state_key(name: str):
  domain, _, d = name.partition("/d")
  try:
    return (domain, 0, float(d)) if d else (domain, -1, 0.0)
  except ValueError:
    return (domain, 1, d)


def states_of(tasks: Iterable[Task]) -> Tuple[str, ...]:
  """The distinct :func:`state_name` of ``tasks``, sorted by domain then numeric difficulty."""
  return tuple(sorted({state_name(t) for t in tasks}, key=_state_key))


def assign_states(tasks: Iterable[Task], states: Sequence[str]) -> List[Task]:
  """``tasks`` with :attr:`Task.state` set to the index of their :func:`state_name` in ``states``.

  Raises:
    ValueError: naming the state a task has that ``states`` lacks.
  """
  index = {s: i for i, s in enumerate(states)}
  out = []
  for t in tasks:
    s = state_name(t)
    if s not in index:
      raise ValueError(f"task state {s!r} is not among the states {list(states)}.")
    out.append(dataclasses.replace(t, state=index[s]))
  return out


# --- user data ----------------------------------------------------------------------------------


def load_jsonl(path: str | os.PathLike, *, kind: str = "jsonl") -> List[Task]:
  """Tasks from a JSONL file: one JSON object per non-blank line.

  Fields: ``question`` (non-empty text) and ``answer`` (number or non-empty text) are required;
  optional ``domain`` (text), ``difficulty`` (number or text), ``checker`` (one of
  ``"number"``, ``"order"``, ``"text"``), ``items`` and ``constraints`` (for order tasks). Other
  fields are kept in ``meta``. A GSM8K solution as ``answer`` (text ending in ``#### 42``) is
  checked by its final number.

  Raises:
    FileNotFoundError: naming ``path``.
    TaskFileError: ``"<path>:<line>: ..."`` naming the field, for invalid JSON, a line that is
      not an object, a missing or empty ``question``/``answer``, or a bad optional field.
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such task file.")
  tasks: List[Task] = []
  with open(path, encoding="utf-8") as f:
    for lineno, line in enumerate(f, start=1):
      if not line.strip():
        continue
      where = f"{path}:{lineno}"
      try:
        obj = json.loads(line)
      except json.JSONDecodeError as e:
        raise TaskFileError(f"{where}: invalid JSON ({e.msg} at column {e.colno}).") from None
      if not isinstance(obj, dict):
        raise TaskFileError(f"{where}: each line must be a JSON object; got {type(obj).__name__}.")
      tasks.append(_task_from_record(obj, where, kind))
  if not tasks:
    raise TaskFileError(f"{path}: the file holds no tasks.")
  return tasks


def _task_from_record(obj: Dict, where: str, kind: str) -> Task:
  for field in ("question", "answer"):
    if field not in obj:
      raise TaskFileError(f"{where}: missing field {field!r}.")
  q, a = obj["question"], obj["answer"]
  if not isinstance(q, str) or not q.strip():
    raise TaskFileError(f"{where}: field 'question' must be non-empty text; got {q!r}.")
  if (
    isinstance(a, bool)
    or not isinstance(a, (int, float, str))
    or (isinstance(a, str) and not a.strip())
  ):
    raise TaskFileError(f"{where}: field 'answer' must be a number or non-empty text; got {a!r}.")
  meta = {k: v for k, v in obj.items() if k not in ("question", "answer")}
  if "domain" in meta and (not isinstance(meta["domain"], str) or not meta["domain"].strip()):
    raise TaskFileError(f"{where}: field 'domain' must be non-empty text; got {meta['domain']!r}.")
  if "difficulty" in meta and (
    isinstance(meta["difficulty"], bool) or not isinstance(meta["difficulty"], (int, float, str))
  ):
    raise TaskFileError(
      f"{where}: field 'difficulty' must be a number or text; got {meta['difficulty']!r}."
    )
  if "checker" in meta and meta["checker"] not in CHECKERS:
    raise TaskFileError(
      f"{where}: field 'checker' must be one of {list(CHECKERS)}; got {meta['checker']!r}."
    )
  if meta.get("checker") == "order" or "items" in meta or "constraints" in meta:
    items, cons = meta.get("items"), meta.get("constraints")
    if not (isinstance(items, list) and items and all(isinstance(i, str) for i in items)):
      raise TaskFileError(
        f"{where}: field 'items' must be a non-empty list of names; got {items!r}."
      )
    if not (
      isinstance(cons, list)
      and all(isinstance(c, list) and len(c) == 2 and set(c) <= set(items) for c in cons)
    ):
      raise TaskFileError(
        f"{where}: field 'constraints' must be a list of [before, after] item pairs; got {cons!r}."
      )
    meta.setdefault("checker", "order")
  if meta.get("checker") == "number":
    try:
      reference_number(a)
    except ValueError:
      raise TaskFileError(
        f"{where}: field 'answer' must hold a number for checker 'number'; got {a!r}."
      ) from None
  meta.setdefault("domain", kind)
  meta["source"] = where
  return Task(question=q, answer=a, kind=kind, meta=meta)
