"""dice_jax.pc.settings and the shared settings types it builds on: each type checks its own
fields when built in Python (a ValueError naming the field), the checks the constructors already
make are the ones that fire, and a new policy option reaches the policy without a reader change."""

import json

import numpy as np
import pytest

from dice_jax.pc.environments.llm import Control, LLMEnvironment
from dice_jax.pc.environments.spec import CoordinationSpec, Role, control_names
from dice_jax.pc.environments.synthetic import oscillation_suite
from dice_jax.pc.settings import (
  Budget,
  Evaluation,
  GameSettings,
  LLMSettings,
  MethodConfig,
  RunConfig,
  SyntheticSettings,
  method_options,
)
from dice_jax.rollouts.backends import OpenAIBackend
from dice_jax.rollouts.backends.settings import LazyBackend, LocalSettings, OpenAISettings
from dice_jax.rollouts.config_files import ConfigError, build, existing_path, field_error
from dice_jax.rollouts.task_source import TaskSource
from dice_jax.rollouts.tasks import Task

ROLES = {"planner": Role(["c0", "c1", "c2"]), "solver": Role(["c0", "c1", "c2"], 2e-4)}


@pytest.mark.parametrize(
  "make,match",
  [
    (lambda: Budget(0, 4), "rounds must be an integer >= 1"),
    (lambda: Budget(2, 2.0), "batch_size must be an integer"),
    (lambda: CoordinationSpec(roles=(), controls=()), "^roles must name at least one"),
    (lambda: CoordinationSpec(roles=("a", "a"), controls=(("x",),) * 2), "^roles must be distinct"),
    (lambda: CoordinationSpec(roles=("a",), controls=()), "^controls must give one action list"),
    (lambda: CoordinationSpec(roles=("a",), controls=("xy",)), r"^controls\['a'\] must be a list"),
    (lambda: CoordinationSpec(roles=("a",), controls=((),)), r"^controls\['a'\]: empty action"),
    (lambda: CoordinationSpec(("a",), (("x",),), states=("s", "s")), "^states must be distinct"),
    (
      lambda: CoordinationSpec(("a",), (("x",),), token_cost=-1.0),
      r"^token_cost\[0\] must be >= 0",
    ),
    (
      lambda: CoordinationSpec(("a",), (("x",),), cost_sharing="all"),
      "^cost_sharing: unknown value",
    ),
    (lambda: Role([]), "controls: empty action set"),
    (lambda: Role(["a", "a"]), "controls: duplicate controls"),
    (lambda: Role("abc"), "controls must be a list"),
    (lambda: Role(["a", 3]), r"controls\[1\] must be a non-empty control name"),
    (lambda: Role(["a"], -1.0), "token_cost must be >= 0"),
    (lambda: GameSettings(roles={}), "roles must name at least one role"),
    (lambda: GameSettings(token_cost=float("inf")), "token_cost must be finite"),
    (lambda: GameSettings(cost_sharing="split"), "cost_sharing: unknown value 'split'"),
    (lambda: GameSettings(states=["a", "a"]), "states must be distinct"),
    (lambda: SyntheticSettings("chaos"), "suite: unknown value"),
    (lambda: SyntheticSettings("oscillation", {"flavour": 1}), "flavour: unknown key"),
    (lambda: SyntheticSettings("oscillation", {"off": 0.3}), "off must be a list"),
    (lambda: SyntheticSettings("drift", {"period": 0.0}), "period must be > 0"),  # the suite's
    (lambda: Evaluation(temperature=np.zeros((2, 2))), "temperature must be > 0"),
    (lambda: Evaluation(reference=[np.array([0.5, 0.6])]), r"reference\[0\]"),
    (lambda: Evaluation(num_bootstrap=0), "num_bootstrap must be an integer >= 1"),
    (lambda: Evaluation(monotonicity=1), "monotonicity must be true or false"),
    (lambda: LocalSettings(max_batch=0), "max_batch must be an integer >= 1"),
    (lambda: LocalSettings(max_batch=None, fixed_batch=True), "fixed_batch needs max_batch"),
    (lambda: LocalSettings(top_p=1.5), "top_p must be <= 1"),
    (lambda: OpenAISettings("localhost:8080", "m"), "base_url must be an http"),
    (lambda: OpenAISettings("http://x/v1", ""), "model must be a non-empty name"),
    (lambda: OpenAISettings("http://x/v1", "m", max_backoff=-1), "max_backoff must be >= 0"),
    (lambda: TaskSource("trivia"), "kind: unknown value"),
    (lambda: TaskSource("jsonl"), "path: missing"),
    (lambda: TaskSource("jsonl", path=" "), "path must be a file name"),
    (lambda: GameSettings(roles={"solver": ["direct"]}), "roles.solver must be a Role; got list"),
    (lambda: TaskSource("arithmetic", path="x.jsonl"), "path: only a jsonl source"),
    (lambda: TaskSource("arithmetic", count=10_001), "count must be an integer <= 10,000"),
    (lambda: TaskSource("arithmetic", split="all"), "split: unknown value 'all'"),
    (lambda: TaskSource("arithmetic", difficulties=[]), "at least one difficulty"),
    (lambda: TaskSource("arithmetic", test_fraction=1.0), "test_fraction must be < 1"),
    (
      lambda: TaskSource("arithmetic", difficulties=[1, 0]),
      r"difficulties\[1\] must be an integer >= 1",
    ),
    (lambda: TaskSource("planning", seed=-1), "seed must be an integer >= 0"),
    (lambda: TaskSource("jsonl", path="x.jsonl", split="dev"), "split: unknown value 'dev'"),
    (lambda: TaskSource("jsonl", path="x.jsonl", difficulties="2"), "difficulties must be a list"),
    (lambda: TaskSource("jsonl", path="x.jsonl", test_fraction=0), "test_fraction must be > 0"),
    (lambda: TaskSource("jsonl", path="x.jsonl", count=0), "count must be an integer >= 1"),
    (lambda: Control("direct", n=1.5), "n must be an integer"),
    (lambda: Control("direct", stop="x"), "stop must be a list"),
    (lambda: Control("direct", stop=["\n", ""]), "stop must be a list of non-empty strings"),
    (lambda: Control("direct", model=""), "model must be a backend name"),
    (lambda: MethodConfig("my run", "uniform"), "label: a method label"),
    (lambda: MethodConfig("sgd", "sgd"), "method: unknown method 'sgd'"),
    (lambda: MethodConfig("u", "uniform", {"gamma": 0.1}), "gamma: unknown key"),
    (lambda: MethodConfig("b", "best-response", {"prior": {"gamma": 1}}), "prior.gamma"),
    (lambda: MethodConfig("d", "dice-pc", match="x"), "match: unknown key"),
    (lambda: MethodConfig("b", "best-of-n", {"n": 2}, match="d"), "exactly one of n"),
  ],
)
def test_settings_check_their_own_fields(make, match):
  with pytest.raises(ValueError, match=match):
    make()


