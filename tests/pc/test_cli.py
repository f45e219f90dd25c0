"""``dice-jax pc run`` / ``pc report`` through :func:`dice_jax.cli.main`: the results folder
(records, per-run and comparison summaries, config copy, plots), exit codes, a JSONL dataset on
an OpenAI-compatible server, and the package surface.

Shapes are shared on purpose (2 roles x 3 controls, 2 states, float64) so DICE-PC's solver
compiles once for the whole module."""

import json
import math
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml

from dice_jax.cli import main

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "pc"
RUN_KEYS = {
  "round",
  "method",
  "accuracy",
  "tokens_per_task",
  "tokens_per_role",
  "equilibrium_regret",
  "cumulative_equilibrium_regret",
  "oscillation",
  "policy",
  "num_failed",
  "seconds",
}
PLOTS = ("frontier.png", "regret.png", "oscillation.png")


def _tiny_oscillation(tmp_path, **changes):
  """The shipped oscillation example with a tiny budget and fewer methods."""
  text = (EXAMPLES / "oscillation.yaml").read_text()
  # PyYAML's safe_load reads the keys on/off as booleans (YAML 1.1); quote them
  cfg = yaml.safe_load(re.sub(r"(?m)^(\s+)(on|off):", r"\1'\2':", text))
  cfg["budget"] = {"rounds": 12, "batch_size": 16}
  cfg["seeds"] = [0, 1]
  cfg["methods"] = {
    k: cfg["methods"][k]
    for k in ("dice-pc", "dice-pc-uniform", "best-response", "best-of-n", "uniform")
  }
  cfg.update(changes)
  path = tmp_path / "osc.yaml"
  path.write_text(yaml.safe_dump(cfg, sort_keys=False))
  return path


def _assert_plot(path):
  import matplotlib.image as mpimg

  assert path.is_file() and path.stat().st_size > 10_000, path
  img = mpimg.imread(path)[..., :3]
  inked = np.mean(np.abs(img - 1.0).sum(-1) > 0.3)  # pixels far from white
  assert 0.01 < inked < 0.9, (path, inked)


@pytest.fixture(scope="module")
def oscillation_folder(tmp_path_factory):
  tmp = tmp_path_factory.mktemp("pc_cli")
  out = tmp / "results"
  cfg = _tiny_oscillation(tmp)
  rc = main(["pc", "run", str(cfg), "--out", str(out), "--quiet"])
  assert rc == 0
  return cfg, out


def test_run_writes_a_well_formed_results_folder(oscillation_folder):
  cfg, out = oscillation_folder
  assert (out / "config.yaml").read_text() == cfg.read_text()
  labels = ["dice-pc", "dice-pc-uniform", "best-response", "best-of-n", "uniform"]
  per_run = {}
  for label in labels:
    for seed in (0, 1):
      d = out / label / f"seed{seed}"
      records = [json.loads(line) for line in (d / "records.jsonl").read_text().splitlines()]
      assert len(records) == 12 and [r["round"] for r in records] == list(range(12))
      assert all(RUN_KEYS <= set(r) for r in records)
      s = json.loads((d / "summary.json").read_text())
      assert s["rounds"] == 12 and s["batch_size"] == 16 and s["seed"] == seed
      per_run[label, seed] = (records, s)
  top = json.loads((out / "summary.json").read_text())
  assert {
    "name",
    "seeds",
    "rounds",
    "batch_size",
    "environment",
    "spec",
    "config",
    "resolved",
    "metrics",
    "methods",
    "runs",
  } <= set(top)
  assert top["seeds"] == [0, 1] and top["environment"] == "synthetic/oscillation"
  assert top["spec"]["roles"] == ["planner", "solver"] and top["spec"]["states"] == ["easy", "hard"]
  assert top["config"]["budget"] == {"rounds": 12, "batch_size": 16}
  assert set(top["methods"]) == set(labels)
  assert top["runs"]["dice-pc"] == {"0": "dice-pc/seed0", "1": "dice-pc/seed1"}
  # the comparison is the mean and 95% Student-t interval over seeds of the per-run summaries
  for label in labels:
    m = top["methods"][label]
    acc = [per_run[label, s][1]["accuracy"] for s in (0, 1)]
    assert m["accuracy"]["values"] == pytest.approx(acc)
    assert m["accuracy"]["mean"] == pytest.approx(np.mean(acc))
    assert m["accuracy"]["ci95"] == pytest.approx(12.706 * np.std(acc, ddof=1) / math.sqrt(2))
    assert m["tokens_per_task"]["n"] == 2
  dice = top["methods"]["dice-pc"]
  assert dice["method"] == "dice-pc" and dice["certified_fraction"] is not None
  er = [
    np.nanmean(
      [
        np.nan if r["equilibrium_regret"] is None else r["equilibrium_regret"]
        for r in per_run["dice-pc", s][0][-3:]
      ]
    )
    for s in (0, 1)
  ]
  assert dice["final_equilibrium_regret"]["values"] == pytest.approx(er)
  assert top["methods"]["dice-pc-uniform"]["method"] == "dice-pc"
  assert top["methods"]["best-response"]["certified_fraction"] is None
  bon = top["methods"]["best-of-n"]
  assert bon["final_equilibrium_regret"] is None and bon["oscillation_index"] is None
  # best-of-n ran at DICE-PC's measured tokens per task, seed by seed
  for s in (0, 1):
    budget = per_run["best-of-n", s][1]["config"]["token_budget"]
    assert budget == pytest.approx(per_run["dice-pc", s][1]["tokens_per_task"])
  # the two DICE-PC runs differ only in the reference lever: same tasks, different policies
  pol = [np.array(per_run[k, 0][0][-1]["policy"][0][0]) for k in ("dice-pc", "dice-pc-uniform")]
  assert pol[0][0] > 0.5 and np.allclose(pol[1], 1 / 3, atol=0.05)
  for name in PLOTS:
    _assert_plot(out / name)


