"""DICE-PC on real models: a solver -> verifier -> aggregator protocol over checkable tasks.

:class:`LLMEnvironment` implements :class:`dice_jax.pc.environments.spec.Environment` with language
models behind :mod:`dice_jax.rollouts.backends`. Each role picks a prompt-control action
(:class:`Control`: instruction, sample budget, decoding temperature, token limit, which model);
the state is the task's ``"<domain>/d<difficulty>"`` (:func:`dice_jax.rollouts.tasks.state_name`).

**The protocol** on one task, for a joint action (solver, verifier, aggregator):

1. *solver* -- writes ``n`` candidate solutions with its instruction (``direct``: the answer only;
   ``fewshot``: the answer only, after two worked examples; ``step_by_step``: reason, then
   ``Answer: ...`` (Kojima et al. 2022); ``self_check``: reason, check, answer; ``vote3``: three
   step-by-step samples at temperature 0.7, a sample budget).
2. *verifier* -- ``none`` (no tokens); ``judge``: one yes/no verdict per candidate (accepted or
   rejected); ``resolve``: solves the task independently, adding one candidate.
3. *aggregator* -- ``first``: the first candidate the verifier did not reject (the first
   candidate if all were rejected); ``vote``: a majority vote over the candidates' extracted
   answers (self-consistency, Wang et al. 2023, arXiv:2203.11171), a rejected candidate
   weighing 0.25, ties to the earliest; ``rewrite``: the model reads the question and the
   candidate answers (with the verifier's verdicts) and states the final answer.

The final answer is checked by :func:`dice_jax.rollouts.checkers.check`; ``Outcome.tokens[b, i]`` is
what role ``i`` generated on task ``b`` (``first``/``vote``/``none`` generate nothing). The
round's tasks are batched: calls are grouped by (role, control), one backend call per group.
A backend failure (after its retries) marks exactly the tasks it touched as failed, with the
error, never scored.

Measured with SmolLM2-135M-Instruct (greedy, 12-20 held-out tasks per state): ``direct`` is right
on about 16% of arithmetic/d1-d2 and 33% of planning/d2 at ~23 tokens, ``step_by_step`` on about
5% and 17% at 30-110 tokens, ``vote3`` is no better at ~3x the tokens, and arithmetic/d3-4 and
planning/d3-4 are near 0 for every control: for a model this small the controls change the cost
far more than the accuracy.

``best_of_n`` is the single-model baseline: the solver's ``step_by_step`` instruction sampled
``n`` times at temperature 0.7 on the default model, majority vote over extracted answers (Wang
et al. 2023); tokens in column 0.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import zlib
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from dice_jax.rollouts import fields
from dice_jax.rollouts.backends import Backend, BackendError
from dice_jax.rollouts.checkers import check, checker_of
from dice_jax.pc.environments.spec import CoordinationSpec, Outcome, control_names
from dice_jax.rollouts.tasks import Task
from dice_jax.rollouts.tasks import assign_states, states_of

__all__ = ["CONTROLS", "Control", "DEFAULT_ROLES", "LLMEnvironment", "ROLES"]

#: The protocol's roles, in the order they act on a task.
ROLES = ("solver", "verifier", "aggregator")

_FORMAT = "Write the final answer on the last line as 'Answer: ...'."
INSTRUCTIONS = {
  "direct": "{question}\n\nReply with only the final answer, as 'Answer: ...'. Do not explain.",
  "step_by_step": "{question}\n\nThink step by step. " + _FORMAT,
  "self_check": "{question}\n\nSolve it step by step, then check each step again. " + _FORMAT,
  "resolve": "Solve this problem carefully and independently.\n\n{question}\n\nThink step by step. "
  + _FORMAT,
  "judge": (
    "Question: {question}\n\nProposed solution:\n{solution}\n\nIs the proposed final answer "
    "({answer}) correct? Reply with only yes or no."
  ),
  "rewrite": (
    "Question: {question}\n\nOther solvers proposed these final answers:\n{candidates}\n\n"
    "Which answer is correct? " + _FORMAT
  ),
  "fewshot": "{examples}Question: {question}\nReply with only the final answer, as 'Answer: ...'.",
  "": "",
}
"""Prompt templates; ``{question}`` is the task, ``{examples}`` the worked examples of
:data:`FEWSHOT` for the task's checker (none for free-text tasks)."""

