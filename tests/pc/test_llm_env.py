"""LLMEnvironment: the spec it builds, its protocol on a scripted loopback server, and a
real-model smoke test with SmolLM2-135M-Instruct through the local backend."""

from __future__ import annotations

import numpy as np
import pytest

from dice_jax.rollouts.checkers import check
from dice_jax.pc.environments.spec import Environment, Outcome
from dice_jax.pc.environments.llm import DEFAULT_ROLES, Control, LLMEnvironment
from dice_jax.rollouts.tasks import make_tasks, state_name

httpx = pytest.importorskip("httpx")
from dice_jax.rollouts.backends import OpenAIBackend  # noqa: E402

POOL = make_tasks("arithmetic", 2, difficulties=[1, 3], split="train", seed=2) + make_tasks(
  "planning", 2, difficulties=[3], split="train", seed=2
)


class _Unused:
  """A backend that must not be called (spec-only tests)."""

  name = "unused"

  def complete(self, prompts, **kw):
    raise AssertionError("no generation expected")


def test_spec_from_roles_controls_states():
  env = LLMEnvironment(_Unused(), POOL, token_cost=(1e-3, 2e-3, 0.0), cost_sharing="own")
  assert isinstance(env, Environment)
  assert env.spec.roles == ("solver", "verifier", "aggregator")
  assert env.spec.controls == tuple(DEFAULT_ROLES[r] for r in env.spec.roles)
  assert env.spec.states == ("arithmetic/d1", "arithmetic/d3", "planning/d3")
  assert env.spec.token_cost == (1e-3, 2e-3, 0.0) and env.spec.cost_sharing == "own"
  assert env.true_payoffs(0) is None
  rng = np.random.default_rng(0)
  drawn = env.tasks(rng, 30, round=0)
  assert all(env.spec.states[t.state] == state_name(t) for t in drawn)
  assert {t.state for t in drawn} == {0, 1, 2}
  again = env.tasks(np.random.default_rng(0), 30, round=0)
  assert [t.question for t in drawn] == [t.question for t in again]


def test_with_pool_keeps_the_game():
  env = LLMEnvironment(_Unused(), POOL)
  held_out = make_tasks("arithmetic", 3, difficulties=[3], split="test", seed=2)
  test_env = env.with_pool(held_out)
  assert test_env.spec is env.spec and env.pool[0].question == POOL[0].question
  drawn = test_env.tasks(np.random.default_rng(1), 10, round=0)
  assert {t.question for t in drawn} <= {t.question for t in held_out}
  assert {env.spec.states[t.state] for t in drawn} == {"arithmetic/d3"}
  with pytest.raises(ValueError, match="arithmetic/d4"):
    env.with_pool(make_tasks("arithmetic", 1, difficulties=[4], split="test"))


def test_fewshot_examples_by_checker():
  from dice_jax.rollouts.tasks import Task
  from dice_jax.pc.environments.llm import render

  arith, plan = POOL[0], POOL[-1]
  a = render("fewshot", arith)
  assert a.endswith(
    f"Question: {arith.question}\nReply with only the final answer, as 'Answer: ...'."
  )
  assert "Answer: 8" in a and "Answer: 16" in a and "cook, nap" not in a
  assert "Answer: cook, nap" in render("fewshot", plan)
  assert render("fewshot", Task("Capital of France?", "Paris", kind="jsonl")).startswith(
    "Question: Capital"
  )
  assert "Question:" not in render("direct", arith)


def test_roles_order_and_subset():
  env = LLMEnvironment(
    _Unused(), POOL, roles={"aggregator": ("vote",), "solver": ("direct", "vote3")}
  )
  assert env.spec.roles == ("solver", "aggregator")  # protocol order, not dict order
  assert env.spec.num_actions == (2, 1)


