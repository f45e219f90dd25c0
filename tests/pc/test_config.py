"""dice_jax.pc.config: every bad field is refused before any work, with its path in the message;
good configs resolve to the game, policies and evaluation target they describe."""

import copy
import json
import pathlib

import numpy as np
import pytest

from dice_jax.pc import payoffs
from dice_jax.pc.config import ConfigError, load_config, parse_config

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "pc"

SYNTHETIC = {
  "name": "t",
  "seeds": [0, 1],
  "budget": {"rounds": 5, "batch_size": 8},
  "environment": {"kind": "synthetic", "suite": "oscillation", "off": [0.3, 0.2]},
  "roles": {
    "planner": ["c0", "c1", "c2"],
    "solver": {"controls": ["c0", "c1", "c2"], "token_cost": 2e-4},
  },
  "token_cost": 1e-4,
  "states": ["easy", "hard"],
  "methods": {
    "dice-pc": {"temperature": 0.7, "reference": {"planner": {"c0": 0.6, "c1": 0.2, "c2": 0.2}}},
    "best-response": {},
    "best-of-n": {"match": "dice-pc"},
  },
}


def _jsonl(tmp_path, rows=None):
  rows = rows or [
    {"question": f"q{i}", "answer": i, "domain": "math", "difficulty": 1 + i % 2} for i in range(6)
  ]
  path = tmp_path / "data.jsonl"
  path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
  return path


def _llm(tmp_path):
  _jsonl(tmp_path)
  return {
    "budget": {"rounds": 2, "batch_size": 4},
    "environment": {"kind": "llm", "max_tokens_cap": 16},
    "roles": {"solver": ["direct", "step_by_step"], "verifier": ["none", "judge"]},
    "tasks": {"kind": "jsonl", "path": "data.jsonl"},
    "backend": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"},
    "methods": {"dice-pc": {"temperature": 1.0}, "uniform": {}},
  }


def _with(base, path, value):
  """A deep copy of ``base`` with the dotted ``path`` set to ``value`` (``...`` deletes it)."""
  cfg = copy.deepcopy(base)
  *parents, last = path.split(".")
  node = cfg
  for p in parents:
    node = node[p]
  if value is ...:
    del node[last]
  else:
    node[last] = value
  return cfg