FEWSHOT = {
  "number": (
    ("Ann has 5 pens. Then Ann gets 3 more pens. How many pens does Ann have now?", "8"),
    (
      "Bo has 12 cups. Bo gives away 4 cups. Then Bo doubles the number of cups. How many cups does "
      "Bo have now?",
      "16",
    ),
  ),
  "order": (
    (
      "Put these 2 jobs in an order that obeys every rule.\nJobs: nap, cook.\nRules:\n- cook must "
      "come before nap.\nList all 2 jobs in order, separated by commas.",
      "cook, nap",
    ),
    (
      "Put these 3 jobs in an order that obeys every rule.\nJobs: swim, eat, rest.\nRules:\n- rest "
      "must come before swim.\n- eat must come before rest.\nList all 3 jobs in order, separated by "
      "commas.",
      "eat, rest, swim",
    ),
  ),
}
"""Hand-written worked examples for the ``fewshot`` instruction (Brown et al. 2020, in-context
examples), by checker; their names and jobs are outside the generators' pools."""


def render(instruction: str, task: Task, **fields) -> str:
  """The prompt of ``instruction`` for ``task`` (``fields`` fill the template's other slots)."""
  examples = "".join(
    f"Question: {q}\nAnswer: {a}\n\n" for q, a in FEWSHOT.get(checker_of(task), ())
  )
  return INSTRUCTIONS[instruction].format(question=task.question, examples=examples, **fields)


@dataclasses.dataclass(frozen=True)
class Control:
  """One prompt-control action of a role.

  Attributes:
    instruction: key of the prompt template in ``INSTRUCTIONS`` (``""`` for a role that
      generates nothing under this action).
    n: sample budget (completions per prompt).
    temperature: decoding temperature (0 is greedy).
    max_tokens: generation limit per completion.
    model: the backend that runs it (a key of the environment's ``backends``).
    stop: strings that end a completion's text: the text is cut at the first of them before
      the answer is extracted (the tokens generated after it are still charged).
  """

  instruction: str = ""
  n: int = 1
  temperature: float = 0.0
  max_tokens: int = 64
  model: str = "default"
  stop: Tuple[str, ...] = ()

  def __post_init__(self):
    if not isinstance(self.instruction, str) or self.instruction not in INSTRUCTIONS:
      raise ValueError(
        f"instruction: unknown instruction {self.instruction!r}; known: "
        f"{', '.join(repr(k) for k in INSTRUCTIONS)}."
      )
    object.__setattr__(self, "n", fields.integer("n", self.n, low=1))
    object.__setattr__(self, "temperature", fields.real("temperature", self.temperature, low=0.0))
    object.__setattr__(self, "max_tokens", fields.integer("max_tokens", self.max_tokens, low=1))
    fields.text("model", self.model, "a backend name")
    if not isinstance(self.stop, (list, tuple)) or not all(
      isinstance(x, str) and x for x in self.stop
    ):  # a stop string may be white space ("\n")
      raise ValueError(f"stop must be a list of non-empty strings; got {self.stop!r}.")
    object.__setattr__(self, "stop", tuple(self.stop))

  @property
  def generates(self) -> bool:
    return bool(self.instruction)

  def cut(self, text: str) -> str:
    """``text`` up to the first stop string."""
    for s in self.stop:
      k = text.find(s)
      if k >= 0:
        text = text[:k]
    return text


CONTROLS: Dict[str, Dict[str, Control]] = {
  "solver": {
    "direct": Control("direct", max_tokens=24),
    "fewshot": Control("fewshot", max_tokens=24, stop=("\nQuestion:",)),
    "step_by_step": Control("step_by_step", max_tokens=128),
    "self_check": Control("self_check", max_tokens=160),
    "vote3": Control("step_by_step", n=3, temperature=0.7, max_tokens=128),
  },
  "verifier": {
    "none": Control(""),
    "judge": Control("judge", max_tokens=4),
    "resolve": Control("resolve", max_tokens=128),
  },
  "aggregator": {
    "first": Control(""),
    "vote": Control(""),
    "rewrite": Control("rewrite", max_tokens=32),
  },
}
"""The actions each role knows. A name ``"<control>@<model>"`` runs ``<control>`` on the backend
``<model>`` (the "which model" control)."""

#: The control set each role offers when a config does not name one.
DEFAULT_ROLES: Dict[str, Tuple[str, ...]] = {
  "solver": ("direct", "step_by_step", "vote3"),
  "verifier": ("none", "judge"),
  "aggregator": ("first", "vote"),
}

_REJECTED_WEIGHT = 0.25