@pytest.mark.parametrize(
  "kwargs,match",
  [
    ({"roles": {"solver": ("direct",), "critic": ("x",)}}, "unknown role 'critic'"),
    ({"roles": {"verifier": ("none",)}}, "'solver'"),
    (
      {"roles": {"solver": ("direct", "chain_of_thought")}},
      "unknown control 'chain_of_thought' for role 'solver'",
    ),
    (
      {"roles": {"solver": ("direct",), "verifier": ("vote",)}},
      "unknown control 'vote' for role 'verifier'",
    ),
    ({"roles": {"solver": ("direct@big",)}}, "model 'big'"),
    ({"roles": {"solver": ()}}, "^roles.solver: empty action set"),
    (
      {"roles": {"solver": ("direct", "direct")}},
      r"^roles.solver: duplicate controls \['direct'\]",
    ),
    ({"roles": {"solver": "direct"}}, "^roles.solver must be a list of control names"),
    ({"token_cost": -1e-3}, r"^token_cost\[0\] must be >= 0"),
    ({"token_cost": (1e-3, 2e-3)}, r"^token_cost must give one cost per agent \(3\)"),
    ({"extra_controls": {"critic": {}}}, "unknown role 'critic'"),
    ({"max_tokens_cap": 0}, "max_tokens_cap"),
  ],
)
def test_spec_errors_name_the_culprit(kwargs, match):
  with pytest.raises(ValueError, match=match):
    LLMEnvironment(_Unused(), POOL, **kwargs)


def test_backend_and_pool_errors():
  with pytest.raises(ValueError, match="'default'"):
    LLMEnvironment({"big": _Unused()}, POOL)
  with pytest.raises(ValueError, match="at least one task"):
    LLMEnvironment(_Unused(), [])
  with pytest.raises(ValueError, match="instruction"):
    Control("telepathy")


def test_actions_validated():
  env = LLMEnvironment(_Unused(), POOL)
  with pytest.raises(ValueError, match=r"shape \[2, 3\]"):
    env.play(POOL[:2], np.zeros((2, 2), int), round=0)
  with pytest.raises(ValueError, match="role 'verifier'"):
    env.play(POOL[:2], np.array([[0, 0, 0], [0, 5, 0]]), round=0)
  with pytest.raises(ValueError, match="integers"):
    env.play(POOL[:2], np.zeros((2, 3)), round=0)


# --- the protocol, on a scripted loopback server -----------------------------------------------


def _scripted(server, tasks, *, wrong_seed_offsets=(0,), judge_rejects_wrong=True):
  """Solver samples with ``seed - base in wrong_seed_offsets`` answer wrong (answer + 1), others
  right; the judge says "no" to wrong answers; rewrite and resolve answer right. Tokens: solver
  10, judge 1, resolve 20, rewrite 5. Backends talking to it use ``max_concurrency=1`` so the
  samples of a prompt arrive in seed order."""
  base = {}

  def task_of(text):
    return next(t for t in tasks if t.question in text)

  def respond(body):
    text = body["messages"][-1]["content"]
    t = task_of(text)
    right = t.answer
    wrong = (t.answer + 1) if t.kind == "arithmetic" else ", ".join(reversed(t.answer.split(", ")))
    if "Reply with only yes or no" in text:
      ok = check(t, text.split("Is the proposed final answer (")[1].split(")")[0]).correct
      return 200, server.ok("yes" if ok or not judge_rejects_wrong else "no", tokens=1)
    if "Other solvers proposed" in text:
      return 200, server.ok(f"Answer: {right}", tokens=5)
    if "independently" in text:
      return 200, server.ok(f"Answer: {right}", tokens=20)
    first = base.setdefault((t.question, body["temperature"]), body["seed"])
    off = body["seed"] - first
    return 200, server.ok(
      f"Steps...\nAnswer: {wrong if off in wrong_seed_offsets else right}", tokens=10
    )

  server.respond = respond


ROLES = {
  "solver": ("direct", "vote3"),
  "verifier": ("none", "judge", "resolve"),
  "aggregator": ("first", "vote", "rewrite"),
}