BAD_SYNTHETIC = [
  # (dotted path to change, new value, field the error must name, phrase it must contain)
  ("colour", "red", "colour", "unknown key"),
  ("budget.rounds", 0, "budget.rounds", ">= 1"),
  ("budget.rounds", 2.5, "budget.rounds", "integer"),
  ("budget.batch_size", True, "budget.batch_size", "integer"),
  ("budget.epochs", 3, "budget.epochs", "unknown key"),
  ("budget", ..., "budget", "missing"),
  ("seeds", [0, -1], "seeds[1]", ">= 0"),
  ("seeds", [], "seeds", "at least one"),
  ("seeds", "0, 1", "seeds", "must be a list of integers"),
  ("seeds", [3, 3], "seeds", "distinct"),
  ("name", " ", "name", "must be non-empty text"),
  ("description", 3, "description", "must be text; got 3"),
  ("output", "", "output", "must be a folder name"),
  ("environment.kind", "lab", "environment.kind", "unknown value"),
  ("environment.suite", "chaos", "environment.suite", "unknown value"),
  ("environment.flavour", 1, "environment.flavour", "unknown key"),
  ("environment.on", "high", "environment.on", "number"),
  ("environment.on", 1.5, "environment", "success"),  # the suite's own check
  ("roles.solver.controls", [], "roles.solver.controls", "empty action set"),
  ("roles.planner", [], "roles.planner", "empty action set"),
  ("roles.solver.controls", ["c0", "c1"], "roles.solver.controls", "same number"),
  ("roles.solver.controls", ["c0", "c0", "c1"], "roles.solver.controls", "duplicate"),
  ("roles.solver.token_cost", -1e-4, "roles.solver.token_cost", ">= 0"),
  ("roles.solver.colour", 1, "roles.solver.colour", "unknown key"),
  (
    "roles.planner",
    ["c0", {"c1": {"instruction": "direct"}}, "c2"],
    "roles.planner[1]",
    "a synthetic control is a name",
  ),
  ("token_cost", -0.1, "token_cost", ">= 0"),
  ("token_cost", float("nan"), "token_cost", "finite"),
  ("cost_sharing", "split", "cost_sharing", "unknown value"),
  ("states", ["a", "b", "c"], "states", "2 states"),
  ("tasks", {"kind": "arithmetic"}, "tasks", "only an llm environment"),
  ("methods", {}, "methods", "at least one"),
  ("methods", ..., "methods", "missing"),
  ("methods.sgd", {}, "methods.sgd", "unknown method"),
  ("methods.my run", {"method": "uniform"}, "methods.my run", "label"),
  ("methods.dice-2", {"method": "dice-pcx"}, "methods.dice-2.method", "unknown method"),
  ("methods.dice-2", {"method": ["dice-pc"]}, "methods.dice-2.method", "unknown method"),
  ("methods.dice-pc.temperature", -1, "methods.dice-pc.temperature", "> 0"),
  ("methods.dice-pc.temperature", 0, "methods.dice-pc.temperature", "> 0"),
  ("methods.dice-pc.temperature", [0.5], "methods.dice-pc.temperature", "one value per role"),
  ("methods.dice-pc.temperature", {"planner": 0.5}, "methods.dice-pc.temperature", "missing roles"),
  (
    "methods.dice-pc.temperature",
    {"critic": 0.5},
    "methods.dice-pc.temperature.critic",
    "unknown role or state",
  ),
  ("methods.dice-pc.temperature", {"easy": 0.5}, "methods.dice-pc.temperature", "missing states"),
  (
    "methods.dice-pc.temperature",
    {"easy": 0.5, "hard": {"planner": 1, "solver": "x"}},
    "methods.dice-pc.temperature.hard.solver",
    "number",
  ),
  ("methods.dice-pc.final_temperature", -0.1, "methods.dice-pc.final_temperature", "> 0"),
  ("methods.dice-pc.forgetting", 1.5, "methods.dice-pc.forgetting", "<= 1"),
  ("methods.dice-pc.forgetting", 0, "methods.dice-pc.forgetting", "> 0"),
  ("methods.dice-pc.margin", 0, "methods.dice-pc.margin", "> 0"),
  ("methods.dice-pc.sampling", "greedy", "methods.dice-pc.sampling", "unknown value"),
  ("methods.dice-pc.solver", "newton", "methods.dice-pc.solver", "unknown value"),
  ("methods.dice-pc.prior", {"alpha0": 0}, "methods.dice-pc.prior.alpha0", "> 0"),
  ("methods.dice-pc.prior", {"gamma": 1}, "methods.dice-pc.prior.gamma", "unknown key"),
  (
    "methods.dice-pc.prior",
    {"token_prior": [1, 2, 3]},
    "methods.dice-pc.prior.token_prior",
    "one value per role",
  ),
  ("methods.dice-pc.learning_rate", 0.1, "methods.dice-pc.learning_rate", "unknown key"),
  (
    "methods.dice-pc.reference",
    {"critic": [1, 1, 1]},
    "methods.dice-pc.reference.critic",
    "unknown role",
  ),
  (
    "methods.dice-pc.reference",
    {"planner": {"c0": 1, "c9": 1, "c2": 1}},
    "methods.dice-pc.reference.planner.c9",
    "unknown control",
  ),
  (
    "methods.dice-pc.reference",
    {"planner": {"c0": 1.0, "c1": 1.0}},
    "methods.dice-pc.reference.planner",
    "missing controls",
  ),
  (
    "methods.dice-pc.reference",
    {"planner": [0.5, 0.5, 0.0]},
    "methods.dice-pc.reference.planner[2]",
    "> 0",
  ),
  (
    "methods.dice-pc.reference",
    {"planner": [0.5, 0.5]},
    "methods.dice-pc.reference.planner",
    "one weight per control",
  ),
  (
    "methods.dice-pc.reference",
    {"planner": {"easy": [1, 1, 1]}},
    "methods.dice-pc.reference.planner",
    "missing states",
  ),
  ("methods.best-of-n", {"n": 0}, "methods.best-of-n.n", ">= 1"),
  ("methods.best-of-n", {"n": 2, "token_budget": 10}, "methods.best-of-n", "exactly one"),
  ("methods.best-of-n", {}, "methods.best-of-n", "exactly one"),
  ("methods.best-of-n", {"match": "nobody"}, "methods.best-of-n.match", "unknown method label"),
  ("methods.best-of-n", {"token_budget": -5}, "methods.best-of-n.token_budget", "> 0"),
  ("methods.exp3", {"gamma": 2}, "methods.exp3.gamma", "<= 1"),
  ("methods.uniform", {"temperature": 1}, "methods.uniform.temperature", "unknown key"),
  ("evaluation", {"temperature": 0}, "evaluation.temperature", "> 0"),
  ("evaluation", {"every": 2}, "evaluation.every", "unknown key"),
  ("evaluation", {"num_bootstrap": 0}, "evaluation.num_bootstrap", ">= 1"),
  # issue 12: resource limits and shapes checked before any work
  ("budget.rounds", 1e30, "budget.rounds", "integer"),
  ("budget.rounds", 10**30, "budget.rounds", "<= 10,000,000"),
  ("budget.batch_size", 10**9, "budget.batch_size", "<= 1,000,000"),
  ("seeds", [2**40], "seeds[0]", "<= 2,147,483,647"),
  ("environment.off", 0.3, "environment.off", "must be a list"),
  ("environment.off", [], "environment.off", "at least one number"),
  ("environment.single_success", 0.5, "environment.single_success", "must be a list"),
  ("environment.on", [0.8], "environment.on", "number"),
  ("methods.dice-pc.magnet", 1.0, "methods.dice-pc.magnet", "< 1"),
  ("methods.dice-pc.magnet_window", 0, "methods.dice-pc.magnet_window", ">= 1"),
]