def _seed(*parts) -> int:
  return zlib.crc32("\x00".join(str(p) for p in parts).encode("utf-8")) & 0x7FFFFFFF


@dataclasses.dataclass
class _Candidate:
  text: str
  key: Optional[str]
  accepted: Optional[bool] = None


class LLMEnvironment:
  """The DICE-PC environment of real models on checkable tasks (see the module docstring).

  Args:
    backends: a :class:`~dice_jax.rollouts.backends.Backend`, or ``{model name: backend}`` with a
      ``"default"`` entry; controls pick one by ``"<control>@<model>"``.
    tasks: the pool :meth:`tasks` draws from (e.g. ``make_tasks(..., split="train")``); its
      states are the game's states.
    roles: ``{role: control names}`` in protocol order, a subset of :data:`ROLES` that includes
      ``"solver"`` (default :data:`DEFAULT_ROLES`). A missing verifier acts as ``none``, a
      missing aggregator as ``first``.
    token_cost: per role cost of one token (a number for every role, or one per role).
    cost_sharing: ``"team"`` or ``"own"`` (see :class:`CoordinationSpec`).
    extra_controls: ``{role: {name: Control}}`` added to :data:`CONTROLS`.
    max_tokens_cap: if given, every control's ``max_tokens`` is capped at it (quick runs).
    seed: base of the per-call seeds (each call's seed is a hash of it, the round, role, control;
      for sampled controls with ``sample_draws``, of it, role, control and the draw instead).
    best_of_n_control: the solver control whose instruction and token limit best-of-n samples.
    sample_draws: ``None`` (default): every sampled call (temperature > 0) draws fresh samples,
      its seed hashing the round. An integer ``P >= 1``: a *finite sample pool*: task ``b`` of
      round ``t`` uses draw ``d = hash(seed, t, question) mod P`` and the call seed hashes
      ``(seed, role, control, d)`` but not the round, so each (task, control) has at most ``P``
      sample sets. Over a :class:`~dice_jax.rollouts.backends.cache.CachedBackend` (which keeps
      the set a (prompt, seed) first got) the game on a pool is then finite: a state's expected
      payoff is the mean over its tasks and the ``P`` draws, computable exactly by playing every
      joint action on every (task, draw) -- the true game of the real-model benchmark with
      sampled controls.

  Raises:
    ValueError: naming an unknown role, an unknown control (with its role), an unknown model,
      a missing ``"default"`` backend, or an empty task pool; an empty or repeated action set
      (:func:`~dice_jax.pc.environments.spec.control_names`) or a bad ``token_cost``
      (:class:`~dice_jax.pc.environments.spec.CoordinationSpec`) at ``roles.<role>`` /
      ``token_cost``.

  Example::

      backend = LocalBackend.from_path()
      env = LLMEnvironment(backend, make_tasks("arithmetic", 50, split="train"))
      tasks = env.tasks(np.random.default_rng(0), 8, round=0)
      out = env.play(tasks, np.zeros((8, 3), int), round=0)
  """

  def __init__(
    self,
    backends,
    tasks: Sequence[Task],
    *,
    roles: Optional[Mapping[str, Sequence[str]]] = None,
    token_cost=5e-4,
    cost_sharing: str = "team",
    extra_controls: Optional[Mapping[str, Mapping[str, Control]]] = None,
    max_tokens_cap: Optional[int] = None,
    seed: int = 0,
    best_of_n_control: str = "step_by_step",
    sample_draws: Optional[int] = None,
  ):
    self.sample_draws = (
      None if sample_draws is None else fields.integer("sample_draws", sample_draws, low=1)
    )
    self.backends: Dict[str, Backend] = (
      dict(backends) if isinstance(backends, Mapping) else {"default": backends}
    )
    if "default" not in self.backends:
      raise ValueError(f"backends must include a 'default' entry; got {sorted(self.backends)}.")
    roles = dict(DEFAULT_ROLES if roles is None else roles)
    for r in roles:
      if r not in ROLES:
        raise ValueError(f"roles.{r}: unknown role {r!r}; roles are {', '.join(ROLES)}.")
    if "solver" not in roles:
      raise ValueError("roles must include the 'solver' role.")
    self.role_names = tuple(r for r in ROLES if r in roles)  # protocol order
    known = {r: dict(CONTROLS[r]) for r in ROLES}
    for r, extra in (extra_controls or {}).items():
      if r not in ROLES:
        raise ValueError(f"extra_controls.{r}: unknown role {r!r}; roles are {', '.join(ROLES)}.")
      for name, c in extra.items():
        where = f"extra_controls.{r}.{name}"
        fields.instance(where, c, Control)
        if name in CONTROLS[r] or "@" in name:
          raise ValueError(
            f"{where}: control {name!r} already exists for role {r!r} (or contains '@'); "
            "give the new control another name."
          )
        known[r][name] = c
    if max_tokens_cap is not None:
      max_tokens_cap = fields.integer("max_tokens_cap", max_tokens_cap, low=1)
    self.controls: Dict[str, Dict[str, Control]] = {}
    for r in self.role_names:
      names = control_names(roles[r], f"roles.{r}")
      self.controls[r] = {
        name: self._resolve(known, r, name, max_tokens_cap, f"roles.{r}[{i}]")
        for i, name in enumerate(names)
      }
    fields.choice("best_of_n_control", best_of_n_control, sorted(known["solver"]))
    self.best_of_n_control = self._resolve(
      known, "solver", best_of_n_control, max_tokens_cap, "best_of_n_control"
    )
    pool = list(tasks)
    if not pool:
      raise ValueError("tasks must hold at least one task (the pool tasks() draws from).")
    states = states_of(pool)
    self._set_pool(pool, states)
    self.spec = CoordinationSpec(
      roles=self.role_names,
      controls=tuple(tuple(self.controls[r]) for r in self.role_names),
      states=states,
      token_cost=token_cost,
      cost_sharing=cost_sharing,
    )
    self.seed = int(seed)

  def _resolve(self, known, role, name, cap, where) -> Control:
    base, _, model = str(name).partition("@")
    if base not in known[role]:
      raise ValueError(
        f"{where}: unknown control {base!r} for role {role!r}; known: "
        f"{', '.join(sorted(known[role]))}."
      )
    c = known[role][base]
    if model:
      c = dataclasses.replace(c, model=model)
    if c.model not in self.backends:
      raise ValueError(
        f"{where}: control {name!r} of role {role!r} runs on model {c.model!r}, but there is "
        f"no backend {c.model!r}; backends are {', '.join(sorted(self.backends))}."
      )
    if cap is not None:
      c = dataclasses.replace(c, max_tokens=min(c.max_tokens, int(cap)))
    return c

  def _set_pool(self, pool, states):
    self.pool = assign_states(pool, states)
    self._by_state = [[t for t in self.pool if t.state == s] for s in range(len(states))]
    self._nonempty = [s for s, ts in enumerate(self._by_state) if ts]

  def with_pool(self, tasks: Sequence[Task]) -> "LLMEnvironment":
    """The same game (spec, backends, controls, seed) drawing from another pool, e.g. the
    held-out test split.

    Raises:
      ValueError: naming a task state that is not among the spec's states, or an empty pool.
    """
    pool = list(tasks)
    if not pool:
      raise ValueError("tasks must hold at least one task.")
    env = copy.copy(self)
    env._set_pool(pool, self.spec.states)
    return env

  # --- Environment protocol ---------------------------------------------------------------------

  def tasks(self, rng: np.random.Generator, n: int, *, round: int) -> List[Task]:
    """``n`` tasks from the pool: a state uniformly at random among those the pool holds, then
    one of its tasks uniformly (with replacement)."""
    del round
    states = rng.integers(len(self._nonempty), size=int(n))
    out = []
    for k in states:
      bucket = self._by_state[self._nonempty[int(k)]]
      out.append(bucket[int(rng.integers(len(bucket)))])
    return out

  def sample_draw(self, task: Task, round: int) -> Optional[int]:
    """The draw of the finite sample pool that ``task``'s sampled controls use in ``round``:
    ``hash(seed, round, question) mod sample_draws`` (``None`` without ``sample_draws``)."""
    if self.sample_draws is None:
      return None
    return _seed(self.seed, int(round), task.question) % self.sample_draws

  def true_payoffs(self, round: int):
    """``None``: real models have no known payoffs."""
    return None

  def play(self, tasks: Sequence[Task], actions: np.ndarray, *, round: int) -> Outcome:
    """Run the protocol with joint action ``actions[b]`` on task ``b`` (see the module docstring).

    Raises:
      ValueError: ``actions`` is not ``[len(tasks), num_roles]`` integers within each role's range.
    """
    tasks = list(tasks)
    b_total, n_roles = len(tasks), len(self.role_names)
    actions = np.asarray(actions)
    if actions.shape != (b_total, n_roles) or (
      actions.size and not np.issubdtype(actions.dtype, np.integer)
    ):
      raise ValueError(
        f"actions must be integers of shape [{b_total}, {n_roles}] (tasks x roles "
        f"{list(self.role_names)}); got {actions.dtype} {actions.shape}."
      )
    for i, r in enumerate(self.role_names):
      k = len(self.controls[r])
      if actions.size and (actions[:, i].min() < 0 or actions[:, i].max() >= k):
        raise ValueError(
          f"actions[:, {i}] (role {r!r}) must lie in [0, {k}); got {actions[:, i].tolist()}."
        )
    run = _Round(self, tasks, round)
    names = {r: list(self.controls[r]) for r in self.role_names}
    chosen = {r: [names[r][int(a)] for a in actions[:, i]] for i, r in enumerate(self.role_names)}
    run.solve(chosen["solver"])
    if "verifier" in chosen:
      run.verify(chosen["verifier"])
    run.aggregate(chosen.get("aggregator", ["first"] * b_total))
    return run.outcome()

  def best_of_n(self, tasks: Sequence[Task], n: int, *, round: int) -> Outcome:
    """The single-model baseline: ``n`` samples of the ``best_of_n_control`` prompt on the default
    model at temperature 0.7 (greedy when ``n == 1``), majority vote over the extracted answers
    (Wang et al. 2023), ties to the earliest sample; tokens in column 0."""
    if int(n) < 1:
      raise ValueError(f"n must be >= 1; got {n}.")
    tasks = list(tasks)
    c = dataclasses.replace(self.best_of_n_control, n=int(n), temperature=0.7 if n > 1 else 0.0)
    run = _Round(self, tasks, round)
    run.solve(["best_of_n"] * len(tasks), controls={"best_of_n": c})
    run.aggregate(["vote"] * len(tasks))
    return run.outcome()