def test_policy_errors_come_back_at_the_option_the_config_names():
  """The policy (and its posterior) check the values; the settings only rename the field."""
  cases = [
    ({"margin": 0.0}, "margin", "> 0"),
    ({"solver": "newton"}, "solver", "unknown value 'newton'"),
    ({"magnet_window": 0}, "magnet_window", ">= 1"),
  ]
  for options, field, phrase in cases:
    with pytest.raises(ConfigError) as e:
      MethodConfig("dice", "dice-pc", options)
    assert e.value.field == field and phrase in e.value.message, str(e.value)
  spec = CoordinationSpec(roles=("a", "b"), controls=(("x", "y"), ("x", "y")))
  for options, field in (
    ({"prior": {"alpha0": 0.0}}, "prior.alpha0"),  # the posterior exists only on a game
    ({"forgetting": 1.5}, "forgetting"),
    ({"prior": {"token_prior": [1.0, 2.0, 3.0]}}, "prior.token_prior"),
    ({"temperature": np.ones((3, 2))}, "temperature"),  # a shape only the game can check
  ):
    m = MethodConfig("dice", "dice-pc", options)
    with pytest.raises(ConfigError) as e:
      m.check(spec)
    assert e.value.field == field, str(e.value)


def test_method_options_follow_the_policy_signature():
  """Every keyword of the DICE-PC constructor is an option (so new ones need no reader change),
  with the config's names for the solver and the posterior."""
  import inspect

  from dice_jax.pc.policies.policies import DICEPC

  params = set(inspect.signature(DICEPC).parameters) - {"method", "posterior"}
  opts = set(method_options("dice-pc"))
  assert params <= opts and {"solver", "prior", "forgetting"} <= opts
  assert "method" not in opts and "posterior" not in opts
  assert method_options("uniform") == () and method_options("best-of-n") == (
    "n",
    "token_budget",
    "match",
  )
  m = MethodConfig("d", "dice-pc", {"magnet": 0.5, "magnet_window": 3, "forgetting": 0.9})
  policy = m.build()
  assert policy.magnet == 0.5 and policy.magnet_window == 3
  assert m.kwargs["posterior"] == {"discount": 0.9}


