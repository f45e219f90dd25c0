"""The settings of a DICE-PC run (``dice-jax pc run CONFIG``), one frozen type per component.

Each type checks its own fields when it is built -- in Python or from a config file -- and
raises ``ValueError`` whose message starts with the field (``rounds must be an integer >= 1``);
:mod:`dice_jax.pc.config` only maps a file onto them and prefixes the path. Where a constructor
already checks a value, the settings type delegates to it once instead of checking again:

* :class:`Budget` -- rounds and tasks per round.
* :class:`GameSettings` -- the roles (:class:`~dice_jax.pc.environments.spec.Role`: controls and
  token cost), the default token cost, cost sharing and state names.
* :class:`SyntheticSettings` -- a synthetic suite and its parameters; checked by calling the
  suite (:mod:`dice_jax.pc.environments.synthetic`).
* :class:`LLMSettings` -- the arguments of :class:`~dice_jax.pc.environments.llm.LLMEnvironment`
  (backends as :class:`~dice_jax.rollouts.backends.settings.LocalSettings` /
  :class:`~dice_jax.rollouts.backends.settings.OpenAISettings`, the task pool, new controls);
  checked by building the environment over backends that load nothing until first used.
* :class:`MethodConfig` -- one method: its policy's keyword options, picked up from the policy's
  signature (a new policy option needs no change here); checked by building the policy.
* :class:`Evaluation` -- where equilibrium regret is measured, and the diagnostics.
* :class:`RunConfig` -- all of them with the name, seeds and output folder; it checks what spans
  components (every method against the game, a best-of-n ``match``, the suite's payoffs over the
  budget's rounds).

Messages of checks that span components name the full path and come as a
:class:`~dice_jax.rollouts.config_files.ConfigError` (a ``ValueError``) whose ``field`` says it.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import numpy as np

from dice_jax.pc import checks
from dice_jax.pc.environments.llm import DEFAULT_ROLES, ROLES, Control, LLMEnvironment
from dice_jax.pc.environments.spec import CoordinationSpec, Role
from dice_jax.pc.environments.synthetic import drift_suite, oscillation_suite
from dice_jax.pc.policies.policies import POLICIES
from dice_jax.pc.posterior.beta_bernoulli import PayoffPosterior
from dice_jax.rollouts import fields
from dice_jax.rollouts.backends.settings import LazyBackend, LocalSettings, OpenAISettings
from dice_jax.rollouts.config_files import ConfigError, field_error
from dice_jax.rollouts.payoffs import SHARING, cost_per_token
from dice_jax.rollouts.tasks import Task
from dice_jax.rollouts.temperatures import positive_array

__all__ = [
  "Budget",
  "Evaluation",
  "GameSettings",
  "LLMSettings",
  "MethodConfig",
  "RunConfig",
  "SUITES",
  "SyntheticSettings",
]

MAX_ROUNDS = 10_000_000  # budget.rounds
MAX_BATCH = 1_000_000  # budget.batch_size
SUITES = {"oscillation": oscillation_suite, "drift": drift_suite}
_SUITE_FIXED = ("num_roles", "num_actions", "token_cost", "seed")  # set from the game / per run
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _set(obj, name, value):
  object.__setattr__(obj, name, value)


@dataclasses.dataclass(frozen=True)
class Budget:
  """``rounds`` per run and ``batch_size`` tasks per round (integers ``>= 1``)."""

  rounds: int
  batch_size: int

  def __post_init__(self):
    _set(self, "rounds", fields.integer("rounds", self.rounds, low=1, high=MAX_ROUNDS))
    _set(self, "batch_size", fields.integer("batch_size", self.batch_size, low=1, high=MAX_BATCH))


@dataclasses.dataclass(frozen=True)
class GameSettings:
  """The game every method plays, as far as the run (not the environment) sets it.

  Attributes:
    roles: ``{role: Role}`` in order (``None``: the environment's own roles).
    token_cost: cost per token of roles whose :class:`Role` gives none (``>= 0``; ``None``: the
      environment's default).
    cost_sharing: ``"team"`` or ``"own"``.
    states: the state names (``None``: the environment's).
  """

  roles: Optional[Mapping[str, Role]] = None
  token_cost: Optional[float] = None
  cost_sharing: str = "team"
  states: Optional[Tuple[str, ...]] = None

  def __post_init__(self):
    if self.roles is not None:
      if not isinstance(self.roles, Mapping) or not self.roles:
        raise ValueError(f"roles must name at least one role; got {self.roles!r}.")
      for r, role in self.roles.items():
        fields.instance(f"roles.{r}", role, Role)
      _set(self, "roles", dict(self.roles))
    if self.token_cost is not None:
      _set(self, "token_cost", cost_per_token("token_cost", self.token_cost))
    fields.choice("cost_sharing", self.cost_sharing, SHARING)
    if self.states is not None:
      _set(self, "states", fields.names("states", self.states))

  def costs(self, roles, default: float) -> Tuple[float, ...]:
    """Per role of ``roles`` its cost per token (its own, else the run's, else ``default``)."""
    base = default if self.token_cost is None else self.token_cost
    own = self.roles or {}
    return tuple(
      base if own.get(r) is None or own[r].token_cost is None else own[r].token_cost for r in roles
    )


@dataclasses.dataclass(frozen=True)
class SyntheticSettings:
  """A synthetic suite (:data:`SUITES`) with ``options``: any keyword parameter of the suite
  function except ``num_roles``, ``num_actions``, ``token_cost`` and ``seed`` (one number, or a
  list of numbers where the parameter takes one per state). ``game`` renames roles, controls and
  states and sets token costs; the suite gives every role the same number of controls.

  Checked by calling the suite once; ``spec`` is the game it plays.
  """

  suite: str
  options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  game: GameSettings = GameSettings()
  spec: CoordinationSpec = dataclasses.field(init=False, repr=False)

  @staticmethod
  def parameters(suite: str) -> Dict[str, Any]:
    """The configurable parameters of ``suite`` and their defaults."""
    sig = inspect.signature(SUITES[suite]).parameters
    return {k: p.default for k, p in sig.items() if k not in _SUITE_FIXED}

  def __post_init__(self):
    fields.choice("suite", self.suite, tuple(SUITES))
    params = self.parameters(self.suite)
    options = {}
    for k, v in dict(self.options).items():
      if k not in params:
        raise ValueError(
          f"{k}: unknown key for the {self.suite} suite; known keys: kind, suite, "
          f"{', '.join(params)}."
        )
      if isinstance(params[k], (list, tuple)):  # one number per state
        v = fields.sequence(k, v, of="numbers (one per state)", one="number")
        options[k] = [fields.real(f"{k}[{i}]", x) for i, x in enumerate(v)]
      else:
        options[k] = fields.real(k, v)
    game = self.game
    if game.roles is not None:
      roles = game.roles
      k = len(next(iter(roles.values())).controls)
      for r, role in roles.items():
        if len(role.controls) != k:
          raise ConfigError(
            f"roles.{r}",
            f"a synthetic suite gives every role the same number of controls ({k}, as the "
            f"first role); got {len(role.controls)}.",
          )
      if len(roles) < 2:
        raise ConfigError("roles", f"a synthetic suite needs at least 2 roles; got {len(roles)}.")
      options.update(num_roles=len(roles), num_actions=k)
    _set(self, "options", options)
    probe = self._call(seed=0)
    names = tuple(game.roles) if game.roles else probe.spec.roles
    controls = tuple(r.controls for r in game.roles.values()) if game.roles else probe.spec.controls
    states = probe.spec.states
    if game.states is not None:
      if len(game.states) != len(states):
        raise ConfigError(
          "states",
          f"the {self.suite} suite has {len(states)} states (one per entry of environment.off); "
          f"got {len(game.states)} names.",
        )
      states = game.states
    spec = CoordinationSpec(
      roles=names,
      controls=controls,
      states=states,
      token_cost=game.costs(names, 0.0 if game.roles else probe.spec.token_cost[0]),
      cost_sharing=game.cost_sharing,
    )
    _set(self, "spec", spec)

  def _call(self, seed: int):
    try:
      return SUITES[self.suite](**self.options, seed=int(seed))
    except TypeError as e:
      raise ValueError(str(e)) from None

  @property
  def label(self) -> str:
    """``"synthetic/<suite>"`` (what the results record as the environment)."""
    return f"synthetic/{self.suite}"

  def check_rounds(self, rounds: int) -> None:
    """The suite's success probabilities lie in ``[0, 1]`` and its tokens are ``>= 0`` in 33
    rounds spread over ``0 .. rounds - 1``."""
    env = self._call(seed=0)
    for t in sorted({int(t) for t in np.linspace(0, rounds - 1, 33)}):
      success, tokens = env.true_payoffs(t)
      if np.any((success < 0) | (success > 1)) or np.any(tokens < 0):
        raise ValueError(
          f"the {self.suite} suite's success probabilities must lie in [0, 1] and its tokens be "
          f">= 0 in every round; round {t} has success in [{success.min():g}, "
          f"{success.max():g}] and tokens >= {tokens.min():g}."
        )

  def build(self, seed: int):
    """The environment of run seed ``seed`` (rollout noise seeded by it)."""
    env = self._call(seed)
    env.spec = self.spec  # the configured names, per-role costs and cost sharing
    return env

  def close(self) -> None:
    """Nothing to close (a synthetic suite holds no connection)."""


@dataclasses.dataclass(frozen=True)
class LLMSettings:
  """The arguments of :class:`~dice_jax.pc.environments.llm.LLMEnvironment`: ``backends``
  (``{name: LocalSettings | OpenAISettings}`` with a ``"default"``), the task pool ``tasks``,
  ``game`` (roles and their controls, costs, states: the tasks' states), ``extra_controls``
  (``{role: {name: Control}}``), ``max_tokens_cap``, ``best_of_n_control`` and ``sample_draws``.

  Checked by building the environment once over :class:`LazyBackend` s (no model is loaded, no
  server contacted); the backends are created on first use and shared by every seed.
  """

  backends: Mapping[str, Union[LocalSettings, OpenAISettings]]
  tasks: Tuple[Task, ...]
  game: GameSettings = GameSettings()
  extra_controls: Mapping[str, Mapping[str, Control]] = dataclasses.field(default_factory=dict)
  max_tokens_cap: Optional[int] = None
  best_of_n_control: str = "step_by_step"
  sample_draws: Optional[int] = None
  spec: CoordinationSpec = dataclasses.field(init=False, repr=False)
  lazy: Mapping[str, LazyBackend] = dataclasses.field(init=False, repr=False)

  def __post_init__(self):
    if not isinstance(self.backends, Mapping) or not self.backends:
      raise ValueError("backends must name at least one backend.")
    _set(self, "lazy", {n: LazyBackend(b, n) for n, b in self.backends.items()})
    _set(self, "tasks", tuple(self.tasks))
    env = self.build(seed=0)
    if self.game.states is not None and sorted(self.game.states) != sorted(env.spec.states):
      raise ValueError(
        f"states must equal the tasks' states {list(env.spec.states)}; got {list(self.game.states)}."
      )
    _set(self, "spec", env.spec)

  @property
  def label(self) -> str:
    """``"llm"``."""
    return "llm"

  def check_rounds(self, rounds: int) -> None:
    """Nothing depends on the round (real models have no payoffs to check)."""

  def build(self, seed: int) -> LLMEnvironment:
    """The environment of run seed ``seed`` over the shared backends."""
    game = self.game
    roles = None if game.roles is None else {r: role.controls for r, role in game.roles.items()}
    order = [r for r in ROLES if r in (DEFAULT_ROLES if roles is None else roles)]
    return LLMEnvironment(
      dict(self.lazy),
      list(self.tasks),
      roles=roles,
      token_cost=game.costs(order, 0.0),
      cost_sharing=game.cost_sharing,
      extra_controls=self.extra_controls,
      max_tokens_cap=self.max_tokens_cap,
      seed=int(seed),
      best_of_n_control=self.best_of_n_control,
      sample_draws=self.sample_draws,
    )

  def close(self) -> None:
    """Close the backends that were created."""
    for b in self.lazy.values():
      b.close()


# --- methods ------------------------------------------------------------------------------------

# option names a config uses for a policy's keyword arguments
_RENAMED = {"solver": "method", "forgetting": "discount"}
_POSTERIOR = [p for p in inspect.signature(PayoffPosterior).parameters if p != "spec"]


@functools.lru_cache(maxsize=None)
def method_options(method: str) -> Tuple[str, ...]:
  """The options of method ``method``: its policy's keyword arguments, as a config names them
  (``solver`` for ``method``; ``prior`` and ``forgetting`` for the payoff posterior; ``match``
  for best-of-n)."""
  out = []
  for p in inspect.signature(POLICIES[method]).parameters:
    if p == "posterior":
      out += ["prior", "forgetting"]
    else:
      out.append({v: k for k, v in _RENAMED.items()}.get(p, p))
  return tuple(out) + (("match",) if method == "best-of-n" else ())


@dataclasses.dataclass(frozen=True)
class MethodConfig:
  """One entry of ``methods``.

  Attributes:
    label: the folder name (letters, digits, ``-``, ``_``, ``.``).
    method: a name in :data:`dice_jax.pc.policies.policies.POLICIES`.
    options: the policy's options by :func:`method_options` names (temperatures and references
      already as arrays in the game's role and state order).
    match: best-of-n only: the label whose measured tokens per task set the budget.

  Checked by building the policy (its constructor checks its arguments); :meth:`check` also
  resets it on a game (shapes, the posterior's prior).
  """

  label: str
  method: str
  options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  match: Optional[str] = None

  def __post_init__(self):
    if not isinstance(self.label, str) or not _LABEL.match(self.label):
      raise ValueError(
        f"label: a method label must be letters, digits, '-', '_' or '.' (it names a folder); "
        f"got {self.label!r}."
      )
    if not isinstance(self.method, str) or self.method not in POLICIES:
      raise ValueError(
        f"method: unknown method {self.method!r}; methods are {', '.join(POLICIES)} (or set "
        "method: for a custom label)."
      )
    known = method_options(self.method)
    for k in self.options:
      if k not in known or k == "match":
        raise ValueError(f"{k}: unknown key; known keys: method, {', '.join(known)}.")
    prior = self.options.get("prior")
    if prior is not None:
      if not isinstance(prior, Mapping):
        raise ValueError(f"prior must be a mapping; got {prior!r}.")
      for k in prior:
        if k not in _POSTERIOR or k == "discount":
          raise ValueError(
            f"prior.{k}: unknown key; known keys: "
            f"{', '.join(p for p in _POSTERIOR if p != 'discount')}."
          )
    if self.match is not None:
      if self.method != "best-of-n":
        raise ValueError(f"match: unknown key; known keys: method, {', '.join(known)}.")
      if not isinstance(self.match, str) or not self.match:
        raise ValueError(f"match must be a method label; got {self.match!r}.")
      if {"n", "token_budget"} & set(self.options):
        raise ValueError("give exactly one of n, token_budget and match.")
    _set(self, "options", dict(self.options))
    self._policy(1.0 if self.match is not None else None)

  @property
  def kwargs(self) -> Dict[str, Any]:
    """The policy constructor's keyword arguments."""
    kw: Dict[str, Any] = {}
    posterior = dict(self.options.get("prior") or {})
    for k, v in self.options.items():
      if k == "forgetting":
        posterior["discount"] = v
      elif k != "prior":
        kw[_RENAMED.get(k, k)] = v
    if posterior:
      kw["posterior"] = posterior
    return kw

  def _error(self, e: Exception) -> ConfigError:
    """``e`` of the policy (or its posterior) at the option it names."""
    msg = str(e)
    head = re.match(r"[A-Za-z_][A-Za-z0-9_]*", msg)
    head = head.group(0) if head else ""
    option = {v: k for k, v in _RENAMED.items()}.get(head, head)
    if head in _POSTERIOR and head != "discount":
      option = f"prior.{head}"
    return field_error(type(e)(option + msg[len(head) :]), "", list(self.options))

  def _policy(self, token_budget):
    from dice_jax.pc.policies.policies import make_policy  # noqa: PLC0415

    kwargs = self.kwargs
    if self.match is not None:
      kwargs["token_budget"] = token_budget
    try:
      return make_policy(self.method, **kwargs)
    except (ValueError, TypeError) as e:
      raise self._error(e) from None

  def build(self, token_budget: Optional[float] = None):
    """A fresh policy (``token_budget`` is required for a ``match`` best-of-n)."""
    if self.match is not None and (token_budget is None or not token_budget > 0):
      raise ValueError(
        f"methods.{self.label}.match: the matched method {self.match!r} "
        f"measured no tokens per task ({token_budget!r})."
      )
    return self._policy(token_budget)

  def check(self, spec: CoordinationSpec) -> None:
    """Reset a fresh policy on ``spec`` (shapes against the game; the posterior's prior)."""
    policy = self._policy(1.0 if self.match is not None else None)
    try:
      policy.reset(spec, np.random.default_rng(0))
    except ValueError as e:
      raise self._error(e) from None


@dataclasses.dataclass(frozen=True)
class Evaluation:
  """Where equilibrium regret and distance are measured: ``temperature`` ``[S, N]`` (``> 0``)
  and ``reference`` (per role ``[S, n_i]`` distributions), ``None`` for the first DICE-PC
  method's; ``monotonicity``: compute the rollout monotonicity diagnostic; ``num_bootstrap``
  ``>= 1`` resamples of its interval."""

  temperature: Optional[np.ndarray] = None
  reference: Optional[Tuple[np.ndarray, ...]] = None
  monotonicity: bool = True
  num_bootstrap: int = 100

  def __post_init__(self):
    if self.temperature is not None:
      _set(self, "temperature", positive_array(self.temperature, "temperature"))
    if self.reference is not None:
      _set(
        self,
        "reference",
        tuple(checks.distribution(r, f"reference[{i}]") for i, r in enumerate(self.reference)),
      )
    _set(self, "monotonicity", fields.flag("monotonicity", self.monotonicity))
    _set(self, "num_bootstrap", fields.integer("num_bootstrap", self.num_bootstrap, low=1))


# --- the run ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RunConfig:
  """A whole ``dice-jax pc run`` configuration.

  Attributes:
    name, description: labels.
    budget: rounds and tasks per round.
    env: the environment's settings (:class:`SyntheticSettings` or :class:`LLMSettings`).
    methods: the methods, in run order (a best-of-n ``match`` after the method it matches).
    evaluation: the evaluation target and diagnostics.
    seeds: one run per method and seed (distinct integers ``>= 0``).
    output: the results folder (``None``: ``dice-jax pc run --out`` must give one).
    path, text, raw: the file it was read from, its contents and the parsed configuration
      (JSON-ready; what the results folder records).
  """

  name: str
  budget: Budget
  env: Union[SyntheticSettings, LLMSettings]
  methods: Tuple[MethodConfig, ...]
  evaluation: Evaluation = Evaluation()
  seeds: Tuple[int, ...] = (0,)
  output: Optional[str] = None
  description: str = ""
  path: Optional[str] = None
  text: Optional[str] = None
  raw: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)

  def __post_init__(self):
    for f, cls in (
      ("budget", Budget),
      ("env", (SyntheticSettings, LLMSettings)),
      ("evaluation", Evaluation),
    ):
      fields.instance(f, getattr(self, f), cls)
    fields.run_labels(self.name, self.description, self.output)
    seeds = fields.sequence("seeds", self.seeds, of="integers", one="seed")
    seeds = tuple(fields.integer(f"seeds[{i}]", s) for i, s in enumerate(seeds))
    if len(set(seeds)) != len(seeds):
      raise ValueError(f"seeds must be distinct; got {list(seeds)}.")
    _set(self, "seeds", seeds)
    self._check_methods()
    try:
      self.env.check_rounds(self.budget.rounds)
    except ValueError as e:
      raise ConfigError("environment", str(e)) from None
    spec = self.spec
    try:
      checks.temperatures(self.temperature, spec, "temperature")
      checks.references(list(self.reference), spec, "reference")
    except ValueError as e:
      raise field_error(e, "evaluation", ("temperature", "reference")) from None

  def _check_methods(self):
    methods = tuple(self.methods)
    if not methods or not all(isinstance(m, MethodConfig) for m in methods):
      raise ValueError("methods must name at least one method (MethodConfig).")
    labels = [m.label for m in methods]
    if len(set(labels)) != len(labels):
      raise ValueError(f"methods: labels must be distinct; got {labels}.")
    for m in methods:
      path = f"methods.{m.label}"
      if m.match is not None:
        target = next((x for x in methods if x.label == m.match), None)
        if target is None:
          raise ConfigError(
            f"{path}.match", f"unknown method label {m.match!r}; labels are {', '.join(labels)}."
          )
        if target.method == "best-of-n":
          raise ConfigError(
            f"{path}.match", "must name a method that plays joint actions, not another best-of-n."
          )
      try:
        m.check(self.env.spec)
      except ValueError as e:
        raise field_error(e, path, ()) from None
    # a best-of-n that matches another method's tokens runs after it
    _set(self, "methods", tuple(sorted(methods, key=lambda m: m.match is not None)))

  # -- derived ----------------------------------------------------------------------------------

  @property
  def spec(self) -> CoordinationSpec:
    """The coordination game (roles, controls, states, costs) every method plays."""
    return self.env.spec

  @property
  def environment(self) -> str:
    """``"synthetic/oscillation"``, ``"synthetic/drift"`` or ``"llm"``."""
    return self.env.label

  @property
  def rounds(self) -> int:
    """Rounds per run (``budget.rounds``)."""
    return self.budget.rounds

  @property
  def batch_size(self) -> int:
    """Tasks per round (``budget.batch_size``)."""
    return self.budget.batch_size

  @property
  def monotonicity(self) -> bool:
    """Whether the harness computes the rollout monotonicity diagnostic."""
    return self.evaluation.monotonicity

  @property
  def num_bootstrap(self) -> int:
    """Bootstrap resamples of the monotonicity diagnostic's interval."""
    return self.evaluation.num_bootstrap

  def _first_dice(self) -> Optional[Dict[str, Any]]:
    return next((m.kwargs for m in self.methods if m.method == "dice-pc"), None)

  @property
  def temperature(self) -> np.ndarray:
    """``[S, N]`` evaluation temperature (default: the first DICE-PC method's target)."""
    spec, first = self.spec, self._first_dice()
    tau = self.evaluation.temperature
    if tau is None and first is not None:
      tau = first.get("final_temperature")
      tau = first.get("temperature", 1.0) if tau is None else tau
    tau = 1.0 if tau is None else tau
    return checks.temperatures(tau, spec, "temperature")

  @property
  def reference(self) -> Tuple[np.ndarray, ...]:
    """Per role ``[S, n_i]`` evaluation reference (default: the first DICE-PC method's)."""
    ref, first = self.evaluation.reference, self._first_dice()
    if ref is None and first is not None:
      ref = first.get("reference")
    return checks.references(None if ref is None else list(ref), self.spec, "reference")

  def method(self, label: str) -> MethodConfig:
    """The method labelled ``label`` (``KeyError`` if none)."""
    for m in self.methods:
      if m.label == label:
        return m
    raise KeyError(label)

  def build_environment(self, seed: int):
    """The environment for run seed ``seed``."""
    return self.env.build(seed)

  def close(self) -> None:
    """Close the backends that were created."""
    self.env.close()

  def to_dict(self) -> Dict[str, Any]:
    """JSON-ready resolved settings (what ``summary.json`` records next to ``raw``)."""
    listed = lambda v: (
      [listed(x) for x in v]
      if isinstance(v, (list, tuple))
      else (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v)
    )
    return {
      "name": self.name,
      "description": self.description,
      "output": self.output,
      "seeds": list(self.seeds),
      "rounds": self.rounds,
      "batch_size": self.batch_size,
      "environment": self.environment,
      "spec": self.spec.to_dict(),
      "methods": {
        m.label: {
          "method": m.method,
          **{k: listed(v) for k, v in m.options.items()},
          **({"match": m.match} if m.match else {}),
        }
        for m in self.methods
      },
      "evaluation": {
        "temperature": self.temperature.tolist(),
        "reference": [r.tolist() for r in self.reference],
        "monotonicity": self.monotonicity,
        "num_bootstrap": self.num_bootstrap,
      },
    }