class _Round:
  """One play() or best_of_n() call: per-task candidates, tokens, failures."""

  def __init__(self, env: LLMEnvironment, tasks: List[Task], round: int):
    self.env, self.tasks, self.round = env, tasks, int(round)
    b = len(tasks)
    self.tokens = np.zeros((b, len(env.role_names)), np.float64)
    self.errors: List[Optional[str]] = [None] * b
    self.cands: List[List[_Candidate]] = [[] for _ in range(b)]
    self.final: List[Optional[str]] = [None] * b

  def _fail(self, b, msg):
    if self.errors[b] is None:
      self.errors[b] = msg

  def _call_seeds(self, role: str, name: str, c: Control, live: List[int], items):
    """The backend call seed of each live item: one per call (a hash of the round), or, for a
    sampled control of an environment with ``sample_draws``, one per draw of the task's pool."""
    env = self.env
    if env.sample_draws is None or c.temperature == 0:
      return [_seed(env.seed, self.round, role, name)] * len(live)
    draws = [env.sample_draw(self.tasks[items[k][0]], self.round) for k in live]
    return [_seed(env.seed, "pool", role, name, d) for d in draws]

  def _call(self, role: str, name: str, c: Control, items: List[Tuple[int, str]]):
    """Generate for ``items`` (task index, prompt), one backend call per call seed; charge the
    tokens to ``role``; returns, per item, its ``c.n`` texts (``None`` where the task failed)."""
    live = [k for k, (b, _) in enumerate(items) if self.errors[b] is None]
    out: List[Optional[List[str]]] = [None] * len(items)
    if not live:
      return out
    by_seed: Dict[int, List[int]] = collections.defaultdict(list)
    for k, seed in zip(live, self._call_seeds(role, name, c, live, items)):
      by_seed[seed].append(k)
    for seed, group in by_seed.items():
      self._call_group(role, name, c, items, group, seed, out)
    return [None if self.errors[b] is not None else o for (b, _), o in zip(items, out)]

  def _call_group(self, role, name, c, items, live, seed, out):
    col = self.env.role_names.index(role)
    backend = self.env.backends[c.model]
    expected = len(live) * c.n
    try:
      flat = backend.complete(
        [items[k][1] for k in live],
        max_tokens=c.max_tokens,
        temperature=c.temperature,
        n=c.n,
        seed=seed,
      )
      errs, default = {}, f"the backend returned {len(flat)} completions, expected {expected}"
      if len(flat) != expected:
        flat = [None] * expected
    except BackendError as e:
      flat = e.partial if len(e.partial) == expected else [None] * expected
      errs, default = e.failures, str(e)
    for pos, k in enumerate(live):
      b = items[k][0]
      got = flat[pos * c.n : (pos + 1) * c.n]
      for comp in got:
        if comp is not None:
          self.tokens[b, col] += comp.tokens
      bad = [errs.get(pos * c.n + j, default) for j in range(c.n) if got[j] is None]
      if bad:
        self._fail(b, f"{role}/{name} on {getattr(backend, 'name', c.model)}: {bad[0]}")
      else:
        out[k] = [c.cut(comp.text) for comp in got]

  def _groups(self, names: Sequence[str]):
    groups = collections.defaultdict(list)
    for b, name in enumerate(names):
      groups[name].append(b)
    return groups.items()

  def _key(self, b, text):
    return check(self.tasks[b], text).answer

  def solve(self, names: Sequence[str], controls: Optional[Dict[str, Control]] = None):
    controls = controls or self.env.controls["solver"]
    for name, idx in self._groups(names):
      c = controls[name]
      prompts = [(b, render(c.instruction, self.tasks[b])) for b in idx]
      for b, texts in zip(idx, self._call("solver", name, c, prompts)):
        if texts is not None:
          self.cands[b] = [_Candidate(t, self._key(b, t)) for t in texts]

  def verify(self, names: Sequence[str]):
    for name, idx in self._groups(names):
      c = self.env.controls["verifier"][name]
      if not c.generates:
        continue
      if c.instruction == "judge":
        items, owners = [], []
        for b in idx:
          for cand in self.cands[b]:
            sol = cand.text.strip()[-600:] or "(empty)"
            items.append(
              (
                b,
                render(
                  "judge",
                  self.tasks[b],
                  solution=sol,
                  answer=cand.key if cand.key is not None else "none",
                ),
              )
            )
            owners.append(cand)
        for cand, texts in zip(owners, self._call("verifier", name, c, items)):
          if texts is not None:
            cand.accepted = texts[0].strip().lower().lstrip("*\"' ").startswith("yes")
      else:  # an independent solution, added as a candidate
        prompts = [(b, render(c.instruction, self.tasks[b])) for b in idx]
        for b, texts in zip(idx, self._call("verifier", name, c, prompts)):
          if texts is not None:
            self.cands[b].extend(_Candidate(t, self._key(b, t)) for t in texts)

  def aggregate(self, names: Sequence[str]):
    controls = self.env.controls.get("aggregator", {})
    for name, idx in self._groups(names):
      c = controls.get(name)
      if c is not None and c.generates:
        items = []
        for b in idx:
          lines = []
          for k, cand in enumerate(self.cands[b], start=1):
            verdict = {True: " (a verifier says: correct)", False: " (a verifier says: wrong)"}.get(
              cand.accepted, ""
            )
            lines.append(f"{k}. {cand.key if cand.key is not None else '(no answer)'}{verdict}")
          items.append(
            (b, render(c.instruction, self.tasks[b], candidates="\n".join(lines) or "(none)"))
          )
        for b, texts in zip(idx, self._call("aggregator", name, c, items)):
          if texts is not None:
            self.final[b] = texts[0]
        continue
      for b in idx:
        if self.errors[b] is not None or not self.cands[b]:
          continue
        self.final[b] = (_vote(self.cands[b]) if name == "vote" else _first(self.cands[b])).text

  def outcome(self) -> Outcome:
    b_total = len(self.tasks)
    correct = np.zeros(b_total)
    answers: List[Optional[str]] = [None] * b_total
    for b in range(b_total):
      if self.errors[b] is not None:
        continue
      if self.final[b] is None:
        self._fail(b, "the protocol produced no final answer")
        continue
      v = check(self.tasks[b], self.final[b])
      correct[b], answers[b] = float(v.correct), v.answer
    failed = np.array([e is not None for e in self.errors], bool)
    return Outcome(
      correct=correct, tokens=self.tokens, failed=failed, answers=answers, errors=self.errors
    )


def _first(cands: List[_Candidate]) -> _Candidate:
  for c in cands:
    if c.accepted is not False:
      return c
  return cands[0]


def _vote(cands: List[_Candidate]) -> _Candidate:
  """The earliest candidate with the heaviest answer (rejected candidates weigh 0.25)."""
  weight: Dict[str, float] = collections.defaultdict(float)
  for c in cands:
    if c.key is not None:
      weight[c.key] += _REJECTED_WEIGHT if c.accepted is False else 1.0
  if not weight:
    return _first(cands)
  best = max(weight.values())
  return next(c for c in cands if c.key is not None and weight[c.key] == best)