@pytest.mark.parametrize(
  "path,value,field,phrase", BAD_SYNTHETIC, ids=[f"{c[0]}={c[1]!r}"[:60] for c in BAD_SYNTHETIC]
)
def test_bad_synthetic_config_names_the_field(path, value, field, phrase):
  with pytest.raises(ConfigError) as e:
    parse_config(_with(SYNTHETIC, path, value))
  assert e.value.field == field, str(e.value)
  assert str(e.value).startswith(f"{field}: ")
  assert phrase in str(e.value)


BAD_LLM = [
  ("roles.critic", ["direct"], "roles.critic", "unknown role"),
  ("roles.verifier", [], "roles.verifier", "empty action set"),
  ("roles.verifier", {"controls": []}, "roles.verifier.controls", "empty action set"),
  ("roles.solver", ["direct", "shout"], "roles.solver[1]", "unknown control"),
  ("roles.solver", ["direct", "direct@big"], "roles.solver[1]", "backend 'big'"),
  (
    "roles.solver",
    ["direct", {"terse": {"instruction": "poem"}}],
    "roles.solver[1].terse.instruction",
    "unknown instruction",
  ),
  (
    "roles.solver",
    ["direct", {"terse": {"instruction": "direct", "n": 0}}],
    "roles.solver[1].terse.n",
    ">= 1",
  ),
  (
    "roles.solver",
    ["direct", {"direct": {"instruction": "direct"}}],
    "roles.solver[1]",
    "already exists",
  ),
  ("roles.solver", {"controls": ["direct"], "token_cost": -1}, "roles.solver.token_cost", ">= 0"),
  ("roles", {"verifier": ["judge"]}, "roles", "'solver' role"),
  ("tasks.path", "missing.jsonl", "tasks.path", "no such dataset file"),
  ("tasks.kind", "trivia", "tasks.kind", "unknown value"),
  ("tasks.split", "dev", "tasks.split", "unknown value"),
  ("tasks.count", 0, "tasks.count", ">= 1"),
  ("tasks.difficulties", [7], "tasks", "no task"),
  ("tasks", ..., "tasks", "missing"),
  (
    "tasks",
    [{"kind": "arithmetic", "count": 2, "difficulties": [0]}],
    "tasks[0].difficulties[0]",
    ">= 1",
  ),
  ("tasks", [{"kind": "planning", "count": 2, "difficulties": [9]}], "tasks[0]", "difficulty"),
  ("tasks", [{"kind": "arithmetic", "path": "data.jsonl"}], "tasks[0].path", "only a jsonl source"),
  ("backend.kind", "grpc", "backend.kind", "unknown value"),
  ("backend.base_url", "localhost:8080", "backend.base_url", "http(s) URL"),
  ("backend.model", ..., "backend.model", "missing"),
  ("backend.timeout", 0, "backend.timeout", "> 0"),
  ("backend.retries", -1, "backend.retries", ">= 0"),
  ("backend.api_key_env", "DICE_JAX_TEST_NO_SUCH_VAR", "backend.api_key_env", "not set"),
  ("backend", {"kind": "local", "model_path": "nope.gguf"}, "backend.model_path", "no such file"),
  ("backend", {"kind": "local", "max_batch": 0}, "backend.max_batch", ">= 1"),
  ("backend", {"kind": "local", "base_url": "http://x"}, "backend.base_url", "unknown key"),
  ("backends", {"big": {"kind": "local"}}, "backends", "'default'"),
  ("environment.max_tokens_cap", 0, "environment.max_tokens_cap", ">= 1"),
  ("environment.sample_draws", 0, "environment.sample_draws", ">= 1"),
  ("environment.suite", "oscillation", "environment.suite", "unknown key"),
  ("environment.best_of_n_control", "loud", "environment.best_of_n_control", "unknown value"),
  ("states", ["math/d1"], "states", "must equal"),
  (
    "methods.dice-pc.temperature",
    {"math/d1": 1.0},
    "methods.dice-pc.temperature",
    "missing states",
  ),
]


