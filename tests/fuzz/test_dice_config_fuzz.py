"""Fuzz the DICE-PC and DICE-FT config readers (issue 12): whatever a user writes, the reader
returns settings or raises ConfigError naming a field path (or the file) -- never another
exception, never a hang. Mutations start from valid configs: a leaf replaced by a hostile value
(wrong types, huge or non-finite numbers, deep nesting, lists where scalars belong and back), a
key deleted or added; and raw YAML/JSON text with duplicate keys, deep nesting and bad bytes.

``HYPOTHESIS_PROFILE=thorough`` runs many more cases (tests/conftest.py)."""

import copy
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dice_jax.ft import config as ft_config
from dice_jax.pc import config as pc_config
from dice_jax.rollouts.config_files import ConfigError

PC = {
  "name": "fuzz",
  "seeds": [0, 1],
  "budget": {"rounds": 5, "batch_size": 8},
  "environment": {
    "kind": "synthetic",
    "suite": "oscillation",
    "off": [0.3, 0.2],
    "single_success": [0.6, 0.45],
  },
  "roles": {
    "planner": ["c0", "c1", "c2"],
    "solver": {"controls": ["c0", "c1", "c2"], "token_cost": 2e-4},
  },
  "token_cost": 1e-4,
  "states": ["easy", "hard"],
  "methods": {
    "dice-pc": {
      "temperature": 0.7,
      "final_temperature": 0.7,
      "magnet": 0.5,
      "reference": {"planner": {"c0": 0.6, "c1": 0.2, "c2": 0.2}},
      "prior": {"alpha0": 1, "beta0": 1},
    },
    "best-response": {"forgetting": 0.9},
    "exp3": {"gamma": 0.1},
    "best-of-n": {"match": "dice-pc"},
  },
  "evaluation": {"temperature": {"easy": 0.7, "hard": [0.7, 0.8]}, "num_bootstrap": 10},
}
PC_LLM = {  # every llm-side component: roles with a new control, two backends, two task sources
  "budget": {"rounds": 2, "batch_size": 4},
  "environment": {"kind": "llm", "max_tokens_cap": 16, "best_of_n_control": "direct"},
  "roles": {
    "solver": ["direct", "step_by_step", {"terse": {"instruction": "direct", "n": 2}}],
    "verifier": {"controls": ["none", "judge"], "token_cost": 1e-3},
  },
  "tasks": [
    {"kind": "jsonl", "path": "data.jsonl", "split": "all"},
    {"kind": "arithmetic", "count": 2, "difficulties": [1]},
  ],
  "backends": {
    "default": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"},
    "big": {"kind": "local", "max_batch": 2},
  },
  "methods": {
    "dice-pc": {"temperature": 1.0, "reference": {"solver": [1, 1, 1]}},
    "bon": {"method": "best-of-n", "n": 2},
  },
  "evaluation": {"num_bootstrap": 5},
}
FT = {
  "name": "fuzz",
  "seed": 0,
  "model": {"lora_rank": 2, "lora_alpha": 4, "lora_targets": ["q_proj"], "learning_rate": 0.01},
  "tasks": {"kind": "arithmetic", "train": 2, "test": 1, "difficulties": [1, 2]},
  "sampling": {"num_candidates": 2, "max_new_tokens": 4, "temperature": 0.7, "top_p": 0.9},
  "loop": {
    "iterations": 2,
    "prompts_per_iteration": 2,
    "step_size": 1.0,
    "temperature": {"arithmetic/d1": 0.1, "arithmetic/d2": 0.2},
    "agents": ["solver"],
  },
  "evaluation": {"max_new_tokens": 4, "batch": 2, "every": 0},
}

