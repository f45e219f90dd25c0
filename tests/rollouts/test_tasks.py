"""Task generators (reproducible, held-out splits disjoint), states, and the JSONL loader."""

import json

import numpy as np
import pytest

from dice_jax.rollouts.checkers import check, check_order, satisfies
from dice_jax.rollouts.tasks import Task
from dice_jax.rollouts.tasks import (
  ARITHMETIC_DIFFICULTIES,
  TaskFileError,
  arithmetic_task,
  assign_states,
  load_jsonl,
  make_tasks,
  planning_task,
  split_of,
  split_tasks,
  state_name,
  states_of,
)


def _replay(steps, start):
  v = start
  for op, k, _ in steps:
    v = {"add": v + k, "sub": v - k, "mul": v * k, "div": v // k}[op]
  return v


@pytest.mark.parametrize("difficulty", ARITHMETIC_DIFFICULTIES)
def test_arithmetic_answer_is_the_replayed_computation(difficulty):
  rng = np.random.default_rng(difficulty)
  for _ in range(50):
    t = arithmetic_task(rng, difficulty)
    assert t.kind == "arithmetic" and t.meta["difficulty"] == difficulty
    assert len(t.meta["steps"]) == difficulty
    start = int(t.question.split(" has ")[1].split()[0])
    assert _replay(t.meta["steps"], start) == t.answer
    assert all(1 <= v <= 200 for *_, v in t.meta["steps"])  # every intermediate count
    assert check(t, f"The answer is {t.answer}.").correct
    assert not check(t, f"The answer is {t.answer + 1}.").correct


@pytest.mark.parametrize("difficulty", [2, 3, 4, 5, 6])
def test_planning_reference_is_valid_and_listing_is_not(difficulty):
  rng = np.random.default_rng(difficulty)
  for _ in range(30):
    t = planning_task(rng, difficulty)
    items, rules = t.meta["items"], t.meta["constraints"]
    assert len(items) == difficulty and len(rules) == difficulty - 1
    assert satisfies(t.answer.split(", "), items, rules) == ""
    assert check(t, f"Answer: {t.answer}").correct
    listed = t.question.split("Jobs: ")[1].split(".\n")[0].split(", ")
    assert sorted(listed) == sorted(items)
    assert satisfies(listed, items, rules) != ""  # copying the listing is wrong
    assert not check_order(f"Answer: {', '.join(listed)}", items, rules).correct
    assert 1 <= t.meta["num_solutions"] < np.prod(np.arange(1, difficulty + 1))


def test_planning_has_tasks_with_several_solutions():
  tasks = make_tasks("planning", 20, difficulties=[5], seed=3)
  assert max(t.meta["num_solutions"] for t in tasks) > 1


@pytest.mark.parametrize("kind", ["arithmetic", "planning"])
def test_make_tasks_reproducible_and_splits_disjoint(kind):
  a = make_tasks(kind, 30, split="train", seed=7)
  b = make_tasks(kind, 30, split="train", seed=7)
  assert [t.question for t in a] == [t.question for t in b]
  assert [t.answer for t in a] == [t.answer for t in b]
  c = make_tasks(kind, 30, split="train", seed=8)
  assert [t.question for t in a] != [t.question for t in c]
  test_tasks = make_tasks(kind, 30, split="test", seed=7) + make_tasks(
    kind, 30, split="test", seed=8
  )
  train_q = {t.question for t in a + c}
  assert not train_q & {t.question for t in test_tasks}
  assert all(t.meta["split"] == "train" for t in a) and all(
    t.meta["split"] == "test" for t in test_tasks
  )
  assert len({t.question for t in a}) == len(a)  # distinct within a call
  diffs = [t.meta["difficulty"] for t in a]
  assert diffs == sorted(diffs) and len(set(diffs)) == len(diffs) // 30


def test_split_of_is_a_function_of_the_question():
  qs = [f"question {i}" for i in range(2000)]
  frac = np.mean([split_of(q, test_fraction=0.3) == "test" for q in qs])
  assert abs(frac - 0.3) < 0.05
  assert split_of("abc", salt="x") == split_of("abc", salt="x")
  tasks = [Task(q, 1) for q in qs[:100]]
  train, test = split_tasks(tasks, test_fraction=0.3)
  assert len(train) + len(test) == 100 and not {t.question for t in train} & {
    t.question for t in test
  }
  with pytest.raises(ValueError, match="^test_fraction must be < 1"):
    split_of("q", test_fraction=1.0)
  with pytest.raises(ValueError, match="^test_fraction must be a number"):
    split_of("q", test_fraction="0.5")


def test_make_tasks_errors():
  """Each argument is checked by generator_options before anything is generated, and the
  message starts with the argument's name; the generator checks its own range of difficulty."""
  for kwargs, match in [
    ({"kind": "chess"}, "^kind: unknown value 'chess'"),
    ({"split": "dev"}, "^split: unknown value 'dev'"),
    ({"n": -1}, "^n must be an integer >= 0"),
    ({"n": 1.5}, "^n must be an integer"),
    ({"seed": "0"}, "^seed must be an integer"),
    ({"difficulties": []}, "^difficulties must name at least one difficulty"),
    ({"difficulties": 2}, "^difficulties must be a list"),
    ({"difficulties": [1, 0]}, r"^difficulties\[1\] must be an integer >= 1"),
    ({"difficulties": [1.0]}, r"^difficulties\[0\] must be an integer"),
    ({"test_fraction": 1.0}, "^test_fraction must be < 1"),
  ]:
    args = {"kind": "arithmetic", "n": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
      make_tasks(args.pop("kind"), args.pop("n"), **args)
  with pytest.raises(ValueError, match="difficulty"):
    make_tasks("planning", 1, difficulties=[1])
  with pytest.raises(ValueError, match="too few distinct"):
    make_tasks("arithmetic", 1, split="test", test_fraction=1e-12)  # (almost) nothing is test


def test_states():
  tasks = make_tasks("planning", 2, difficulties=[3, 4]) + make_tasks(
    "arithmetic", 2, difficulties=[10, 2]
  )
  states = states_of(tasks)
  assert states == ("arithmetic/d2", "arithmetic/d10", "planning/d3", "planning/d4")
  placed = assign_states(tasks, states)
  assert [states[t.state] for t in placed] == [state_name(t) for t in tasks]
  with pytest.raises(ValueError, match="planning/d3"):
    assign_states(tasks, states[:2])
  assert state_name(Task("q", 1, kind="jsonl")) == "jsonl"


def _write(tmp_path, lines, name="data.jsonl"):
  p = tmp_path / name
  p.write_text("\n".join(lines) + "\n", encoding="utf-8")
  return p


def test_load_jsonl(tmp_path):
  p = _write(
    tmp_path,
    [
      json.dumps({"question": "2+2?", "answer": 4, "domain": "math", "difficulty": 1}),
      "",
      json.dumps({"question": "Natalia ...", "answer": "She sold 72.\n#### 72", "id": "g1"}),
      json.dumps({"question": "Capital of France?", "answer": "Paris", "domain": "geo"}),
      json.dumps(
        {
          "question": "Order a, b",
          "answer": "a, b",
          "items": ["a", "b"],
          "constraints": [["a", "b"]],
        }
      ),
    ],
  )
  tasks = load_jsonl(p)
  assert len(tasks) == 4
  assert [state_name(t) for t in tasks] == ["math/d1", "jsonl", "geo", "jsonl"]
  assert tasks[1].meta["id"] == "g1" and tasks[1].meta["source"].endswith("data.jsonl:3")
  assert check(tasks[0], "The answer is 4").correct
  assert check(tasks[1], "#### 72").correct and not check(tasks[1], "#### 71").correct
  assert check(tasks[2], "Answer: paris").correct
  assert check(tasks[3], "Answer: a, b").correct and not check(tasks[3], "Answer: b, a").correct


def test_load_jsonl_missing_file(tmp_path):
  missing = tmp_path / "nope.jsonl"
  with pytest.raises(FileNotFoundError, match="nope.jsonl"):
    load_jsonl(missing)


@pytest.mark.parametrize(
  "bad,field",
  [
    ('{"question": "q", "answer": 1', "invalid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"answer": 1}', "'question'"),
    ('{"question": "q"}', "'answer'"),
    ('{"question": "", "answer": 1}', "'question'"),
    ('{"question": "q", "answer": null}', "'answer'"),
    ('{"question": "q", "answer": 1, "domain": 3}', "'domain'"),
    ('{"question": "q", "answer": 1, "difficulty": [1]}', "'difficulty'"),
    ('{"question": "q", "answer": 1, "checker": "regex"}', "'checker'"),
    ('{"question": "q", "answer": "x", "checker": "number"}', "'answer'"),
    (
      '{"question": "q", "answer": "a", "items": ["a"], "constraints": [["a", "z"]]}',
      "'constraints'",
    ),
    ('{"question": "q", "answer": "a", "constraints": []}', "'items'"),
  ],
)
def test_load_jsonl_errors_name_file_line_field(tmp_path, bad, field):
  p = _write(tmp_path, [json.dumps({"question": "ok", "answer": 1}), bad])
  with pytest.raises(TaskFileError) as e:
    load_jsonl(p)
  msg = str(e.value)
  assert f"{p}:2:" in msg and field in msg


def test_load_jsonl_empty_file(tmp_path):
  p = _write(tmp_path, [""])
  with pytest.raises(TaskFileError, match="no tasks"):
    load_jsonl(p)
