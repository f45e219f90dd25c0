"""The configuration of ``dice-jax pc run CONFIG``: a YAML or JSON file mapped onto
:class:`~dice_jax.pc.settings.RunConfig`.

The reader only maps: every section goes to the settings type that checks it
(:mod:`dice_jax.pc.settings`, :mod:`dice_jax.rollouts.backends.settings`,
:class:`~dice_jax.rollouts.task_source.TaskSource`,
:class:`~dice_jax.pc.environments.llm.Control`), names of roles, states and controls become
arrays in the game's order, and a bad field comes back as a :class:`ConfigError` (a
``ValueError``) whose message starts with its path, e.g. ``roles.verifier.controls: empty action
set`` or ``methods.dice-pc.temperature: must be > 0``. Every field is checked before any work is
done -- no model is loaded, no server contacted, no round played. The file itself is read by
:func:`dice_jax.rollouts.config_files.read_config_file` (UTF-8, size, nesting depth and
duplicate keys checked, naming file and line).

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
      # max_tokens_cap: 32          #   optional max_tokens_cap, best_of_n_control and
      # sample_draws: 1             #   sample_draws (a finite sample pool per task and control)
    roles:                          # role -> its prompt controls (the actions) and token cost
      solver:
        controls: [direct, step_by_step]   # llm: names of dice_jax.pc.environments.llm.CONTROLS[role],
        token_cost: 5.0e-4                 #   "<name>@<backend>", or {name: {instruction, n,
      aggregator: [first, vote]            #   temperature, max_tokens, model, stop}} for a new
                                           #   one (dice_jax.pc.environments.llm.Control)
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
      # model: smollm2              #   retries, backoff, max_backoff, max_concurrency, top_p
                                    # (dice_jax.rollouts.backends.settings)
    methods:                        # label -> options; ``method:`` defaults to the label. The
                                    #   options are the policy's keyword arguments (solver for
                                    #   method, prior and forgetting for posterior), so a new
                                    #   policy option needs no change here
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
        magnet_window: 1            #   last magnet_window rounds; also magnet_target,
                                    #   magnet_schedule (dice_jax.pc.DICEPC)
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

import json
import os
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from dice_jax.pc.environments.llm import Control
from dice_jax.pc.environments.spec import CoordinationSpec, Role
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
from dice_jax.pc.policies.policies import POLICIES
from dice_jax.rollouts.backends.settings import LocalSettings, OpenAISettings
from dice_jax.rollouts.config_files import (
  ConfigError,
  build,
  existing_path,
  field_error,
  join,
  listing,
  mapping,
  number,
  read_config_file,
)
from dice_jax.rollouts.config_files import text as text_field
from dice_jax.rollouts.task_source import TaskSource

__all__ = ["ConfigError", "MethodConfig", "RunConfig", "load_config", "parse_config"]

ENVIRONMENT_KINDS = ("synthetic", "llm")
BACKENDS = {"local": LocalSettings, "openai": OpenAISettings}
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
_LLM_ENV = ("max_tokens_cap", "best_of_n_control", "sample_draws")
_REQUIRED = {
  "budget": "give budget.rounds and budget.batch_size",
  "environment": "give environment.kind (synthetic or llm)",
  "methods": "name at least one method (e.g. dice-pc)",
}


def load_config(path: str | os.PathLike) -> RunConfig:
  """Read and map a config file (``.json``: JSON; otherwise YAML).

  Raises:
    ConfigError: the file is missing, unreadable, too large, too deeply nested, has duplicate
      keys, or any field is invalid (the message names the file and line or the field's path).
  """
  path = os.fspath(path)
  data, text_ = read_config_file(path)
  return parse_config(data, base_dir=os.path.dirname(os.path.abspath(path)), path=path, text=text_)


def parse_config(
  data: Mapping[str, Any],
  *,
  base_dir: str = ".",
  path: Optional[str] = None,
  text: Optional[str] = None,
) -> RunConfig:
  """Map a config given as a mapping (what :func:`load_config` parsed) onto a :class:`RunConfig`.

  Args:
    data: the configuration (module docstring).
    base_dir: the folder relative dataset and model paths are resolved against.
    path, text: the file it came from, recorded in the results.

  Raises:
    ConfigError: naming the field's path.
  """
  top = mapping(data, "", _TOP) if data is not None else {}
  if not top:
    raise ConfigError("", "the config is empty; it needs at least environment and methods.")
  for key, what in _REQUIRED.items():
    if key not in top:
      raise ConfigError(key, f"missing: {what}.")
  budget = build(Budget, top["budget"], "budget")
  env_raw = mapping(top["environment"], "environment")
  kind = text_field(env_raw.get("kind"), "environment.kind", ENVIRONMENT_KINDS)
  roles, new_controls, where = _roles(top.get("roles"))
  game_keys = {k: top[k] for k in ("token_cost", "cost_sharing", "states") if k in top}
  try:
    game = GameSettings(roles=roles, **game_keys)
  except ValueError as e:
    raise field_error(e, "", ("roles", *game_keys)) from None
  if kind == "synthetic":
    for k in ("tasks", "backend", "backends"):
      if k in top:
        raise ConfigError(
          k, "only an llm environment takes tasks and backends (this one is synthetic)."
        )
    if new_controls:
      first = next(v for k, v in where.items() if k.startswith("extra_controls."))
      raise ConfigError(first, "a synthetic control is a name, not a definition.")
    options = {k: v for k, v in env_raw.items() if k not in ("kind", "suite")}
    try:
      env = SyntheticSettings(env_raw.get("suite"), options, game)
    except ValueError as e:
      raise _at(e, where, ("suite", *options)) from None
  else:
    env = _llm(
      mapping(env_raw, "environment", ("kind", *_LLM_ENV)), top, game, new_controls, where, base_dir
    )
  methods = mapping(top["methods"], "methods")
  methods = tuple(_method(label, options, env.spec) for label, options in methods.items())
  evaluation = _evaluation(top.get("evaluation"), env.spec)
  seeds = top.get("seeds", [0])
  name = top.get("name", os.path.splitext(os.path.basename(path))[0] if path else "dice-pc")
  try:
    return RunConfig(
      name=name,
      budget=budget,
      env=env,
      methods=methods,
      evaluation=evaluation,
      seeds=[seeds] if isinstance(seeds, int) and not isinstance(seeds, bool) else seeds,
      output=top.get("output"),
      description=top.get("description", ""),
      path=path,
      text=text,
      raw=json.loads(json.dumps(top, default=str)),
    )
  except ValueError as e:
    raise field_error(e, "", _TOP) from None


def _at(error: Exception, where: Mapping[str, str], env_keys) -> ConfigError:
  """An environment's error at its path in the file: ``roles.<r>`` and new controls where the
  file wrote them, the environment's own keys under ``environment``, the rest at
  ``environment``."""
  err = field_error(
    error, "", ("roles", "states", "backends", "tasks", "extra_controls", *env_keys)
  )
  field = err.field
  for prefix, target in where.items():
    if field == prefix or field.startswith((prefix + "[", prefix + ".")):
      return ConfigError(target + field[len(prefix) :], err.message)
  head = field.split(".")[0].split("[")[0]
  if head in env_keys:
    return ConfigError(join("environment", field), err.message)
  return err if field else ConfigError("environment", err.message)


# --- roles --------------------------------------------------------------------------------------


def _roles(
  value,
) -> Tuple[Optional[Dict[str, Role]], Dict[str, Dict[str, Control]], Dict[str, str]]:
  """``(roles, new controls {role: {name: Control}}, where)``: ``where`` maps the paths the
  environments name (``roles.<r>``, ``extra_controls.<r>.<name>``) to the file's."""
  if value is None:
    return None, {}, {}
  roles: Dict[str, Role] = {}
  new: Dict[str, Dict[str, Control]] = {}
  where: Dict[str, str] = {}
  for r, entry in mapping(value, "roles").items():
    rp = join("roles", r)
    if isinstance(entry, Mapping):
      entry, cp = mapping(entry, rp, ("controls", "token_cost")), join(rp, "controls")
    else:
      entry, cp = {"controls": entry}, rp
    where[rp] = cp
    controls = entry.get("controls")
    if isinstance(controls, (list, tuple)):
      names: List[Any] = []
      for i, c in enumerate(controls):
        if isinstance(c, Mapping):
          c = mapping(c, f"{cp}[{i}]")
          if len(c) != 1:
            raise ConfigError(
              f"{cp}[{i}]",
              f"a new control is a mapping with exactly one key, its name; got {sorted(c)}.",
            )
          ((c, settings),) = c.items()
          if c in names:
            raise ConfigError(
              f"{cp}[{i}]",
              f"control {c!r} already exists for role {r!r}; give the new one another name.",
            )
          new.setdefault(r, {})[c] = build(Control, settings, f"{cp}[{i}].{c}")
          where[f"extra_controls.{r}.{c}"] = f"{cp}[{i}]"
        names.append(c)
      entry = {**entry, "controls": names}
    try:
      roles[r] = Role(**entry)
    except (ValueError, TypeError) as e:
      err = field_error(e, rp, ("controls", "token_cost"))
      if err.field.startswith(join(rp, "controls")):
        raise ConfigError(cp + err.field[len(join(rp, "controls")) :], err.message) from None
      raise err from None
  return roles, new, where


# --- llm ----------------------------------------------------------------------------------------


def _llm(env_raw, top, game, new_controls, where, base_dir) -> LLMSettings:
  if "backend" in top and "backends" in top:
    raise ConfigError("backends", "give either backend or backends, not both.")
  if "backends" in top:
    named = {n: (b, join("backends", n)) for n, b in mapping(top["backends"], "backends").items()}
  else:
    named = {"default": (top.get("backend", {}), "backend")}
  backends = {n: _backend(b, p, base_dir) for n, (b, p) in named.items()}
  if "tasks" not in top:
    raise ConfigError("tasks", "missing: an llm environment needs a task source.")
  single = not isinstance(top["tasks"], list)
  sources = [top["tasks"]] if single else top["tasks"]
  if not sources:
    raise ConfigError("tasks", "must give at least one task source.")
  pool = []
  for i, source in enumerate(sources):
    p = "tasks" if single else f"tasks[{i}]"
    source = mapping(source, p)
    if source.get("path") is not None:
      source["path"] = existing_path(source["path"], f"{p}.path", base_dir, "no such dataset file")
    source = build(TaskSource, source, p)
    try:
      pool += source.load()
    except ValueError as e:
      raise field_error(e, p, ("path",)) from None
  options = {k: env_raw[k] for k in _LLM_ENV if k in env_raw}
  try:
    return LLMSettings(backends, tuple(pool), game, new_controls, **options)
  except ValueError as e:
    raise _at(e, where, tuple(options)) from None


def _backend(value, path, base_dir):
  b = mapping({} if value is None else value, path)
  kind = text_field(b.pop("kind", "local"), join(path, "kind"), tuple(BACKENDS))
  if kind == "local" and b.get("model_path") is not None:
    b["model_path"] = existing_path(b["model_path"], join(path, "model_path"), base_dir)
  return build(BACKENDS[kind], b, path)


# --- methods and evaluation ---------------------------------------------------------------------


def _method(label: str, value, spec: CoordinationSpec) -> MethodConfig:
  path = join("methods", label)
  given = {} if value is None else mapping(value, path)
  method = given.get("method", label)
  options = {k: v for k, v in given.items() if k not in ("method", "match")}
  known = method_options(method) if isinstance(method, str) and method in POLICIES else ()
  for k, resolve in (
    ("temperature", _temperatures),
    ("final_temperature", _temperatures),
    ("reference", _references),
  ):
    if k in known and options.get(k) is not None:
      options[k] = resolve(options[k], join(path, k), spec)
  try:
    return MethodConfig(label, method, options, given.get("match"))
  except (ValueError, TypeError) as e:
    raise field_error(e, path, list(given)) from None


def _evaluation(value, spec: CoordinationSpec) -> Evaluation:
  ev = mapping(
    {} if value is None else value,
    "evaluation",
    ("temperature", "reference", "monotonicity", "num_bootstrap"),
  )
  if ev.get("temperature") is not None:
    ev["temperature"] = _temperatures(ev["temperature"], "evaluation.temperature", spec)
  if ev.get("reference") is not None:
    ev["reference"] = _references(ev["reference"], "evaluation.reference", spec)
  return build(Evaluation, ev, "evaluation")


# --- names of roles, states and controls onto arrays --------------------------------------------


def _named(value, path, names, what, hint) -> List[Tuple[str, Any]]:
  """``[(path, value)]`` in ``names`` order from ``{name: value}`` naming every name."""
  m = mapping(value, path)
  for k in m:
    if k not in names:
      raise ConfigError(join(path, k), f"unknown {what}; {what}s are {', '.join(names)}.")
  missing = [n for n in names if n not in m]
  if missing:
    raise ConfigError(path, f"missing {what}s {missing} ({hint}).")
  return [(join(path, n), m[n]) for n in names]


def _per_role(value, path, spec) -> List[float]:
  """One number per role: a number, a list in role order, or ``{role: number}``."""
  if isinstance(value, Mapping):
    items = _named(value, path, spec.roles, "role", "name every role, or give one number")
  elif isinstance(value, (list, tuple)):
    if len(value) != spec.num_roles:
      raise ConfigError(
        path,
        f"needs one value per role ({spec.num_roles}: {', '.join(spec.roles)}); got {len(value)}.",
      )
    items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
  else:
    items = [(path, value)] * spec.num_roles
  return [number(v, p) for p, v in items]


def _temperatures(value, path, spec) -> np.ndarray:
  """``[S, N]`` from one number, one per role, or ``{state: one number or one per role}``."""
  if isinstance(value, Mapping) and value and all(k in spec.states for k in value):
    hint = "name every state, or give one value for all"
    items = _named(value, path, spec.states, "state", hint)
    return np.array([_per_role(v, p, spec) for p, v in items])
  if isinstance(value, Mapping):
    for k in value:
      if k not in spec.roles:
        raise ConfigError(
          join(path, k),
          f"unknown role or state; roles are {', '.join(spec.roles)}, states are "
          f"{', '.join(spec.states)}.",
        )
  return np.tile(_per_role(value, path, spec), (spec.num_states, 1))


def _weights(value, path, controls) -> np.ndarray:
  """A distribution from weights ``> 0``: a list in control order or ``{control: weight}``."""
  if isinstance(value, Mapping):
    items = _named(value, path, controls, "control", "give every control a weight > 0")
  else:
    v = listing(value, path)
    if len(v) != len(controls):
      raise ConfigError(
        path,
        f"needs one weight per control ({len(controls)}: {', '.join(controls)}); got {len(v)}.",
      )
    items = [(f"{path}[{i}]", x) for i, x in enumerate(v)]
  w = np.array([number(x, p, low=0.0, low_open=True) for p, x in items])
  return w / w.sum()


def _references(value, path, spec) -> Tuple[np.ndarray, ...]:
  """Per role ``[S, n_i]`` from ``{role: weights | {state: weights}}`` (roles left out: uniform)."""
  m = mapping(value, path)
  for k in m:
    if k not in spec.roles:
      raise ConfigError(join(path, k), f"unknown role; roles are {', '.join(spec.roles)}.")
  out = []
  for r, controls in zip(spec.roles, spec.controls):
    rp, v = join(path, r), m.get(r)
    if v is None:
      v = [1.0] * len(controls)
    if isinstance(v, Mapping) and v and all(k in spec.states for k in v):
      hint = "name every state, or give one distribution for all"
      items = _named(v, rp, spec.states, "state", hint)
      out.append(np.stack([_weights(x, p, controls) for p, x in items]))
    else:
      out.append(np.tile(_weights(v, rp, controls), (spec.num_states, 1)))
  return tuple(out)