def test_report_regenerates_plots_and_prints_the_table(oscillation_folder, capsys):
  _, out = oscillation_folder
  for name in PLOTS:
    (out / name).unlink()
  # a run left in the folder by an earlier config is not part of this comparison
  shutil.copytree(out / "dice-pc" / "seed0", out / "stale-method" / "seed0")
  capsys.readouterr()
  assert main(["pc", "report", str(out)]) == 0
  text = capsys.readouterr().out
  assert "stale-method" not in text
  for name in PLOTS:
    _assert_plot(out / name)
  lines = text.splitlines()
  assert lines[0].split()[:3] == ["method", "seeds", "accuracy"]
  top = json.loads((out / "summary.json").read_text())
  for label, m in top["methods"].items():
    row = next(line for line in lines if line.startswith(label + " "))
    assert f"{m['accuracy']['mean']:.3f} ± {m['accuracy']['ci95']:.3f}" in row


def test_report_reads_a_harness_compare_folder(tmp_path, capsys):
  from dice_jax.pc import compare, oscillation_suite

  compare(
    oscillation_suite(),
    {"uniform": "uniform", "best-response": "best-response"},
    rounds=4,
    batch_size=8,
    out_dir=str(tmp_path),
  )
  assert main(["pc", "report", str(tmp_path)]) == 0
  assert "best-response" in capsys.readouterr().out
  _assert_plot(tmp_path / "frontier.png")


