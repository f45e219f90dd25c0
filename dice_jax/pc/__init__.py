"""DICE-PC: coordinate frozen LLM agents through prompt-control actions (DESIGN §7).

Layers, one sub-package each:

* :mod:`~dice_jax.pc.environments` -- the game's description (:class:`CoordinationSpec`,
  :class:`Outcome`, the :class:`Environment` protocol, :func:`payoffs`), the synthetic suites
  (:func:`oscillation_suite`, :func:`drift_suite`) and the LLM protocol on real tasks
  (:class:`LLMEnvironment`).
* :mod:`~dice_jax.pc.posterior` -- :class:`PayoffPosterior` (Beta-Bernoulli correctness, mean
  tokens, forgetting).
* :mod:`~dice_jax.pc.policies` -- :class:`DICEPC` and the baselines behind one :class:`Policy`
  interface; :func:`make_policy` / :data:`POLICIES` by name.
* :mod:`~dice_jax.pc.metrics` -- equilibrium and hindsight regret, oscillation, drift, the
  rollout monotonicity diagnostic.
* :mod:`~dice_jax.pc.harness` -- :func:`run`, :func:`compare`, :func:`load_results`,
  :class:`Results`.
* :mod:`~dice_jax.pc.report` -- :func:`report` (PNG plots) and methods x seeds comparisons.
* :mod:`~dice_jax.pc.settings` (a frozen settings type per component, each checking itself),
  :mod:`~dice_jax.pc.config` (maps a YAML/JSON file onto them) and :mod:`~dice_jax.pc.cli` --
  ``dice-jax pc run CONFIG``.

Tasks, checkers, backends, the sampler, temperatures and token-cost payoffs are the shared layer
:mod:`dice_jax.rollouts`. Importing this package loads JAX but not transformers or torch: models
load only when a :class:`~dice_jax.rollouts.LocalBackend` is created.
"""

from dice_jax.pc import metrics
from dice_jax.pc.config import ConfigError, RunConfig, load_config
from dice_jax.pc.environments import (
  CONTROLS,
  DEFAULT_ROLES,
  ROLES,
  Control,
  CoordinationSpec,
  Environment,
  LLMEnvironment,
  Outcome,
  Role,
  SyntheticEnvironment,
  drift_suite,
  oscillation_suite,
  payoffs,
)
from dice_jax.pc.harness import Results, compare, load_results, run
from dice_jax.pc.policies import (
  POLICIES,
  BestOfN,
  BestResponseDynamics,
  Decision,
  DICEPC,
  FictitiousPlay,
  IndependentLearners,
  Policy,
  UniformPolicy,
  make_policy,
)
from dice_jax.pc.posterior import PayoffPosterior
from dice_jax.pc.report import report
from dice_jax.pc.settings import (
  Budget,
  Evaluation,
  GameSettings,
  LLMSettings,
  MethodConfig,
  SyntheticSettings,
)

__all__ = [
  "BestOfN",
  "Budget",
  "BestResponseDynamics",
  "CONTROLS",
  "ConfigError",
  "Control",
  "CoordinationSpec",
  "DEFAULT_ROLES",
  "DICEPC",
  "Decision",
  "Environment",
  "Evaluation",
  "FictitiousPlay",
  "GameSettings",
  "IndependentLearners",
  "LLMEnvironment",
  "LLMSettings",
  "MethodConfig",
  "Outcome",
  "POLICIES",
  "PayoffPosterior",
  "Policy",
  "ROLES",
  "Results",
  "Role",
  "RunConfig",
  "SyntheticEnvironment",
  "SyntheticSettings",
  "UniformPolicy",
  "compare",
  "drift_suite",
  "load_config",
  "load_results",
  "make_policy",
  "metrics",
  "oscillation_suite",
  "payoffs",
  "report",
  "run",
]