HOSTILE = st.one_of(
  st.none(),
  st.booleans(),
  st.integers(-(2**70), 2**70),
  st.floats(allow_nan=True, allow_infinity=True),
  st.sampled_from([1e30, -0.0, 1e-320, 2**31]),
  st.text(max_size=8),
  st.sampled_from(["0.7", "nan", "team", "c0", "easy", "dice-pc"]),
  st.lists(st.floats(-2, 2, allow_nan=False), max_size=4),
  st.dictionaries(
    st.sampled_from(["c0", "easy", "planner", "x", "kind"]),
    st.floats(-1, 2, allow_nan=False),
    max_size=3,
  ),
  st.integers(1, 200).map(lambda d: [[0.5]] if d < 3 else eval("[" * d + "1" + "]" * d)),
)


def _paths(node, prefix=()):
  if isinstance(node, dict):
    for k, v in node.items():
      yield prefix + (k,)
      yield from _paths(v, prefix + (k,))
  elif isinstance(node, list):
    for i, v in enumerate(node):
      yield prefix + (i,)
      yield from _paths(v, prefix + (i,))


@st.composite
def mutated(draw, base):
  cfg = copy.deepcopy(base)
  for _ in range(draw(st.integers(1, 3))):
    paths = list(_paths(cfg))
    if not paths:
      break
    path = draw(st.sampled_from(paths))
    parent = cfg
    for k in path[:-1]:
      parent = parent[k]
    action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
    if action == "replace":
      parent[path[-1]] = draw(HOSTILE)
    elif action == "delete":
      del parent[path[-1]]
    elif isinstance(parent, dict):
      parent[draw(st.sampled_from(["colour", "rounds", "temperature", "1"]))] = draw(HOSTILE)
  return cfg


def _check(parse, cfg):
  t = time.perf_counter()
  try:
    parse(cfg)
  except ConfigError as e:
    assert e.field == "" or str(e).startswith(f"{e.field}: "), str(e)
    assert "Traceback" not in str(e)
  assert time.perf_counter() - t < 5.0  # no hang (generous: a loaded 2-core machine)


FUZZ = settings(
  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None
)


@FUZZ
@given(mutated(PC))
def test_pc_config_mutations_give_settings_or_a_config_error(cfg):
  _check(pc_config.parse_config, cfg)


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
  d = tmp_path_factory.mktemp("pc_llm")
  rows = [
    {"question": f"q{i}", "answer": i, "domain": "math", "difficulty": 1 + i % 2} for i in range(6)
  ]
  (d / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
  return str(d)


def test_pc_llm_config_is_valid(dataset_dir):
  cfg = pc_config.parse_config(PC_LLM, base_dir=dataset_dir)  # the base the mutations start from
  assert cfg.spec.controls[0] == ("direct", "step_by_step", "terse")


@FUZZ
@given(cfg=mutated(PC_LLM))
def test_pc_llm_config_mutations_give_settings_or_a_config_error(dataset_dir, cfg):
  _check(lambda c: pc_config.parse_config(c, base_dir=dataset_dir), cfg)


@FUZZ
@given(mutated(FT))
def test_ft_config_mutations_give_settings_or_a_config_error(cfg):
  _check(ft_config.parse_config, cfg)


@pytest.mark.parametrize("reader", [pc_config.load_config, ft_config.load_config], ids=["pc", "ft"])
@FUZZ
@given(
  text=st.one_of(
    st.text(max_size=200),
    st.lists(
      st.sampled_from(
        [
          "name: a\n",
          "name: b\n",
          "seed: 1\n",
          "budget: {rounds: 1}\n",
          "loop:\n  iterations: 1\n  iterations: 2\n",
          "[[[[",
          "{a: [",
          "- 1\n",
          "\t",
          "\x00",
          'key: "\\x"\n',
          "seeds: &a [1]\nruns: *a\n",
        ]
      ),
      max_size=8,
    ).map("".join),
  ),
  suffix=st.sampled_from([".yaml", ".json"]),
)
def test_config_files_give_settings_or_a_config_error(tmp_path_factory, reader, text, suffix):
  path = tmp_path_factory.mktemp("cfg") / f"c{suffix}"
  path.write_text(
    text, encoding="utf-8", errors="surrogatepass"
  ) if "\ud800" not in text else path.write_bytes(text.encode("utf-8", "replace"))
  _check(lambda _: reader(path), None)