@pytest.mark.parametrize(
  "path,value,field,phrase", BAD_LLM, ids=[f"{c[0]}={c[1]!r}"[:60] for c in BAD_LLM]
)
def test_bad_llm_config_names_the_field(tmp_path, path, value, field, phrase):
  cfg = _with(_llm(tmp_path), path, value)
  if path == "backends":
    del cfg["backend"]
  with pytest.raises(ConfigError) as e:
    parse_config(cfg, base_dir=str(tmp_path))
  assert e.value.field == field, str(e.value)
  assert phrase in str(e.value)


def test_bad_dataset_line_names_the_file_and_line(tmp_path):
  cfg = _llm(tmp_path)
  _jsonl(tmp_path, [{"question": "q", "answer": 1}, {"question": "", "answer": 2}])
  with pytest.raises(ConfigError) as e:
    parse_config(cfg, base_dir=str(tmp_path))
  assert e.value.field == "tasks.path" and "data.jsonl:2" in str(e.value)


def test_file_level_errors(tmp_path):
  with pytest.raises(ConfigError, match="no such config file"):
    load_config(tmp_path / "absent.yaml")
  (tmp_path / "bad.json").write_text('{"budget": ')
  with pytest.raises(ConfigError, match="invalid JSON"):
    load_config(tmp_path / "bad.json")
  (tmp_path / "bad.yaml").write_text("budget: [1,\n")
  with pytest.raises(ConfigError, match="invalid YAML"):
    load_config(tmp_path / "bad.yaml")
  (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
  with pytest.raises(ConfigError, match="must be a mapping"):
    load_config(tmp_path / "list.yaml")
  (tmp_path / "empty.yaml").write_text("")
  with pytest.raises(ConfigError, match="empty"):
    load_config(tmp_path / "empty.yaml")


def test_duplicate_keys_deep_nesting_and_bad_bytes_are_refused_naming_file_and_line(tmp_path):
  """Issue 12: YAML and JSON silently kept the last of duplicate keys; deep nesting escaped as a
  RecursionError; non-UTF-8 bytes as a bare UnicodeDecodeError."""
  good = (EXAMPLES / "oscillation.yaml").read_text()
  dup = tmp_path / "dup.yaml"
  dup.write_text(good + "\nseeds: [5]\n")
  line = len(good.splitlines()) + 2
  with pytest.raises(ConfigError, match=rf"duplicate key 'seeds'.*line {line}") as e:
    load_config(dup)
  assert str(dup) in str(e.value)
  (tmp_path / "dup_inner.yaml").write_text("budget: {rounds: 2, rounds: 3, batch_size: 4}\n")
  with pytest.raises(ConfigError, match="duplicate key 'rounds'"):
    load_config(tmp_path / "dup_inner.yaml")
  (tmp_path / "dup.json").write_text('{"budget": {"rounds": 2, "batch_size": 4, "rounds": 9}}')
  with pytest.raises(ConfigError, match="duplicate key 'rounds'"):
    load_config(tmp_path / "dup.json")
  for name, text in [
    ("deep.json", '{"methods": ' + "[" * 5000 + "]" * 5000 + "}"),
    ("deep.yaml", "methods: " + "[" * 5000 + "]" * 5000 + "\n"),
    ("deep_block.yaml", "".join("  " * i + f"k{i}:\n" for i in range(60)) + "  " * 60 + "1\n"),
  ]:
    (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError, match="nested deeper than 32 levels"):
      load_config(tmp_path / name)
  (tmp_path / "latin1.yaml").write_bytes(b"name: t\ndescription: caf\xe9\n")
  with pytest.raises(ConfigError, match=r"latin1.yaml: line 2: not UTF-8"):
    load_config(tmp_path / "latin1.yaml")


def test_yaml_reads_on_off_as_keys_and_1e_minus_4_as_a_number(tmp_path):
  # YAML 1.1 would read the suite parameters `on`/`off` as booleans and 1e-4 as text
  (tmp_path / "c.yaml").write_text(
    "budget: {rounds: 2, batch_size: 4}\n"
    "environment: {kind: synthetic, suite: oscillation, on: 0.9, off: [0.1, 0.2, 0.3],\n"
    "              single_success: [0.5, 0.4, 0.3]}\n"
    "token_cost: 1e-4\nmethods: {uniform: {}}\n"
  )
  cfg = load_config(tmp_path / "c.yaml")
  assert cfg.spec.num_states == 3 and cfg.spec.token_cost == (1e-4, 1e-4)
  success, _ = cfg.build_environment(0).true_payoffs(0)
  assert success[0, 1, 1] == 0.9 and success[2, 0, 1] == 0.3


@pytest.mark.parametrize(
  "name", ["oscillation.yaml", "drift.yaml", "smollm2.yaml", "openai_llamacpp.yaml"]
)
def test_example_configs_validate(name):
  cfg = load_config(EXAMPLES / name)  # no model is loaded, no server is contacted
  assert cfg.rounds >= 1 and cfg.methods and cfg.output
  assert cfg.temperature.shape == (cfg.spec.num_states, cfg.spec.num_roles)
  if cfg.environment == "llm":
    assert cfg.spec.roles[0] == "solver"
    assert all(s.count("/d") == 1 for s in cfg.spec.states)


def test_synthetic_config_resolves_names_costs_levers_and_order():
  cfg = parse_config(SYNTHETIC)
  spec = cfg.spec
  assert spec.roles == ("planner", "solver") and spec.controls == (("c0", "c1", "c2"),) * 2
  assert spec.states == ("easy", "hard") and spec.token_cost == (1e-4, 2e-4)
  # best-of-n that matches DICE-PC's tokens runs after it, whatever the file's order
  assert [m.label for m in cfg.methods] == ["dice-pc", "best-response", "best-of-n"]
  dice = cfg.method("dice-pc")
  np.testing.assert_array_equal(dice.kwargs["temperature"], np.full((2, 2), 0.7))
  np.testing.assert_allclose(dice.kwargs["reference"][0], [[0.6, 0.2, 0.2]] * 2)
  np.testing.assert_allclose(dice.kwargs["reference"][1], np.full((2, 3), 1 / 3))
  # the evaluation target defaults to DICE-PC's
  np.testing.assert_array_equal(cfg.temperature, dice.kwargs["temperature"])
  np.testing.assert_allclose(cfg.reference[0], dice.kwargs["reference"][0])
  # the environment plays the configured game: per-role costs enter the true payoffs
  env = cfg.build_environment(3)
  assert env.spec == spec and env.seed == 3
  success, tokens = env.true_payoffs(0)
  u = payoffs(spec, success, tokens)
  np.testing.assert_allclose(u[0, 0, 0, 0], 0.8 - (1e-4 + 2e-4) * 100)  # team cost sharing
  policy = cfg.method("best-of-n").build(token_budget=250.0)
  assert policy.token_budget == 250.0
  with pytest.raises(ValueError, match="methods.best-of-n.match"):
    cfg.method("best-of-n").build(token_budget=None)


def test_temperature_and_reference_forms():
  cfg = parse_config(
    _with(
      SYNTHETIC,
      "methods.dice-pc",
      {
        "temperature": {"easy": 0.5, "hard": {"planner": 0.8, "solver": 0.9}},
        "final_temperature": [0.1, 0.2],
        "reference": {"solver": {"easy": [2, 1, 1], "hard": {"c0": 1, "c1": 1, "c2": 2}}},
        "forgetting": 0.9,
        "prior": {"alpha0": 2, "beta0": 3},
      },
    )
  )
  kw = cfg.method("dice-pc").kwargs
  np.testing.assert_array_equal(kw["temperature"], [[0.5, 0.5], [0.8, 0.9]])
  np.testing.assert_array_equal(kw["final_temperature"], [[0.1, 0.2], [0.1, 0.2]])
  np.testing.assert_allclose(kw["reference"][1], [[0.5, 0.25, 0.25], [0.25, 0.25, 0.5]])
  assert kw["posterior"] == {"alpha0": 2.0, "beta0": 3.0, "discount": 0.9}
  np.testing.assert_array_equal(cfg.temperature, kw["final_temperature"])  # annealing target
  policy = cfg.method("dice-pc").build()
  policy.reset(cfg.spec, np.random.default_rng(0))
  assert policy.posterior.discount == 0.9 and policy.posterior.alpha0 == 2.0


def test_jsonl_dataset_config(tmp_path):
  cfg = parse_config(_llm(tmp_path), base_dir=str(tmp_path))
  assert cfg.spec.roles == ("solver", "verifier")
  assert cfg.spec.states == ("math/d1", "math/d2")
  assert cfg.spec.controls == (("direct", "step_by_step"), ("none", "judge"))
  tasks = cfg.env.tasks
  assert len(tasks) == 6 and {t.answer for t in tasks} == set(range(6))
  one = parse_config(
    _with(
      _llm(tmp_path),
      "tasks",
      {"kind": "jsonl", "path": "data.jsonl", "difficulties": [2], "count": 2},
    ),
    base_dir=str(tmp_path),
  )
  assert one.spec.states == ("math/d2",) and [t.answer for t in one.env.tasks] == [1, 3]
  split = parse_config(
    _with(
      _llm(tmp_path),
      "tasks",
      {"kind": "jsonl", "path": "data.jsonl", "split": "test", "test_fraction": 0.5},
    ),
    base_dir=str(tmp_path),
  )
  from dice_jax.rollouts.tasks import split_of

  assert all(split_of(t.question) == "test" for t in split.env.tasks)
