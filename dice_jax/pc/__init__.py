"""DICE-PC: coordinate frozen LLM agents through prompt-control actions (DESIGN §7).

The pieces, one module each:

* :mod:`~dice_jax.pc.environment` -- :class:`CoordinationSpec` (roles, controls, states, token
  costs), :class:`Task`, :class:`Outcome`, the :class:`Environment` protocol, :func:`payoffs`.
* :mod:`~dice_jax.pc.posterior` -- :class:`PayoffPosterior` (Beta-Bernoulli correctness, mean
  tokens, forgetting).
* :mod:`~dice_jax.pc.policies` -- :class:`DICEPC` and the baselines behind one :class:`Policy`
  interface; :func:`make_policy` / :data:`POLICIES` by name.
* :mod:`~dice_jax.pc.metrics` -- equilibrium and hindsight regret, oscillation, drift, the
  rollout monotonicity diagnostic.
* :mod:`~dice_jax.pc.synthetic` -- :func:`oscillation_suite`, :func:`drift_suite`.
* :mod:`~dice_jax.pc.harness` -- :func:`run`, :func:`compare`, :func:`load_results`,
  :class:`Results`; :mod:`~dice_jax.pc.report` -- :func:`report` (PNG plots);
  :mod:`~dice_jax.pc.compare_report` -- methods x seeds comparisons.
* the LLM side: :mod:`~dice_jax.pc.tasks` (arithmetic and planning tasks, JSONL datasets),
  :mod:`~dice_jax.pc.checkers`, :mod:`~dice_jax.pc.backends` (:class:`LocalBackend`,
  :class:`OpenAIBackend`), :mod:`~dice_jax.pc.llm_env` (:class:`LLMEnvironment`).
* :mod:`~dice_jax.pc.config` and :mod:`~dice_jax.pc.cli` -- ``dice-jax pc run CONFIG``.

Importing this package loads JAX but not transformers or torch: models load only when a
:class:`LocalBackend` is created.
"""
from dice_jax.pc import metrics
from dice_jax.pc.config import ConfigError, RunConfig, load_config
from dice_jax.pc.environment import CoordinationSpec, Environment, Outcome, Task, payoffs
from dice_jax.pc.harness import Results, compare, load_results, run
from dice_jax.pc.policies import (POLICIES, BestOfN, BestResponseDynamics, Decision, DICEPC,
                                  FictitiousPlay, IndependentLearners, Policy, UniformPolicy,
                                  make_policy)
from dice_jax.pc.posterior import PayoffPosterior
from dice_jax.pc.report import report
from dice_jax.pc.synthetic import SyntheticEnvironment, drift_suite, oscillation_suite

__all__ = ["BestOfN", "BestResponseDynamics", "ConfigError", "CoordinationSpec", "DICEPC",
           "Decision", "Environment", "FictitiousPlay", "IndependentLearners", "Outcome",
           "POLICIES", "PayoffPosterior", "Policy", "Results", "RunConfig",
           "SyntheticEnvironment", "Task", "UniformPolicy", "compare", "drift_suite",
           "load_config", "load_results", "make_policy", "metrics", "oscillation_suite",
           "payoffs", "report", "run"]

# The LLM side (tasks, checkers, backends, LLMEnvironment) is cheap to import (httpx, the Flax
# model and transformers load lazily); it is still guarded so that the synthetic half of the
# package stays usable if one of its optional pieces cannot be imported.
try:
  from dice_jax.pc.backends import (Backend, BackendError, Completion, LocalBackend,
                                    OpenAIBackend)
  from dice_jax.pc.checkers import Verdict, check, check_number, check_order, check_text
  from dice_jax.pc.llm_env import CONTROLS, DEFAULT_ROLES, ROLES, Control, LLMEnvironment
  from dice_jax.pc.tasks import (TaskFileError, arithmetic_task, load_jsonl, make_tasks,
                                 planning_task, split_tasks, state_name, states_of)
except ImportError as _e:  # pragma: no cover - reported by tests/pc/test_cli.py
  LLM_IMPORT_ERROR = _e
else:
  LLM_IMPORT_ERROR = None
  __all__ += ["Backend", "BackendError", "CONTROLS", "Completion", "Control", "DEFAULT_ROLES",
              "LLMEnvironment", "LocalBackend", "OpenAIBackend", "ROLES", "TaskFileError",
              "Verdict", "arithmetic_task", "check", "check_number", "check_order", "check_text",
              "load_jsonl", "make_tasks", "planning_task", "split_tasks", "state_name",
              "states_of"]