def test_synthetic_settings_play_the_configured_game():
  game = GameSettings(roles=ROLES, token_cost=1e-4, states=["easy", "hard"])
  s = SyntheticSettings("oscillation", {"off": [0.3, 0.2], "on": 0.9}, game)
  assert s.spec.roles == ("planner", "solver") and s.spec.states == ("easy", "hard")
  assert s.spec.token_cost == (1e-4, 2e-4)
  env = s.build(seed=4)
  ref = oscillation_suite(off=[0.3, 0.2], on=0.9, num_roles=2, num_actions=3, seed=4)
  np.testing.assert_array_equal(env.true_payoffs(0)[0], ref.true_payoffs(0)[0])
  assert env.spec is s.spec and env.seed == 4
  with pytest.raises(ConfigError) as e:
    SyntheticSettings("oscillation", {}, GameSettings(roles={"a": Role(["x", "y"])}))
  assert e.value.field == "roles" and "at least 2 roles" in str(e.value)
  with pytest.raises(ConfigError) as e:
    SyntheticSettings("oscillation", {}, GameSettings(states=["a", "b", "c"]))
  assert e.value.field == "states"
  SyntheticSettings("drift", {}).check_rounds(2000)  # the default suite stays in [0, 1]
  bad = SyntheticSettings("drift", {"base": 0.9, "amplitude": 0.3})
  with pytest.raises(ValueError, match="round 0 has success in"):
    bad.check_rounds(10)


class _NoCalls:
  def complete(self, *a, **k):  # pragma: no cover - validation must not generate
    raise AssertionError("validation must not call a backend")


def test_llm_settings_are_checked_by_the_environment_and_load_nothing():
  pool = (Task("1+1", 2, kind="arithmetic", meta={"domain": "math", "difficulty": 1}),)
  backends = {"default": OpenAISettings("http://127.0.0.1:9/v1", "m")}
  game = GameSettings(roles={"solver": Role(["direct", "terse"])})
  s = LLMSettings(backends, pool, game, {"solver": {"terse": Control("direct", max_tokens=3)}})
  assert s.spec.controls == (("direct", "terse"),)
  assert all(b._backend is None for b in s.lazy.values())  # no client created
  env = s.build(seed=2)
  assert isinstance(env, LLMEnvironment) and env.seed == 2 and env.spec == s.spec
  assert env.controls["solver"]["terse"].max_tokens == 3
  for kwargs, match in (
    ({"game": GameSettings(roles={"solver": Role(["shout"])})}, r"roles.solver\[0\]: unknown"),
    ({"game": GameSettings(roles={"judge": Role(["x"])})}, "roles.judge: unknown role"),
    ({"best_of_n_control": "loud"}, "best_of_n_control: unknown value"),
    ({"max_tokens_cap": 0}, "max_tokens_cap must be an integer >= 1"),
    ({"sample_draws": 1.5}, "sample_draws must be an integer; got 1.5"),
    ({"game": GameSettings(states=["x"])}, "states must equal the tasks' states"),
    ({"extra_controls": {"solver": {"direct": Control("direct")}}}, "already exists"),
  ):
    args = {"backends": backends, "tasks": pool, **kwargs}
    with pytest.raises(ValueError, match=match):
      LLMSettings(**args)


def test_backends_check_their_arguments_through_the_settings():
  with pytest.raises(ValueError, match="retries must be an integer >= 0"):
    OpenAIBackend("http://127.0.0.1:9/v1", "m", retries=-1)
  with pytest.raises(ValueError, match="top_p must be > 0"):
    OpenAIBackend("http://127.0.0.1:9/v1", "m", top_p=0.0)
  with OpenAIBackend("http://127.0.0.1:9/v1/", "m", timeout=3, retries=1) as b:
    assert (b.base_url, b.timeout, b.retries, b.max_concurrency) == (
      "http://127.0.0.1:9/v1",
      3.0,
      1,
      4,
    )
  lazy = LazyBackend(OpenAISettings("http://127.0.0.1:9/v1", "m", timeout=2), "big")
  assert lazy._backend is None
  created = lazy.get()
  assert isinstance(created, OpenAIBackend) and created.timeout == 2.0 and lazy.name == "big"
  assert lazy.get() is created
  lazy.close()
  with pytest.raises(ValueError, match="LocalSettings or OpenAISettings"):
    LazyBackend({"kind": "local"}, "x")