@pytest.mark.parametrize(
  "action,correct,tokens",
  [
    # solver vote3 samples: wrong, right, right
    ((1, 0, 0), 0.0, (30, 0, 0)),  # first candidate, unverified: wrong
    ((1, 0, 1), 1.0, (30, 0, 0)),  # majority vote: right (self-consistency)
    ((1, 1, 0), 1.0, (30, 3, 0)),  # judge rejects the wrong first candidate
    ((0, 0, 0), 0.0, (10, 0, 0)),  # direct: its single sample is wrong
    (
      (0, 2, 1),
      0.0,
      (10, 20, 0),
    ),  # resolve adds a right candidate; 1-1 tie goes to the earliest (wrong)
    ((0, 1, 1), 0.0, (10, 1, 0)),  # the only candidate rejected still wins the vote (weight 0.25)
    ((0, 0, 2), 1.0, (10, 0, 5)),  # rewrite: the aggregator model answers
  ],
)
def test_protocol_actions(chat_server, action, correct, tokens):
  tasks = POOL
  _scripted(chat_server, tasks)
  with OpenAIBackend(chat_server.base_url, "m", timeout=5, retries=0, max_concurrency=1) as b:
    env = LLMEnvironment(b, tasks, roles=ROLES)
    out = env.play(tasks, np.tile(np.array(action), (len(tasks), 1)), round=3)
  assert isinstance(out, Outcome) and not out.failed.any(), out.errors
  assert out.correct.tolist() == [correct] * len(tasks)
  assert out.tokens.tolist() == [list(map(float, tokens))] * len(tasks)
  for t, a, c in zip(tasks, out.answers, out.correct):
    assert check(t, f"Answer: {a}").correct == bool(c)


def test_rejected_candidates_weigh_less_in_the_vote(chat_server):
  # vote3 samples: wrong, wrong, right; the judge rejects both wrong ones: 0.25 + 0.25 < 1.
  _scripted(chat_server, POOL, wrong_seed_offsets=(0, 1))
  with OpenAIBackend(chat_server.base_url, "m", timeout=5, retries=0, max_concurrency=1) as b:
    env = LLMEnvironment(b, POOL, roles=ROLES)
    unverified = env.play(POOL, np.tile([1, 0, 1], (len(POOL), 1)), round=0)
    judged = env.play(POOL, np.tile([1, 1, 1], (len(POOL), 1)), round=0)
  assert unverified.correct.tolist() == [0.0] * len(POOL)
  assert judged.correct.tolist() == [1.0] * len(POOL)


def test_one_backend_call_per_role_control_group(chat_server):
  _scripted(chat_server, POOL)
  calls = []
  with OpenAIBackend(chat_server.base_url, "m", timeout=5, retries=0, max_concurrency=1) as b:
    inner = b.complete

    def counting(prompts, **kw):
      calls.append((len(prompts), kw["n"], kw["max_tokens"]))
      return inner(prompts, **kw)

    b.complete = counting
    env = LLMEnvironment(b, POOL, roles=ROLES)
    actions = np.array([[0, 1, 0], [1, 1, 1], [0, 0, 2], [1, 2, 2], [0, 1, 1], [1, 0, 0]])
    env.play(POOL, actions, round=0)
  # solver: direct (3 tasks), vote3 (3 tasks x 3 samples); judge: one call for 1 + 3 + 1 candidates;
  # resolve: 1 task; rewrite: 2 tasks.
  assert sorted(calls) == sorted([(3, 1, 24), (3, 3, 128), (5, 1, 4), (1, 1, 128), (2, 1, 32)])


def test_best_of_n_majority_vote(chat_server):
  _scripted(chat_server, POOL, wrong_seed_offsets=(0, 1))
  with OpenAIBackend(chat_server.base_url, "m", timeout=5, retries=0, max_concurrency=1) as b:
    env = LLMEnvironment(b, POOL)
    lose = env.best_of_n(POOL, 3, round=0)  # wrong, wrong, right -> wrong
    _scripted(chat_server, POOL, wrong_seed_offsets=(0,))
    win = env.best_of_n(POOL, 3, round=0)  # wrong, right, right -> right
  assert lose.correct.tolist() == [0.0] * len(POOL) and win.correct.tolist() == [1.0] * len(POOL)
  assert win.tokens[:, 0].tolist() == [30.0] * len(POOL) and not win.tokens[:, 1:].any()
  temps = {body["temperature"] for _, _, body in chat_server.requests}
  assert temps == {0.7}