@pytest.mark.parametrize(
  "change,field",
  [
    ({"budget": {"rounds": 0, "batch_size": 4}}, "budget.rounds"),
    ({"roles": {"planner": [], "solver": ["a"]}}, "roles.planner"),
    ({"methods": {"dice-pc": {"temperature": -1}}}, "methods.dice-pc.temperature"),
    ({"methods": {"gradient-descent": {}}}, "methods.gradient-descent"),
    ({"token_cost": -1}, "token_cost"),
  ],
)
def test_bad_config_exits_2_naming_the_field(tmp_path, capsys, change, field):
  cfg = _tiny_oscillation(tmp_path, **change)
  assert main(["pc", "run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 2
  err = capsys.readouterr().err
  assert f"error: {field}: " in err
  assert not (tmp_path / "out").exists()  # refused before any work


def test_validate_prints_the_resolved_game_or_exits_2_naming_the_field(tmp_path, capsys):
  cfg = _tiny_oscillation(tmp_path, states=["easy", "hard"])
  before = sorted(p.name for p in tmp_path.iterdir())
  assert main(["pc", "validate", str(cfg)]) == 0
  resolved = json.loads(capsys.readouterr().out)
  assert resolved["spec"]["states"] == ["easy", "hard"] and resolved["rounds"] == 12
  assert resolved["methods"]["dice-pc"]["method"] == "dice-pc"
  bad = _tiny_oscillation(tmp_path, methods={"dice-pc": {"temperature": {"easy": 0.5}}})
  assert main(["pc", "validate", str(bad)]) == 2
  captured = capsys.readouterr()
  assert captured.out == ""
  assert "error: methods.dice-pc.temperature: missing states ['hard']" in captured.err
  assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_missing_dataset_and_missing_output_exit_2(tmp_path, capsys):
  cfg = tmp_path / "c.json"
  cfg.write_text(
    json.dumps(
      {
        "budget": {"rounds": 1, "batch_size": 2},
        "environment": {"kind": "llm"},
        "tasks": {"kind": "jsonl", "path": "nowhere.jsonl"},
        "methods": {"uniform": {}},
      }
    )
  )
  assert main(["pc", "run", str(cfg), "--out", str(tmp_path / "o")]) == 2
  assert "error: tasks.path: no such dataset file" in capsys.readouterr().err
  assert main(["pc", "run", str(_tiny_oscillation(tmp_path, output=None)), "--quiet"]) == 2
  assert "error: output: missing" in capsys.readouterr().err
  assert main(["pc", "report", str(tmp_path / "nothing")]) == 2


def test_jsonl_dataset_on_a_chat_completions_server(tmp_path, chat_server, capsys):
  """A user dataset through the OpenAI-compatible backend (a real loopback HTTP server): the
  server answers easy questions right and hard ones wrong, so a task's verdict does not depend
  on the controls and every method, seeing the same tasks per round, scores the same."""
  rows = [
    {"question": f"EASY task {i}: reply {i}", "answer": i, "domain": "toy", "difficulty": 1}
    for i in range(4)
  ]
  rows += [
    {"question": f"HARD task {i}: reply {i}", "answer": i + 1, "domain": "toy", "difficulty": 2}
    for i in range(4)
  ]
  (tmp_path / "toy.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

  def respond(body):
    question = body["messages"][-1]["content"]
    number = re.search(r"reply (\d+)", question).group(1)
    return 200, chat_server.ok(f"Answer: {number}")

  chat_server.respond = respond
  cfg = {
    "name": "toy",
    "seeds": [0],
    "budget": {"rounds": 3, "batch_size": 6},
    "environment": {"kind": "llm", "max_tokens_cap": 8},
    "roles": {
      "solver": ["direct", "step_by_step", "self_check"],
      "aggregator": ["first", "vote", "rewrite"],
    },
    "token_cost": 1e-3,
    "tasks": {"kind": "jsonl", "path": "toy.jsonl"},
    "backend": {
      "kind": "openai",
      "base_url": chat_server.base_url,
      "model": "toy-model",
      "timeout": 5,
      "retries": 0,
    },
    "methods": {"dice-pc": {"temperature": 0.7}, "uniform": {}, "best-of-n": {"n": 1}},
    "evaluation": {"monotonicity": False},
  }
  path = tmp_path / "toy.json"
  path.write_text(json.dumps(cfg))
  out = tmp_path / "out"
  assert main(["pc", "run", str(path), "--out", str(out)]) == 0
  captured = capsys.readouterr()
  assert "[1/3] dice-pc seed 0" in captured.err  # progress without --quiet
  top = json.loads((out / "summary.json").read_text())
  assert top["environment"] == "llm" and top["spec"]["states"] == ["toy/d1", "toy/d2"]
  acc = {
    k: [
      r["accuracy"]
      for r in map(json.loads, (out / k / "seed0" / "records.jsonl").read_text().splitlines())
    ]
    for k in cfg["methods"]
  }
  assert acc["dice-pc"] == acc["uniform"] == acc["best-of-n"]
  assert 0 < np.mean(acc["dice-pc"]) < 1
  records = [
    json.loads(x) for x in (out / "dice-pc" / "seed0" / "records.jsonl").read_text().splitlines()
  ]
  assert all(r["num_failed"] == 0 and r["tokens_per_role"][0] == 2.0 for r in records)
  assert all(r["equilibrium_regret"] is None for r in records)  # no true payoffs
  assert top["methods"]["dice-pc"]["hindsight_regret"] is not None  # estimated from rollouts
  assert all(req[2]["model"] == "toy-model" for req in chat_server.requests)
  for name in PLOTS:
    assert (out / name).stat().st_size > 10_000


def test_import_is_cheap_and_exports_the_public_names():
  code = (
    "import sys, dice_jax.pc as pc, dice_jax.rollouts as ro, dice_jax.ft as ft; "
    "print(sorted(m for m in ('transformers', 'torch', 'httpx') if m in sys.modules)); "
    "print(all(hasattr(m, n) for m in (pc, ro, ft) for n in m.__all__))"
  )
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
  assert out.returncode == 0, out.stderr
  assert out.stdout.split("\n")[:2] == ["[]", "True"]
  import dice_jax.ft as ft
  import dice_jax.pc as pc
  import dice_jax.rollouts as ro

  expected = {
    "PayoffPosterior",
    "DICEPC",
    "UniformPolicy",
    "IndependentLearners",
    "FictitiousPlay",
    "BestResponseDynamics",
    "BestOfN",
    "Policy",
    "Decision",
    "POLICIES",
    "make_policy",
    "run",
    "compare",
    "load_results",
    "Results",
    "report",
    "SyntheticEnvironment",
    "oscillation_suite",
    "drift_suite",
    "metrics",
    "CoordinationSpec",
    "Environment",
    "Outcome",
    "payoffs",
    "LLMEnvironment",
    "load_config",
    "ConfigError",
  }
  assert expected <= set(pc.__all__)
  shared = {
    "Task",
    "LocalBackend",
    "OpenAIBackend",
    "CachedBackend",
    "make_tasks",
    "load_jsonl",
    "check",
    "generate_rows",
    "sample_candidates",
    "Sampling",
    "state_temperatures",
    "token_cost_payoffs",
  }
  assert shared <= set(ro.__all__)
  assert {"DiceFT", "FTAgent", "mirror_target", "joint_advantages"} <= set(ft.__all__)
  assert pc.metrics.equilibrium_regret is not None and pc.run is pc.harness.run


@pytest.mark.slow
@pytest.mark.server
def test_llamacpp_example_end_to_end(tmp_path, llama_server):
  """``examples/pc/openai_llamacpp.yaml`` run by ``dice-jax pc run`` against llama.cpp's real
  server on the bundled SmolLM2 GGUF: the shipped file with only the server's port, the budget
  (2 rounds of 3 tasks, one seed) and the task counts made small. Every request must succeed,
  every method must write its records, and DICE-PC's rounds must be certified."""
  cfg = yaml.safe_load((EXAMPLES / "openai_llamacpp.yaml").read_text())
  cfg["backend"]["base_url"] = llama_server
  cfg["budget"] = {"rounds": 2, "batch_size": 3}
  cfg["seeds"] = [0]
  for tasks in cfg["tasks"]:
    tasks["count"] = 3
  path = tmp_path / "llamacpp.yaml"
  path.write_text(yaml.safe_dump(cfg, sort_keys=False))
  out = tmp_path / "out"
  assert main(["pc", "run", str(path), "--out", str(out), "--quiet"]) == 0
  top = json.loads((out / "summary.json").read_text())
  assert top["environment"] == "llm" and set(top["methods"]) == set(cfg["methods"])
  roles = top["spec"]["roles"]
  for label in cfg["methods"]:
    records = [
      json.loads(x) for x in (out / label / "seed0" / "records.jsonl").read_text().splitlines()
    ]
    assert [r["round"] for r in records] == [0, 1]
    for r in records:
      assert r["num_failed"] == 0 and r["num_scored"] == 3, (label, r)
      assert len(r["tokens_per_role"]) == len(roles) and r["tokens_per_task"] > 0
      assert 0.0 <= r["accuracy"] <= 1.0
  dice = [
    json.loads(x) for x in (out / "dice-pc" / "seed0" / "records.jsonl").read_text().splitlines()
  ]
  assert all(all(r["certificate"]["certified"]) for r in dice)
  for name in PLOTS:
    assert (out / name).stat().st_size > 10_000
