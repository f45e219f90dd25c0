"""The configuration of ``dice-jax pc run CONFIG``: one YAML or JSON file, validated up front.

:func:`load_config` reads the file (``.json`` as JSON, anything else as YAML through PyYAML's
``safe_load``), checks **every** field before any work is done -- no model is loaded, no round
is played -- and returns a :class:`RunConfig` that builds the environment and the policies.
Every error is a :class:`ConfigError` (a ``ValueError``) whose message starts with the field's
path, e.g. ``roles.verifier.controls: empty action set`` or ``methods.dice-pc.temperature:
must be > 0; got -1``.

**Schema** (``examples/pc/*.yaml`` are complete, commented examples)::

    name: oscillation-demo          # optional label (default: the file name)
    description: ...                # optional free text
    output: results/pc/demo         # results folder (relative to the current directory;
                                    #   ``dice-jax pc run --out DIR`` overrides it)
    seeds: [0, 1, 2]                # one int or a list: one run per method and seed
    budget:
      rounds: 200                   # rounds per run (>= 1)
      batch_size: 32                # tasks per round (>= 1)
    environment:                    # where the roles act
      kind: synthetic               # synthetic | llm
      suite: oscillation            # synthetic: oscillation | drift (dice_jax.pc.environments.synthetic),
      off: [0.3, 0.2]               #   plus any parameter of that suite function except
                                    #   num_roles / num_actions / token_cost / seed
      # kind: llm                   # llm: dice_jax.pc.environments.llm.LLMEnvironment, with
      # max_tokens_cap: 32          #   optional max_tokens_cap and best_of_n_control
    roles:                          # role -> its prompt controls (the actions) and token cost
      solver:
        controls: [direct, step_by_step]   # llm: names of dice_jax.pc.environments.llm.CONTROLS[role],
        token_cost: 5.0e-4                 #   "<name>@<backend>", or {name: {instruction, n,
      aggregator: [first, vote]            #   temperature, max_tokens, model}} for a new one
    token_cost: 1.0e-4              # default cost per token for roles that give none (>= 0)
    cost_sharing: team              # team (every role pays all tokens) | own
    states: [easy, hard]            # synthetic: names of the suite's states (one per entry of
                                    #   ``off``); llm: optional, must equal the tasks' states
    tasks:                          # llm only: one source or a list of sources (one pool)
      kind: arithmetic              # arithmetic | planning | jsonl
      count: 20                     # generated: tasks per difficulty; jsonl: at most this many
      split: train                  # train | test (jsonl also: all, the default)
      difficulties: [1, 2]          # generated: buckets; jsonl: keep only these difficulties
      seed: 0                       # generator seed
      # path: data.jsonl            # jsonl: the file (relative to the config file's folder)
    backend:                        # llm only (or ``backends: {default: {...}, other: {...}}``
      kind: local                   #   for "<control>@other" which-model controls)
      model_path: null              # local: checkpoint dir or .gguf (default bundled SmolLM2)
      max_batch: 4                  # local: LocalBackend options max_batch, prompt_bucket,
      prompt_bucket: 128            #   fixed_batch, top_p
      fixed_batch: true
      # kind: openai                # openai: base_url, model, api_key_env (the NAME of an
      # base_url: http://127.0.0.1:8080/v1   environment variable holding the key), timeout,
      # model: smollm2              #   retries, max_concurrency, top_p
    methods:                        # label -> options; ``method:`` defaults to the label
      dice-pc:
        temperature: 0.7            # number | [per role] | {role: t} | {state: number or
                                    #   {role: t}}  (every role / every state named)
        final_temperature: 0.001    # optional annealing target (same forms), floored at the
                                    #   certified temperature (1 + margin) alpha_upper
        margin: 0.1
        reference:                  # per role: [probs] | {control: weight} | {state: either};
          planner: {convention0: 0.6, convention1: 0.2, convention2: 0.2}   # weights > 0,
                                    #   normalised; roles left out are uniform
        forgetting: 0.97            # posterior discount gamma in (0, 1] (drift)
        prior: {alpha0: 1, beta0: 1, token_prior: 0, token_pseudocount: 1}
        sampling: mean              # mean | thompson
        solver: mirror              # a dice_jax.solve method
        tol: null
        certify: true
        magnet: 0.0                 # moving reference: weight in [0, 1) of the last rounds' HQRE
        magnet_warmup: 0            #   (ramped up over this many rounds), averaged over the
        magnet_window: 1            #   last magnet_window rounds
      dice-pc-uniform: {method: dice-pc, temperature: 0.7}
      best-response: {forgetting: 1.0, prior: {...}}       # also fictitious-play
      uniform: {}
      ucb1: {}
      exp3: {gamma: 0.1}
      best-of-n: {n: 3}             # or {token_budget: 300} or {match: dice-pc}: the measured
                                    #   tokens per task of that method's run with the same seed
    evaluation:                     # where equilibrium regret / distance are measured
      temperature: 0.7              # default: the first dice-pc method's target
      reference: {...}              # default: that method's reference
      monotonicity: true            # compute the rollout monotonicity diagnostic
      num_bootstrap: 100

Method labels become folder names: letters, digits, ``-``, ``_`` and ``.``. Seeds drive the
task draws and the policies' sampling (:func:`dice_jax.pc.harness.loop.run`) and the synthetic
environments' rollout noise; the LLM task pool is fixed by ``tasks.seed``.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from dice_jax.pc.environments.spec import CoordinationSpec
from dice_jax.rollouts.config_files import ConfigError, read_config_file
from dice_jax.rollouts.config_files import boolean as _boolean
from dice_jax.rollouts.config_files import integer as _integer
from dice_jax.rollouts.config_files import join as _join
from dice_jax.rollouts.config_files import listing as _list
from dice_jax.rollouts.config_files import mapping as _mapping
from dice_jax.rollouts.config_files import number as _number
from dice_jax.rollouts.config_files import show as _show
from dice_jax.rollouts.config_files import text as _text
from dice_jax.rollouts.tasks import Task

__all__ = ["ConfigError", "MethodConfig", "RunConfig", "load_config", "parse_config"]

ENVIRONMENT_KINDS = ("synthetic", "llm")
SUITES = ("oscillation", "drift")
TASK_KINDS = ("arithmetic", "planning", "jsonl")
BACKEND_KINDS = ("local", "openai")
METHOD_NAMES = (
  "dice-pc",
  "uniform",
  "ucb1",
  "exp3",
  "fictitious-play",
  "best-response",
  "best-of-n",
)

_TOP = (
  "name",
  "description",
  "output",
  "seeds",
  "budget",
  "environment",
  "roles",
  "token_cost",
  "cost_sharing",
  "states",
  "tasks",
  "backend",
  "backends",
  "methods",
  "evaluation",
)
_BUDGET = ("rounds", "batch_size")
_LLM_ENV = ("kind", "max_tokens_cap", "best_of_n_control")
_TASKS = ("kind", "count", "split", "difficulties", "seed", "path", "test_fraction")
_LOCAL = ("kind", "model_path", "max_batch", "prompt_bucket", "fixed_batch", "top_p")
_OPENAI = (
  "kind",
  "base_url",
  "model",
  "api_key_env",
  "timeout",
  "retries",
  "max_concurrency",
  "top_p",
)
_CONTROL = ("instruction", "n", "temperature", "max_tokens", "model")
_PRIOR = ("alpha0", "beta0", "token_prior", "token_pseudocount")
_METHOD_OPTIONS = {
  "dice-pc": (
    "temperature",
    "final_temperature",
    "margin",
    "reference",
    "forgetting",
    "prior",
    "sampling",
    "solver",
    "tol",
    "certify",
    "magnet",
    "magnet_warmup",
    "magnet_window",
  ),
  "uniform": (),
  "ucb1": (),
  "exp3": ("gamma",),
  "fictitious-play": ("forgetting", "prior"),
  "best-response": ("forgetting", "prior"),
  "best-of-n": ("n", "token_budget", "match"),
}
_EVALUATION = ("temperature", "reference", "monotonicity", "num_bootstrap")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_ROUNDS = 10_000_000  # budget.rounds
MAX_BATCH = 1_000_000  # budget.batch_size


# --- the resolved configuration -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MethodConfig:
  """One entry of ``methods``: ``label`` (the folder name), ``method`` (a name in
  :data:`dice_jax.pc.policies.policies.POLICIES`), ``kwargs`` (the policy constructor's keyword
  arguments, resolved to arrays in the spec's role/state order) and ``match`` (for best-of-n:
  the label whose measured tokens per task set the budget, else ``None``)."""

  label: str
  method: str
  kwargs: Dict[str, Any]
  match: Optional[str] = None
  options: Dict[str, Any] = dataclasses.field(default_factory=dict)

  def build(self, token_budget: Optional[float] = None):
    """A fresh policy (``token_budget`` is required for a ``match`` best-of-n)."""
    from dice_jax.pc.policies.policies import make_policy  # noqa: PLC0415

    kwargs = dict(self.kwargs)
    if self.match is not None:
      if token_budget is None or not token_budget > 0:
        raise ValueError(
          f"methods.{self.label}.match: the matched method {self.match!r} "
          f"measured no tokens per task ({token_budget!r})."
        )
      kwargs["token_budget"] = float(token_budget)
    return make_policy(self.method, **kwargs)


@dataclasses.dataclass(frozen=True)
class RunConfig:
  """A validated ``dice-jax pc run`` configuration (see the module docstring).

  Attributes:
    name, description: labels.
    path: the file it was read from (``None`` for a dict) and ``text`` its contents.
    raw: the configuration as read (JSON-ready; what the results folder records).
    output: the results folder.
    seeds, rounds, batch_size: the budget.
    spec: the coordination game (roles, controls, states, costs) every method plays.
    environment: ``"synthetic/oscillation"``, ``"synthetic/drift"`` or ``"llm"``.
    methods: the methods, in run order (a best-of-n ``match`` after the method it matches).
    temperature, reference: the evaluation target (``[S, N]`` and per role ``[S, n_i]``).
    monotonicity, num_bootstrap: the harness's diagnostic settings.
  """

  name: str
  description: str
  path: Optional[str]
  text: Optional[str]
  raw: Dict[str, Any]
  output: Optional[str]
  seeds: Tuple[int, ...]
  rounds: int
  batch_size: int
  spec: CoordinationSpec
  environment: str
  methods: Tuple[MethodConfig, ...]
  temperature: np.ndarray
  reference: Tuple[np.ndarray, ...]
  monotonicity: bool = True
  num_bootstrap: int = 100
  _env: Dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)

  def build_environment(self, seed: int):
    """The environment for run seed ``seed`` (a synthetic suite seeded with it, or the LLM
    environment over the task pool; the LLM backends are created on first use and shared)."""
    e = self._env
    if e["kind"] == "synthetic":
      from dice_jax.pc.environments import synthetic  # noqa: PLC0415

      suite = getattr(synthetic, f"{e['suite']}_suite")
      env = suite(**e["options"], seed=int(seed))
      env.spec = self.spec  # the configured names, per-role costs and cost sharing
      return env
    from dice_jax.pc.environments.llm import LLMEnvironment  # noqa: PLC0415

    env = LLMEnvironment(
      e["backends"],
      e["tasks"],
      roles=e["roles"],
      token_cost=self.spec.token_cost,
      cost_sharing=self.spec.cost_sharing,
      extra_controls=e["extra_controls"],
      max_tokens_cap=e["max_tokens_cap"],
      seed=int(seed),
      best_of_n_control=e["best_of_n_control"],
    )
    if env.spec != self.spec:  # pragma: no cover - the validation mirrors LLMEnvironment
      raise ValueError(
        f"internal: LLMEnvironment spec {env.spec} differs from the validated {self.spec}."
      )
    return env

  def method(self, label: str) -> MethodConfig:
    for m in self.methods:
      if m.label == label:
        return m
    raise KeyError(label)

  def close(self) -> None:
    """Close HTTP clients of the backends that were created."""
    for b in self._env.get("backends", {}).values():
      b.close()

  def to_dict(self) -> Dict[str, Any]:
    """JSON-ready resolved settings (what ``summary.json`` records next to ``raw``)."""
    return {
      "name": self.name,
      "description": self.description,
      "output": self.output,
      "seeds": list(self.seeds),
      "rounds": self.rounds,
      "batch_size": self.batch_size,
      "environment": self.environment,
      "spec": self.spec.to_dict(),
      "methods": {m.label: {"method": m.method, **m.options} for m in self.methods},
      "evaluation": {
        "temperature": np.asarray(self.temperature).tolist(),
        "reference": [np.asarray(r).tolist() for r in self.reference],
        "monotonicity": self.monotonicity,
        "num_bootstrap": self.num_bootstrap,
      },
    }


class _LazyBackend:
  """A :class:`~dice_jax.rollouts.backends.Backend` created on the first ``complete`` call, so a
  config is validated (and an environment built) without loading a model."""

  def __init__(self, name: str, kind: str, options: Dict[str, Any]):
    self.name, self.kind, self.options = name, kind, options
    self._backend = None

  def get(self):
    if self._backend is None:
      from dice_jax.rollouts import backends  # noqa: PLC0415

      if self.kind == "local":
        opts = dict(self.options)
        path = opts.pop("model_path", None)
        self._backend = backends.LocalBackend.from_path(path, **opts)
      else:
        opts = dict(self.options)
        env_name = opts.pop("api_key_env", None)
        key = os.environ.get(env_name) if env_name else None
        self._backend = backends.OpenAIBackend(
          opts.pop("base_url"), opts.pop("model"), api_key=key, name=self.name, **opts
        )
      self.name = getattr(self._backend, "name", self.name)
    return self._backend

  def complete(self, prompts, *, max_tokens, temperature=0.0, n=1, seed=0):
    return self.get().complete(
      prompts, max_tokens=max_tokens, temperature=temperature, n=n, seed=seed
    )

  def close(self):
    if self._backend is not None and hasattr(self._backend, "close"):
      self._backend.close()


# --- loading ------------------------------------------------------------------------------------


def load_config(path: str | os.PathLike) -> RunConfig:
  """Read and validate a config file (``.json``: JSON; otherwise YAML).

  Raises:
    ConfigError: the file is missing, unreadable, too large, too deeply nested, has duplicate
      keys, or any field is invalid (the message names the file and line or the field's path).
  """
  path = os.fspath(path)
  data, text = read_config_file(path)
  return parse_config(data, base_dir=os.path.dirname(os.path.abspath(path)), path=path, text=text)


def parse_config(
  data: Mapping[str, Any],
  *,
  base_dir: str = ".",
  path: Optional[str] = None,
  text: Optional[str] = None,
) -> RunConfig:
  """Validate a config given as a mapping (what :func:`load_config` parsed).

  Args:
    data: the configuration (module docstring).
    base_dir: the folder relative dataset and model paths are resolved against.
    path, text: the file it came from, recorded in the results.

  Raises:
    ConfigError: naming the field's path, for unknown keys, unknown roles, controls, methods or
      states, empty action sets, negative costs, missing files and bad numbers.
  """
  top = _mapping(data, "", _TOP) if data is not None else {}
  if not top:
    raise ConfigError("", "the config is empty; it needs at least environment and methods.")
  name = top.get("name", os.path.splitext(os.path.basename(path))[0] if path else "dice-pc")
  name = _text(name, "name")
  description = top.get("description", "")
  if not isinstance(description, str):
    raise ConfigError("description", f"must be text; got {_show(description)}.")
  output = top.get("output")
  if output is not None:
    output = _text(output, "output")

  seeds = top.get("seeds", [0])
  seeds = (
    [seeds] if isinstance(seeds, int) and not isinstance(seeds, bool) else _list(seeds, "seeds")
  )
  if not seeds:
    raise ConfigError("seeds", "must name at least one seed.")
  seeds = tuple(_integer(s, f"seeds[{i}]") for i, s in enumerate(seeds))
  if len(set(seeds)) != len(seeds):
    raise ConfigError("seeds", f"seeds must be distinct; got {list(seeds)}.")

  if "budget" not in top:
    raise ConfigError("budget", "missing: give budget.rounds and budget.batch_size.")
  budget = _mapping(top["budget"], "budget", _BUDGET)
  for k in _BUDGET:
    if k not in budget:
      raise ConfigError(f"budget.{k}", "missing.")
  rounds = _integer(budget["rounds"], "budget.rounds", low=1, high=MAX_ROUNDS)
  batch_size = _integer(budget["batch_size"], "budget.batch_size", low=1, high=MAX_BATCH)

  if "environment" not in top:
    raise ConfigError("environment", "missing: give environment.kind (synthetic or llm).")
  env_raw = _mapping(top["environment"], "environment")
  kind = _text(env_raw.get("kind"), "environment.kind", ENVIRONMENT_KINDS)
  default_cost = _number(top.get("token_cost", 0.0), "token_cost", low=0.0)
  sharing = _text(top.get("cost_sharing", "team"), "cost_sharing", ("team", "own"))

  if kind == "synthetic":
    for k in ("tasks", "backend", "backends"):
      if k in top:
        raise ConfigError(
          k, "only an llm environment takes tasks and backends (this one is synthetic)."
        )
    spec, env = _synthetic(env_raw, top, default_cost, sharing, rounds)
    env_label = f"synthetic/{env['suite']}"
  else:
    spec, env = _llm(env_raw, top, default_cost, sharing, base_dir)
    env_label = "llm"

  methods = _methods(top.get("methods"), spec)
  evaluation = _mapping(top.get("evaluation", {}), "evaluation", _EVALUATION)
  temperature, reference = _target(evaluation, methods, spec)
  monotonicity = _boolean(evaluation.get("monotonicity", True), "evaluation.monotonicity")
  num_bootstrap = _integer(evaluation.get("num_bootstrap", 100), "evaluation.num_bootstrap", low=1)
  return RunConfig(
    name=name,
    description=description,
    path=path,
    text=text,
    raw=json.loads(json.dumps(top, default=str)),
    output=output,
    seeds=seeds,
    rounds=rounds,
    batch_size=batch_size,
    spec=spec,
    environment=env_label,
    methods=methods,
    temperature=temperature,
    reference=reference,
    monotonicity=monotonicity,
    num_bootstrap=num_bootstrap,
    _env=env,
  )


# --- roles --------------------------------------------------------------------------------------


def _roles(value, path: str = "roles") -> Dict[str, Tuple[list, str, Optional[float]]]:
  """``{role: (control entries, their field path, token cost or None)}`` in the file's order."""
  roles = _mapping(value, path)
  if not roles:
    raise ConfigError(path, "must name at least one role.")
  out = {}
  for r, entry in roles.items():
    rp = _join(path, r)
    cost = None
    if isinstance(entry, Mapping):
      entry = _mapping(entry, rp, ("controls", "token_cost"))
      if "controls" not in entry:
        raise ConfigError(_join(rp, "controls"), "missing: list the role's prompt controls.")
      if "token_cost" in entry:
        cost = _number(entry["token_cost"], _join(rp, "token_cost"), low=0.0)
      controls, cp = entry["controls"], _join(rp, "controls")
    else:
      controls, cp = entry, rp
    controls = _list(controls, cp)
    if not controls:
      raise ConfigError(cp, "empty action set: every role needs at least one control.")
    out[r] = (controls, cp, cost)
  return out


def _names(controls: list, path: str) -> List[str]:
  names = []
  for i, c in enumerate(controls):
    if not isinstance(c, str):
      raise ConfigError(f"{path}[{i}]", f"a synthetic control is a name; got {_show(c)}.")
    names.append(_text(c, f"{path}[{i}]"))
  dup = sorted({n for n in names if names.count(n) > 1})
  if dup:
    raise ConfigError(path, f"duplicate controls {dup}.")
  return names


# --- synthetic ----------------------------------------------------------------------------------


def _synthetic(env_raw, top, default_cost, sharing, rounds):
  from dice_jax.pc.environments import synthetic  # noqa: PLC0415

  suite = _text(env_raw.get("suite"), "environment.suite", SUITES)
  fn = getattr(synthetic, f"{suite}_suite")
  sig = inspect.signature(fn).parameters
  params = [p for p in sig if p not in ("num_roles", "num_actions", "token_cost", "seed")]
  options = {}
  for k, v in env_raw.items():
    if k in ("kind", "suite"):
      continue
    if k not in params:
      raise ConfigError(
        f"environment.{k}",
        f"unknown key for the {suite} suite; known keys: kind, suite, {', '.join(params)}.",
      )
    if isinstance(sig[k].default, (list, tuple)):  # one number per state
      items = _list(v, f"environment.{k}")
      if not items:
        raise ConfigError(f"environment.{k}", "must hold at least one number (one per state).")
      options[k] = [_number(x, f"environment.{k}[{i}]") for i, x in enumerate(items)]
    else:
      options[k] = _number(v, f"environment.{k}")
  try:
    probe = fn(**options)
  except (ValueError, TypeError) as e:
    raise ConfigError("environment", str(e)) from None
  num_states = probe.spec.num_states
  for t in sorted({int(t) for t in np.linspace(0, rounds - 1, 33)}):
    success, tokens = probe.true_payoffs(t)
    if np.any((success < 0) | (success > 1)) or np.any(tokens < 0):
      raise ConfigError(
        "environment",
        f"the {suite} suite's success probabilities must lie in "
        f"[0, 1] and its tokens be >= 0 in every round; round {t} "
        f"has success in [{success.min():g}, {success.max():g}] "
        f"and tokens >= {tokens.min():g}.",
      )
  if "roles" in top:
    roles = _roles(top["roles"])
    names = {r: _names(c, cp) for r, (c, cp, _) in roles.items()}
    k = len(next(iter(names.values())))
    for r, n in names.items():
      if len(n) != k:
        raise ConfigError(
          roles[r][1],
          f"a synthetic suite gives every role the same number of "
          f"controls ({k}, as the first role); got {len(n)}.",
        )
    if len(roles) < 2:
      raise ConfigError("roles", f"a synthetic suite needs at least 2 roles; got {len(roles)}.")
    options.update(num_roles=len(roles), num_actions=k)
    role_names, controls = tuple(names), tuple(tuple(n) for n in names.values())
    costs = tuple(default_cost if c is None else c for (_, _, c) in roles.values())
  else:
    role_names, controls = probe.spec.roles, probe.spec.controls
    costs = (default_cost if "token_cost" in top else probe.spec.token_cost[0],) * len(role_names)
  try:
    fn(**options)
  except (ValueError, TypeError) as e:
    raise ConfigError("environment", str(e)) from None
  states = probe.spec.states
  if "states" in top:
    st = [_text(s, f"states[{i}]") for i, s in enumerate(_list(top["states"], "states"))]
    if len(st) != num_states:
      raise ConfigError(
        "states",
        f"the {suite} suite has {num_states} states (one per entry of "
        f"environment.off); got {len(st)} names.",
      )
    states = tuple(st)
  try:
    spec = CoordinationSpec(
      roles=role_names, controls=controls, states=states, token_cost=costs, cost_sharing=sharing
    )
  except ValueError as e:
    raise ConfigError("roles", str(e)) from None
  return spec, {"kind": "synthetic", "suite": suite, "options": options}


# --- llm ----------------------------------------------------------------------------------------


def _llm(env_raw, top, default_cost, sharing, base_dir):
  from dice_jax.pc.environments import llm as llm_env  # noqa: PLC0415
  from dice_jax.rollouts.tasks import states_of  # noqa: PLC0415

  env_raw = _mapping(env_raw, "environment", _LLM_ENV)
  cap = env_raw.get("max_tokens_cap")
  cap = None if cap is None else _integer(cap, "environment.max_tokens_cap", low=1)

  # backends first: controls may name them
  if "backend" in top and "backends" in top:
    raise ConfigError("backends", "give either backend or backends, not both.")
  if "backends" in top:
    raw = _mapping(top["backends"], "backends")
    if "default" not in raw:
      raise ConfigError("backends", f"needs a 'default' entry; got {sorted(raw)}.")
    backends = {n: _backend(b, f"backends.{n}", base_dir, n) for n, b in raw.items()}
  else:
    backends = {
      "default": _backend(top.get("backend", {"kind": "local"}), "backend", base_dir, "default")
    }

  roles = _roles(top.get("roles", {r: list(c) for r, c in llm_env.DEFAULT_ROLES.items()}))
  extra: Dict[str, Dict[str, Any]] = {}
  chosen: Dict[str, List[str]] = {}
  costs = {}
  for r, (controls, cp, cost) in roles.items():
    if r not in llm_env.ROLES:
      raise ConfigError(f"roles.{r}", f"unknown role; roles are {', '.join(llm_env.ROLES)}.")
    names = []
    for i, c in enumerate(controls):
      p = f"{cp}[{i}]"
      if isinstance(c, Mapping):
        c = _mapping(c, p)
        if len(c) != 1:
          raise ConfigError(
            p, f"a new control is a mapping with exactly one key, its name; got {sorted(c)}."
          )
        ((cname, settings),) = c.items()
        _text(cname, p)
        if cname in llm_env.CONTROLS[r] or "@" in cname:
          raise ConfigError(
            p,
            f"control {cname!r} already exists for role {r!r} (or contains "
            "'@'); give the new control another name.",
          )
        extra.setdefault(r, {})[cname] = _control(settings, f"{p}.{cname}", backends)
        names.append(cname)
        continue
      cname = _text(c, p)
      base, _, model = cname.partition("@")
      if base not in llm_env.CONTROLS[r] and base not in extra.get(r, {}):
        raise ConfigError(
          p,
          f"unknown control {base!r} for role {r!r}; known: "
          f"{', '.join(sorted(llm_env.CONTROLS[r]))}.",
        )
      if model and model not in backends:
        raise ConfigError(p, f"names backend {model!r}; backends are {', '.join(backends)}.")
      names.append(cname)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
      raise ConfigError(cp, f"duplicate controls {dup}.")
    chosen[r] = names
    costs[r] = default_cost if cost is None else cost
  if "solver" not in chosen:
    raise ConfigError("roles", "an llm environment needs the 'solver' role.")
  bon = env_raw.get("best_of_n_control", "step_by_step")
  _text(bon, "environment.best_of_n_control", sorted(llm_env.CONTROLS["solver"]))

  if "tasks" not in top:
    raise ConfigError("tasks", "missing: an llm environment needs a task source.")
  sources = top["tasks"] if isinstance(top["tasks"], list) else [top["tasks"]]
  if not sources:
    raise ConfigError("tasks", "must give at least one task source.")
  pool: List[Task] = []
  for i, src in enumerate(sources):
    pool.extend(
      _tasks(src, "tasks" if not isinstance(top["tasks"], list) else f"tasks[{i}]", base_dir)
    )
  if not pool:
    raise ConfigError("tasks", "the sources hold no task (check count, split and difficulties).")
  order = tuple(r for r in llm_env.ROLES if r in chosen)
  states = states_of(pool)
  if "states" in top:
    st = [_text(s, f"states[{i}]") for i, s in enumerate(_list(top["states"], "states"))]
    if sorted(st) != sorted(states):
      raise ConfigError("states", f"must equal the tasks' states {list(states)}; got {st}.")
  spec = CoordinationSpec(
    roles=order,
    controls=tuple(tuple(chosen[r]) for r in order),
    states=states,
    token_cost=tuple(costs[r] for r in order),
    cost_sharing=sharing,
  )
  return spec, {
    "kind": "llm",
    "backends": backends,
    "tasks": pool,
    "roles": {r: tuple(chosen[r]) for r in order},
    "extra_controls": {
      r: {n: llm_env.Control(**c) for n, c in d.items()} for r, d in extra.items()
    },
    "max_tokens_cap": cap,
    "best_of_n_control": bon,
  }


def _control(settings, path, backends) -> Dict[str, Any]:
  from dice_jax.pc.environments import llm as llm_env  # noqa: PLC0415

  s = _mapping(settings, path, _CONTROL)
  out: Dict[str, Any] = {}
  if "instruction" not in s:
    raise ConfigError(f"{path}.instruction", "missing.")
  instr = s["instruction"]
  if not isinstance(instr, str) or instr not in llm_env.INSTRUCTIONS:
    raise ConfigError(
      f"{path}.instruction",
      f"unknown instruction {instr!r}; known: {', '.join(repr(k) for k in llm_env.INSTRUCTIONS)}.",
    )
  out["instruction"] = instr
  if "n" in s:
    out["n"] = _integer(s["n"], f"{path}.n", low=1)
  if "temperature" in s:
    out["temperature"] = _number(s["temperature"], f"{path}.temperature", low=0.0)
  if "max_tokens" in s:
    out["max_tokens"] = _integer(s["max_tokens"], f"{path}.max_tokens", low=1)
  if "model" in s:
    out["model"] = _text(s["model"], f"{path}.model", list(backends))
  return out


def _backend(value, path, base_dir, name) -> _LazyBackend:
  b = _mapping(value, path)
  kind = _text(b.get("kind", "local"), f"{path}.kind", BACKEND_KINDS)
  b = _mapping(b, path, _LOCAL if kind == "local" else _OPENAI)
  opts: Dict[str, Any] = {}
  if kind == "local":
    mp = b.get("model_path")
    if mp is not None:
      mp = os.path.join(base_dir, os.path.expanduser(_text(mp, f"{path}.model_path")))
      if not os.path.exists(mp):
        raise ConfigError(f"{path}.model_path", f"no such file or directory: {mp}.")
      opts["model_path"] = mp
    for k in ("max_batch", "prompt_bucket"):
      if k in b:
        opts[k] = _integer(b[k], f"{path}.{k}", low=1)
    if "fixed_batch" in b:
      opts["fixed_batch"] = _boolean(b["fixed_batch"], f"{path}.fixed_batch")
    if "top_p" in b:
      opts["top_p"] = _number(b["top_p"], f"{path}.top_p", low=0.0, low_open=True, high=1.0)
    return _LazyBackend(name, "local", opts)
  for k in ("base_url", "model"):
    if k not in b:
      raise ConfigError(f"{path}.{k}", "missing (required by an openai backend).")
  url = _text(b["base_url"], f"{path}.base_url")
  if not url.startswith(("http://", "https://")):
    raise ConfigError(
      f"{path}.base_url", f"must be an http(s) URL such as 'http://127.0.0.1:8080/v1'; got {url!r}."
    )
  opts["base_url"], opts["model"] = url, _text(b["model"], f"{path}.model")
  if "api_key_env" in b:
    var = _text(b["api_key_env"], f"{path}.api_key_env")
    if var not in os.environ:
      raise ConfigError(f"{path}.api_key_env", f"environment variable {var} is not set.")
    opts["api_key_env"] = var
  if "timeout" in b:
    opts["timeout"] = _number(b["timeout"], f"{path}.timeout", low=0.0, low_open=True)
  if "retries" in b:
    opts["retries"] = _integer(b["retries"], f"{path}.retries", low=0)
  if "max_concurrency" in b:
    opts["max_concurrency"] = _integer(b["max_concurrency"], f"{path}.max_concurrency", low=1)
  if "top_p" in b:
    opts["top_p"] = _number(b["top_p"], f"{path}.top_p", low=0.0, low_open=True, high=1.0)
  return _LazyBackend(name, "openai", opts)


def _tasks(value, path, base_dir) -> List[Task]:
  from dice_jax.rollouts import tasks as T  # noqa: PLC0415

  t = _mapping(value, path, _TASKS)
  kind = _text(t.get("kind"), f"{path}.kind", TASK_KINDS)
  seed = _integer(t.get("seed", 0), f"{path}.seed")
  tf = _number(
    t.get("test_fraction", 0.5),
    f"{path}.test_fraction",
    low=0.0,
    low_open=True,
    high=1.0,
    high_open=True,
  )
  diffs = t.get("difficulties")
  if kind == "jsonl":
    if "path" not in t:
      raise ConfigError(f"{path}.path", "missing: a jsonl source needs the dataset file.")
    fp = os.path.join(base_dir, os.path.expanduser(_text(t["path"], f"{path}.path")))
    if not os.path.isfile(fp):
      raise ConfigError(f"{path}.path", f"no such dataset file: {fp}.")
    split = _text(t.get("split", "all"), f"{path}.split", ("all", "train", "test"))
    try:
      pool = T.load_jsonl(fp)
    except (ValueError, OSError) as e:
      raise ConfigError(f"{path}.path", str(e)) from None
    if split != "all":
      pool = T.split_tasks(pool, test_fraction=tf)[split == "test"]
    if diffs is not None:
      keep = {str(d) for d in _list(diffs, f"{path}.difficulties")}
      pool = [x for x in pool if str(x.meta.get("difficulty")) in keep]
    if "count" in t:
      pool = pool[: _integer(t["count"], f"{path}.count", low=1)]
    if not pool:
      raise ConfigError(path, f"no task of {fp} is left after split/difficulties/count.")
    return pool
  if "path" in t:
    raise ConfigError(f"{path}.path", f"only a jsonl source reads a file (kind is {kind!r}).")
  count = _integer(t.get("count", 20), f"{path}.count", low=1, high=10_000)
  split = _text(t.get("split", "train"), f"{path}.split", ("train", "test"))
  if diffs is not None:
    diffs = [
      _integer(d, f"{path}.difficulties[{i}]", low=1)
      for i, d in enumerate(_list(diffs, f"{path}.difficulties"))
    ]
    if not diffs:
      raise ConfigError(f"{path}.difficulties", "must name at least one difficulty.")
  try:
    return T.make_tasks(kind, count, split=split, seed=seed, difficulties=diffs, test_fraction=tf)
  except ValueError as e:
    raise ConfigError(path, str(e)) from None


# --- methods ------------------------------------------------------------------------------------


def _methods(value, spec: CoordinationSpec) -> Tuple[MethodConfig, ...]:
  if value is None:
    raise ConfigError("methods", "missing: name at least one method (e.g. dice-pc).")
  raw = _mapping(value, "methods")
  if not raw:
    raise ConfigError("methods", "must name at least one method.")
  out = []
  for label, opts in raw.items():
    path = f"methods.{label}"
    if not _LABEL.match(label):
      raise ConfigError(
        path, "a method label must be letters, digits, '-', '_' or '.' (it names a folder)."
      )
    opts = {} if opts is None else _mapping(opts, path)
    method = opts.get("method", label)
    if method not in METHOD_NAMES:
      where = f"{path}.method" if "method" in opts else path
      raise ConfigError(
        where,
        f"unknown method {method!r}; methods are "
        f"{', '.join(METHOD_NAMES)} (or set method: for a custom label).",
      )
    _mapping(opts, path, ("method",) + _METHOD_OPTIONS[method])
    kwargs, match = _method_kwargs(method, opts, path, spec)
    options = {k: v for k, v in opts.items() if k != "method"}
    out.append(MethodConfig(label, method, kwargs, match, options))
  labels = [m.label for m in out]
  for m in out:
    if m.match is not None:
      target = next((x for x in out if x.label == m.match), None)
      if target is None:
        raise ConfigError(
          f"methods.{m.label}.match",
          f"unknown method label {m.match!r}; labels are {', '.join(labels)}.",
        )
      if target.method == "best-of-n":
        raise ConfigError(
          f"methods.{m.label}.match",
          "must name a method that plays joint actions, not another best-of-n.",
        )
  # validate every policy against the spec now (shapes), without playing a round
  for m in out:
    try:
      p = m.build(token_budget=1.0)
      p.reset(spec, np.random.default_rng(0))
    except ValueError as e:
      raise ConfigError(f"methods.{m.label}", str(e)) from None
  return tuple(sorted(out, key=lambda m: m.match is not None))


def _method_kwargs(method, opts, path, spec):
  kw: Dict[str, Any] = {}
  match = None
  if method in ("dice-pc", "fictitious-play", "best-response"):
    post = {}
    if "prior" in opts:
      prior = _mapping(opts["prior"], f"{path}.prior", _PRIOR)
      for k, v in prior.items():
        low_open = k in ("alpha0", "beta0")
        if k == "token_prior" and isinstance(v, (list, tuple)):
          if len(v) != spec.num_roles:
            raise ConfigError(
              f"{path}.prior.token_prior",
              f"needs one value per role ({spec.num_roles}); got {len(v)}.",
            )
          post[k] = [_number(x, f"{path}.prior.token_prior[{i}]", low=0.0) for i, x in enumerate(v)]
        else:
          post[k] = _number(v, f"{path}.prior.{k}", low=0.0, low_open=low_open)
    if "forgetting" in opts:
      post["discount"] = _number(
        opts["forgetting"], f"{path}.forgetting", low=0.0, low_open=True, high=1.0
      )
    if post:
      kw["posterior"] = post
  if method == "dice-pc":
    kw["temperature"] = _temperature(opts.get("temperature", 1.0), f"{path}.temperature", spec)
    if opts.get("final_temperature") is not None:
      kw["final_temperature"] = _temperature(
        opts["final_temperature"], f"{path}.final_temperature", spec
      )
    if "margin" in opts:
      kw["margin"] = _number(opts["margin"], f"{path}.margin", low=0.0, low_open=True)
    if opts.get("reference") is not None:
      kw["reference"] = list(_reference(opts["reference"], f"{path}.reference", spec))
    if "sampling" in opts:
      kw["sampling"] = _text(opts["sampling"], f"{path}.sampling", ("mean", "thompson"))
    if "solver" in opts:
      from dice_jax.solvers import METHODS  # noqa: PLC0415

      kw["method"] = _text(opts["solver"], f"{path}.solver", sorted(METHODS))
    if opts.get("tol") is not None:
      kw["tol"] = _number(opts["tol"], f"{path}.tol", low=0.0, low_open=True)
    if "certify" in opts:
      kw["certify"] = _boolean(opts["certify"], f"{path}.certify")
    if "magnet" in opts:
      kw["magnet"] = _number(opts["magnet"], f"{path}.magnet", low=0.0, high=1.0, high_open=True)
    for k in ("magnet_warmup", "magnet_window"):
      if k in opts:
        kw[k] = _integer(opts[k], f"{path}.{k}", low=0 if k == "magnet_warmup" else 1)
  elif method == "exp3":
    if "gamma" in opts:
      kw["gamma"] = _number(opts["gamma"], f"{path}.gamma", low=0.0, low_open=True, high=1.0)
  elif method == "best-of-n":
    given = [k for k in ("n", "token_budget", "match") if k in opts]
    if len(given) != 1:
      raise ConfigError(
        path, f"best-of-n needs exactly one of n, token_budget, match; got {given or 'none'}."
      )
    if "n" in opts:
      kw["n"] = _integer(opts["n"], f"{path}.n", low=1)
    elif "token_budget" in opts:
      kw["token_budget"] = _number(
        opts["token_budget"], f"{path}.token_budget", low=0.0, low_open=True
      )
    else:
      match = _text(opts["match"], f"{path}.match")
  return kw, match


def _per_role(value, path, spec) -> np.ndarray:
  """``[N]`` from a number, a list (role order) or ``{role: number}`` naming every role."""
  n = spec.num_roles
  if isinstance(value, Mapping):
    m = _mapping(value, path)
    for k in m:
      if k not in spec.roles:
        raise ConfigError(_join(path, k), f"unknown role; roles are {', '.join(spec.roles)}.")
    missing = [r for r in spec.roles if r not in m]
    if missing:
      raise ConfigError(path, f"missing roles {missing} (name every role, or give one number).")
    return np.array([_number(m[r], _join(path, r), low=0.0, low_open=True) for r in spec.roles])
  if isinstance(value, (list, tuple)):
    if len(value) != n:
      raise ConfigError(
        path, f"needs one value per role ({n}: {', '.join(spec.roles)}); got {len(value)}."
      )
    return np.array(
      [_number(v, f"{path}[{i}]", low=0.0, low_open=True) for i, v in enumerate(value)]
    )
  return np.full(n, _number(value, path, low=0.0, low_open=True))


def _temperature(value, path, spec) -> np.ndarray:
  """``[S, N]`` temperatures: a number, per role, or ``{state: number | per role}``."""
  if isinstance(value, Mapping) and value and all(k in spec.states for k in value):
    m = _mapping(value, path)
    missing = [s for s in spec.states if s not in m]
    if missing:
      raise ConfigError(
        path, f"missing states {missing} (name every state, or give one value for all)."
      )
    return np.stack([_per_role(m[s], _join(path, s), spec) for s in spec.states])
  if isinstance(value, Mapping):
    for k in value:
      if k not in spec.roles:
        raise ConfigError(
          _join(path, k),
          f"unknown role or state; roles are "
          f"{', '.join(spec.roles)}, states are "
          f"{', '.join(spec.states)}.",
        )
  return np.broadcast_to(_per_role(value, path, spec), (spec.num_states, spec.num_roles)).copy()


def _distribution(value, path, controls) -> np.ndarray:
  if isinstance(value, Mapping):
    m = _mapping(value, path)
    for k in m:
      if k not in controls:
        raise ConfigError(_join(path, k), f"unknown control; controls are {', '.join(controls)}.")
    missing = [c for c in controls if c not in m]
    if missing:
      raise ConfigError(path, f"missing controls {missing} (give every control a weight > 0).")
    w = np.array([_number(m[c], _join(path, c), low=0.0, low_open=True) for c in controls])
  else:
    v = _list(value, path)
    if len(v) != len(controls):
      raise ConfigError(
        path,
        f"needs one weight per control ({len(controls)}: {', '.join(controls)}); got {len(v)}.",
      )
    w = np.array([_number(x, f"{path}[{i}]", low=0.0, low_open=True) for i, x in enumerate(v)])
  return w / w.sum()


def _reference(value, path, spec) -> Tuple[np.ndarray, ...]:
  """Per role ``[S, n_i]`` reference policies from ``{role: weights | {state: weights}}``."""
  m = _mapping(value, path)
  for k in m:
    if k not in spec.roles:
      raise ConfigError(_join(path, k), f"unknown role; roles are {', '.join(spec.roles)}.")
  out = []
  for r, controls in zip(spec.roles, spec.controls):
    rp = _join(path, r)
    v = m.get(r)
    if v is None:
      out.append(np.full((spec.num_states, len(controls)), 1.0 / len(controls)))
    elif isinstance(v, Mapping) and v and all(k in spec.states for k in v):
      missing = [s for s in spec.states if s not in v]
      if missing:
        raise ConfigError(
          rp, f"missing states {missing} (name every state, or give one distribution for all)."
        )
      out.append(np.stack([_distribution(v[s], _join(rp, s), controls) for s in spec.states]))
    else:
      d = _distribution(v, rp, controls)
      out.append(np.broadcast_to(d, (spec.num_states, len(controls))).copy())
  return tuple(out)


def _target(evaluation, methods, spec):
  """The evaluation temperature ``[S, N]`` and reference (default: the first dice-pc's)."""
  first = next((m for m in methods if m.method == "dice-pc"), None)
  if "temperature" in evaluation:
    tau = _temperature(evaluation["temperature"], "evaluation.temperature", spec)
  elif first is not None:
    tau = np.asarray(first.kwargs.get("final_temperature", first.kwargs["temperature"]))
  else:
    tau = np.ones((spec.num_states, spec.num_roles))
  if "reference" in evaluation:
    ref = _reference(evaluation["reference"], "evaluation.reference", spec)
  elif first is not None and first.kwargs.get("reference") is not None:
    ref = tuple(first.kwargs["reference"])
  else:
    ref = tuple(np.full((spec.num_states, k), 1.0 / k) for k in spec.num_actions)
  return tau, ref
