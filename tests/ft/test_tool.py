"""DICE-FT as a tool: the config maps onto self-checking settings (errors name the field), the
CLI refuses bad configs with exit 2 and writes nothing, and a run interrupted after an iteration
resumes to exactly the uninterrupted result."""

import copy
import json
import pathlib

import numpy as np
import pytest

from dice_jax.cli import main as cli_main
from dice_jax.ft.config import ConfigError, load_config, parse_config
from dice_jax.ft.harness.runner import completed_iterations, run_settings
from dice_jax.ft.settings import TaskSettings

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "ft" / "arithmetic.yaml"

TINY = {
  "name": "tiny",
  "seed": 3,
  "model": {
    "lora_rank": 2,
    "lora_alpha": 4,
    "lora_targets": ["q_proj", "v_proj"],
    "learning_rate": 0.05,
  },
  "tasks": {"kind": "arithmetic", "train": 2, "test": 1, "difficulties": [1]},
  "sampling": {
    "num_candidates": 3,
    "max_new_tokens": 4,
    "temperature": 1.0,
    "prompt_bucket": 256,
  },  # one prompt shape: few compilations
  "loop": {
    "iterations": 2,
    "prompts_per_iteration": 2,
    "step_size": 5.0,
    "temperature": {"arithmetic/d1": 0.5},
    "inner_steps": 2,
  },
  "evaluation": {"max_new_tokens": 4, "batch": 2},
}


def _with(path, value):
  cfg = copy.deepcopy(TINY)
  *parents, last = path.split(".")
  node = cfg
  for p in parents:
    node = node.setdefault(p, {})
  if value is ...:
    del node[last]
  else:
    node[last] = value
  return cfg


BAD = [
  ("colour", "red", "colour", "unknown key"),
  ("loop.step_size", -1.0, "loop.step_size", "> 0"),
  ("loop.iterations", 1e30, "loop.iterations", "integer"),
  ("loop.iterations", 10**30, "loop.iterations", "<= 100,000"),
  (
    "loop.temperature",
    {"arithmetic/d2": 0.5},
    "loop.temperature",
    "no temperature for state(s) ['arithmetic/d1']",
  ),
  ("loop.temperature", {"arithmetic/d1": 0.0}, "loop.temperature['arithmetic/d1']", "> 0"),
  ("loop.temperature", True, "loop.temperature", "must be a number"),
  ("loop.temperature", [0.1, 0.2], "loop.temperature", "a mapping from states"),
  ("loop.temperature", {"arithmetic/d1": 0.1, "x": -1}, "loop.temperature['x']", "> 0"),
  ("loop.agents", "solver", "loop.agents", "list of names"),
  ("loop.agents", ["a", "a"], "loop.agents", "distinct"),
  ("loop.learning_rate", 0.1, "loop.learning_rate", "unknown key"),
  ("model.lora_rank", 0, "model.lora_rank", ">= 1"),
  ("model.lora_targets", "q_proj", "model.lora_targets", "list of names"),
  ("model.path", "no/such/model.gguf", "model.path", "no such file"),
  ("tasks.kind", "chess", "tasks.kind", "one of arithmetic, planning, jsonl"),
  ("tasks.difficulties", 1, "tasks.difficulties", "list of integers"),
  ("tasks.train", 2.0, "tasks.train", "integer"),
  ("tasks.test", 0, "tasks.test", "must be an integer >= 1"),
  ("tasks.train", 10_001, "tasks.train", "<= 10,000"),
  ("tasks.difficulties", [1, 0], "tasks.difficulties[1]", "integer >= 1"),
  ("tasks.difficulties", [], "tasks.difficulties", "at least one difficulty"),
  ("tasks.seed", -1, "tasks.seed", ">= 0"),
  ("tasks.test_fraction", 1.0, "tasks.test_fraction", "< 1"),
  ("tasks.path", "data.jsonl", "tasks.path", "only a jsonl source reads a file"),
  ("tasks.instruction", 3, "tasks.instruction", "must be text"),
  ("name", " ", "name", "must be non-empty text"),
  ("description", ["x"], "description", "must be text; got ['x']"),
  ("output", "", "output", "must be a folder name"),
  ("model.path", 3, "model.path", "must be a file or folder name"),
  ("sampling", ..., "sampling", "missing"),
  ("sampling.num_candidates", 1e30, "sampling.num_candidates", "integer"),
  ("sampling.temperature", "hot", "sampling.temperature", "number"),
  ("sampling.top_p", 1.5, "sampling.top_p", "<= 1"),
  ("sampling.stop_ids", [0], "sampling.stop_ids", "unknown key"),
  ("sampling.prompt_bucket", 0, "sampling.prompt_bucket", ">= 1"),
  ("evaluation.batch", True, "evaluation.batch", "integer"),
  ("seed", -1, "seed", ">= 0"),
]


@pytest.mark.parametrize("path,value,field,phrase", BAD, ids=[f"{c[0]}={c[1]!r}"[:50] for c in BAD])
def test_bad_config_names_the_field(path, value, field, phrase):
  with pytest.raises(ConfigError) as e:
    parse_config(_with(path, value))
  assert e.value.field == field, str(e.value)
  assert str(e.value).startswith(f"{field}: ") and phrase in str(e.value), str(e.value)