def test_task_source_loads_and_filters(tmp_path):
  gen = TaskSource("arithmetic", count=3, difficulties=[1, 2], seed=5)
  assert gen.split == "train" and gen.count == 3
  tasks = gen.load()
  assert len(tasks) == 6 and {t.meta["difficulty"] for t in tasks} == {1, 2}
  rows = [{"question": f"q{i}", "answer": i, "difficulty": 1 + i % 3} for i in range(9)]
  path = tmp_path / "d.jsonl"
  path.write_text("".join(json.dumps(r) + "\n" for r in rows))
  src = TaskSource("jsonl", path=str(path), difficulties=[3], count=2)
  assert src.split == "all" and [t.answer for t in src.load()] == [2, 5]
  with pytest.raises(ValueError, match="no task of"):
    TaskSource("jsonl", path=str(path), difficulties=[7]).load()
  path.write_text('{"question": "q", "answer": 1}\n{"answer": 2}\n')
  with pytest.raises(ValueError, match=r"^path: .*d.jsonl:2"):
    TaskSource("jsonl", path=str(path)).load()


def test_run_config_checks_what_spans_components():
  env = SyntheticSettings("oscillation", {}, GameSettings(roles=ROLES))
  dice = MethodConfig("dice-pc", "dice-pc", {"temperature": 0.7})
  bon = MethodConfig("bon", "best-of-n", match="dice-pc")
  cfg = RunConfig("t", Budget(3, 4), env, (bon, dice), seeds=[2, 0])
  assert [m.label for m in cfg.methods] == ["dice-pc", "bon"]  # the matched method runs first
  assert cfg.seeds == (2, 0) and cfg.rounds == 3 and cfg.environment == "synthetic/oscillation"
  np.testing.assert_array_equal(cfg.temperature, np.full((2, 2), 0.7))
  json.dumps(cfg.to_dict())
  for kwargs, field in (
    ({"methods": (MethodConfig("bon", "best-of-n", match="nobody"),)}, "methods.bon.match"),
    (
      {"methods": (MethodConfig("d", "dice-pc", {"temperature": [1.0, 2.0, 3.0]}),)},
      "methods.d.temperature",
    ),
    ({"evaluation": Evaluation(temperature=np.ones(3))}, "evaluation.temperature"),
  ):
    args = {"name": "t", "budget": Budget(3, 4), "env": env, "methods": (dice,), **kwargs}
    with pytest.raises(ConfigError) as e:
      RunConfig(**args)
    assert e.value.field == field, str(e.value)
  for kwargs, match in (
    ({"seeds": []}, "seeds must name at least one"),
    ({"seeds": [1, 1]}, "seeds must be distinct"),
    ({"seeds": [-1]}, r"seeds\[0\] must be an integer >= 0"),
    ({"methods": ()}, "methods must name at least one"),
    ({"methods": (dice, dice)}, "labels must be distinct"),
    ({"name": ""}, "name must be non-empty"),
  ):
    args = {"name": "t", "budget": Budget(3, 4), "env": env, "methods": (dice,), **kwargs}
    with pytest.raises(ValueError, match=match):
      RunConfig(**args)


def test_field_error_and_build_name_the_path(tmp_path):
  err = field_error(ValueError("roles.solver[1]: unknown control"), "env", ("roles",))
  assert err.field == "env.roles.solver[1]" and err.message == "unknown control"
  err = field_error(ValueError("temperature['a/d1'] must be > 0"), "loop", ("temperature",))
  assert err.field == "loop.temperature['a/d1']" and err.message == "must be > 0"
  assert field_error(ValueError("other trouble"), "env", ("roles",)).field == "env"
  assert field_error(ConfigError("x.y", "bad"), "top", ()).field == "top.x.y"
  with pytest.raises(ConfigError) as e:
    build(OpenAISettings, {"base_url": "http://x/v1"}, "backends.big")
  assert e.value.field == "backends.big.model" and e.value.message == "missing."
  (tmp_path / "here.txt").write_text("x")
  assert existing_path("here.txt", "p", str(tmp_path)) == str(tmp_path / "here.txt")
  with pytest.raises(ConfigError, match="^p: no such file or directory"):
    existing_path("gone.txt", "p", str(tmp_path))
  assert control_names(["a", "b"]) == ("a", "b")