def test_which_model_control(chat_server):
  _scripted(chat_server, POOL)
  with (
    OpenAIBackend(chat_server.base_url, "small", timeout=5, retries=0, max_concurrency=1) as small,
    OpenAIBackend(chat_server.base_url, "big", timeout=5, retries=0, max_concurrency=1) as big,
  ):
    env = LLMEnvironment(
      {"default": small, "big": big}, POOL, roles={"solver": ("direct", "direct@big")}
    )
    assert env.spec.controls == (("direct", "direct@big"),)
    env.play(POOL[:2], np.array([[0], [1]]), round=0)
  models = sorted(body["model"] for _, _, body in chat_server.requests)
  assert models == ["big", "small"]


def test_stop_strings_cut_the_text_not_the_cost(chat_server):
  t = POOL[0]
  chat_server.respond = lambda body: (
    200,
    chat_server.ok(f"Answer: {t.answer}\nQuestion: ?\nAnswer: {t.answer + 1}", tokens=9),
  )
  with OpenAIBackend(chat_server.base_url, "m", timeout=5, retries=0) as b:
    env = LLMEnvironment(b, POOL, roles={"solver": ("fewshot", "direct")})
    out = env.play([t, t], np.array([[0], [1]]), round=0)
  assert out.correct.tolist() == [1.0, 0.0]  # direct has no stop string: the last answer counts
  assert out.tokens[:, 0].tolist() == [9.0, 9.0]
  assert Control("direct", stop=("\n", "B")).cut("A B\nC") == "A "


def test_extra_controls_and_cap(chat_server):
  _scripted(chat_server, POOL)
  with OpenAIBackend(chat_server.base_url, "m", timeout=5, retries=0, max_concurrency=1) as b:
    env = LLMEnvironment(
      b,
      POOL,
      roles={"solver": ("terse",)},
      max_tokens_cap=8,
      extra_controls={"solver": {"terse": Control("direct", max_tokens=12, n=2, temperature=0.3)}},
    )
    out = env.play(POOL[:1], np.zeros((1, 1), int), round=0)
  assert out.tokens[0, 0] == 20.0
  assert {(body["max_tokens"], body["temperature"]) for _, _, body in chat_server.requests} == {
    (8, 0.3)
  }


# --- real model ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_smollm2_smoke(smollm2_backend):
  """A few rounds of play with SmolLM2-135M on arithmetic and planning tasks: well-formed outcomes,
  tokens > 0 where a role generates, verdicts equal to the checker's on the returned answers."""
  pool = make_tasks("arithmetic", 2, difficulties=[1, 2], split="test", seed=0) + make_tasks(
    "planning", 2, difficulties=[3], split="test", seed=0
  )
  env = LLMEnvironment(
    smollm2_backend,
    pool,
    max_tokens_cap=16,
    roles={
      "solver": ("direct", "step_by_step"),
      "verifier": ("none", "resolve"),
      "aggregator": ("first", "vote"),
    },
  )
  rng = np.random.default_rng(0)
  before = smollm2_backend.generated_tokens
  for rnd in range(2):
    tasks = env.tasks(rng, 4, round=rnd)
    actions = np.stack([rng.integers(k, size=4) for k in env.spec.num_actions], axis=1)
    actions[0] = (1, 1, 1)
    out = env.play(tasks, actions, round=rnd)
    assert out.correct.shape == (4,) and out.tokens.shape == (4, 3) and not out.failed.any(), (
      out.errors
    )
    assert (out.tokens[:, 0] > 0).all() and (out.tokens <= 16).all()
    assert (
      (out.tokens[:, 1] > 0) == (actions[:, 1] == 1)
    ).all()  # resolve generates, none does not
    assert not out.tokens[:, 2].any()  # first / vote generate nothing
    for t, a, c in zip(tasks, out.answers, out.correct):
      if a is None:
        assert c == 0.0
      else:
        text = f"Answer: {a}"
        assert float(check(t, text).correct) == c
  assert smollm2_backend.generated_tokens > before
  assert (
    len({s for s in smollm2_backend.shapes if s[2] == 16}) == 1
  )  # one compiled shape served every call