def test_tasks_are_the_two_splits_of_one_task_source(tmp_path):
  """The FT config's tasks section is read into rollouts.TaskSource (the type DICE-PC's tasks
  use): a generated source gives make_tasks' tasks, a jsonl file its held-out split."""
  from dice_jax.ft.harness.runner import _tasks  # noqa: PLC0415 - the runner's own reader
  from dice_jax.rollouts import TaskSource, make_tasks, split_tasks  # noqa: PLC0415
  from dice_jax.rollouts.tasks import load_jsonl  # noqa: PLC0415

  s = parse_config(TINY)
  assert s.tasks.sources == (
    TaskSource("arithmetic", count=2, split="train", difficulties=[1]),
    TaskSource("arithmetic", count=1, split="test", difficulties=[1]),
  )
  train, test = _tasks(s)
  assert sorted(t.question for t in train) == sorted(
    t.question for t in make_tasks("arithmetic", 2, difficulties=[1])
  )
  assert [t.question for t in test] == [
    t.question for t in make_tasks("arithmetic", 1, split="test", difficulties=[1])
  ]
  assert (
    TaskSettings().difficulties == (1, 2) and TaskSettings("jsonl", path="x").difficulties is None
  )
  data = tmp_path / "data.jsonl"
  data.write_text(
    "".join(
      json.dumps({"question": f"What is {i} + 1?", "answer": i + 1}) + "\n" for i in range(40)
    )
  )
  cfg = _with("tasks", {"kind": "jsonl", "path": "data.jsonl", "train": 5, "test": 3})
  cfg["loop"]["temperature"] = 0.5
  s = parse_config(cfg, base_dir=str(tmp_path))
  train, test = _tasks(s)
  want_train, want_test = split_tasks(load_jsonl(data))
  assert [t.question for t in test] == [t.question for t in want_test[:3]]
  assert sorted(t.question for t in train) == sorted(t.question for t in want_train[:5])


def test_example_validates_and_bad_files_exit_2_writing_nothing(tmp_path, capsys):
  s = load_config(EXAMPLE)
  assert s.loop.temperature == {"arithmetic/d1": 0.05, "arithmetic/d2": 0.1}
  assert s.tasks.states() == ("arithmetic/d1", "arithmetic/d2")
  assert cli_main(["ft", "validate", str(EXAMPLE)]) == 0
  assert json.loads(capsys.readouterr().out)["sampling"]["num_candidates"] == 8
  bad = tmp_path / "bad.yaml"
  bad.write_text(EXAMPLE.read_text().replace("step_size: 2.0", "step_size: -2.0"))
  out = tmp_path / "run"
  assert cli_main(["ft", "run", str(bad), "--out", str(out)]) == 2
  assert "loop.step_size: must be > 0" in capsys.readouterr().err
  assert not out.exists()
  dup = tmp_path / "dup.yaml"
  dup.write_text(EXAMPLE.read_text() + "seed: 1\n")
  assert cli_main(["ft", "run", str(dup), "--out", str(out)]) == 2
  assert "duplicate key 'seed'" in capsys.readouterr().err and not out.exists()
  nowhere = tmp_path / "nowhere.yaml"
  nowhere.write_text(EXAMPLE.read_text().replace("output: results/ft/arithmetic", ""))
  assert cli_main(["ft", "run", str(nowhere), "--quiet"]) == 2
  assert "dice-jax ft: error: output: missing" in capsys.readouterr().err
  assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "dup.yaml", "nowhere.yaml"]
  assert cli_main(["ft", "report", str(tmp_path)]) == 2


def _state(folder):
  z = np.load(folder / "checkpoint" / "agent_0.npz")
  return [z[f"arr_{k}"] for k in range(len(z.files))]


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_uninterrupted_result(tmp_path, capsys):
  from dice_jax.testing.tiny_chat import tiny_chat_model, tiny_chat_tokenizer

  tok = tiny_chat_tokenizer()
  settings = parse_config(TINY)
  score = lambda task, text: float(bool(text) and ord(text[0]) % 2 == 0)  # a learnable signal
  full, cut = tmp_path / "full", tmp_path / "cut"
  run_settings(settings, str(full), model=tiny_chat_model(tok, seed=1), tokenizer=tok, score=score)
  part = run_settings(
    settings, str(cut), model=tiny_chat_model(tok, seed=1), tokenizer=tok, score=score, stop_after=1
  )
  assert completed_iterations(str(cut)) == 1 and "final" not in part
  assert not (cut / "summary.json").exists() and (cut / "adapters" / "iter_0" / "agent_0").is_dir()
  # a torn record line of an unfinished iteration is dropped on resume
  with open(cut / "records.jsonl", "a") as f:
    f.write('{"iteration": 1, "agents": [')
  done = run_settings(
    settings, str(cut), model=tiny_chat_model(tok, seed=1), tokenizer=tok, score=score
  )
  assert done["completed_iterations"] == 2 and "final" in done
  rec_full = [json.loads(x) for x in (full / "records.jsonl").read_text().splitlines()]
  rec_cut = [json.loads(x) for x in (cut / "records.jsonl").read_text().splitlines()]
  assert [r["iteration"] for r in rec_cut] == [0, 1]
  assert any(a["fitted"] for r in rec_full for a in r["agents"])  # the adapters did move
  for a, b in zip(rec_full, rec_cut):
    assert a["agents"][0]["policy"] == b["agents"][0]["policy"]
    assert a["agents"][0]["advantages"] == b["agents"][0]["advantages"]
  for a, b in zip(_state(full), _state(cut)):
    np.testing.assert_array_equal(a, b)  # adapters and Adam states
  for k in (0, 1):
    assert (full / "adapters" / f"iter_{k}" / "agent_0" / "adapter_config.json").is_file()
  with pytest.raises(ValueError, match="holds a run of other settings"):
    run_settings(
      parse_config(_with("seed", 4)), str(full), model=tiny_chat_model(tok), tokenizer=tok
    )
  assert cli_main(["ft", "report", str(full)]) == 0
  assert "held-out after 2 iteration(s)" in capsys.readouterr().out
  assert (full / "training.png").stat().st_size > 10_000