class _Seeded:
  """An in-process backend whose every completion is a function of (prompt, seed, sample index):
  it records each call's (prompt count, n, temperature, seed)."""

  name = "seeded"

  def __init__(self):
    self.calls = []

  def complete(self, prompts, *, max_tokens, temperature, n, seed):
    from dice_jax.rollouts.backends.protocol import Completion

    self.calls.append((len(prompts), n, temperature, seed))
    out = []
    for p in prompts:
      for j in range(n):
        v = (hash((str(p), seed if temperature > 0 else 0, j)) & 0xFFFF) % 7
        out.append(Completion(text=f"Answer: {v}", tokens=3))
    return out


SAMPLED = {"solver": ("direct", "vote3"), "aggregator": ("vote",)}


def _seeds_by_round(env, backend, task, rounds):
  seeds = []
  for r in rounds:
    backend.calls.clear()
    env.play([task], np.array([[1, 0]]), round=r)
    (call,) = [c for c in backend.calls if c[2] > 0]
    seeds.append(call[3])
  return seeds


def test_sample_draws_make_a_finite_sample_pool():
  b = _Seeded()
  fresh = LLMEnvironment(b, POOL, roles=SAMPLED)
  assert len(set(_seeds_by_round(fresh, b, POOL[0], range(12)))) == 12  # a new seed every round
  one = LLMEnvironment(b, POOL, roles=SAMPLED, sample_draws=1)
  assert len(set(_seeds_by_round(one, b, POOL[0], range(12)))) == 1  # one fixed sample set
  two = LLMEnvironment(b, POOL, roles=SAMPLED, sample_draws=2)
  seen = _seeds_by_round(two, b, POOL[0], range(12))
  assert len(set(seen)) == 2
  draws = [two.sample_draw(POOL[0], r) for r in range(12)]
  assert set(draws) == {0, 1}
  for i in range(12):  # same seed exactly when the same draw
    assert all((seen[i] == seen[j]) == (draws[i] == draws[j]) for j in range(12))
  assert one.sample_draw(POOL[0], 3) == 0 and fresh.sample_draw(POOL[0], 3) is None
  # greedy controls keep one call per group; a round's tasks split by draw into one call each
  b.calls.clear()
  two.play(POOL, np.tile([1, 0], (len(POOL), 1)), round=5)
  sampled = [c for c in b.calls if c[2] > 0]
  want = sorted({two.sample_draw(t, 5) for t in POOL})
  assert len(sampled) == len(want) and sum(c[0] for c in sampled) == len(POOL)
  with pytest.raises(ValueError, match="sample_draws"):
    LLMEnvironment(b, POOL, roles=SAMPLED, sample_draws=0)


def test_sample_pool_over_a_cache_is_an_exact_finite_game():
  from dice_jax.rollouts.backends.cache import CachedBackend

  inner = _Seeded()
  env = LLMEnvironment(CachedBackend(inner), POOL, roles=SAMPLED, sample_draws=1)
  first = env.play(POOL, np.tile([1, 0], (len(POOL), 1)), round=0)
  generated = len(inner.calls)
  again = env.play(POOL, np.tile([1, 0], (len(POOL), 1)), round=9)
  assert len(inner.calls) == generated  # every request of round 9 is a cache hit
  assert again.correct.tolist() == first.correct.tolist()
  assert again.answers == first.answers and again.tokens.tolist() == first.tokens.tolist()
