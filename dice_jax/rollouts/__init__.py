"""The layer DICE-PC and DICE-FT share: LLM agents acting on tasks and what their outcomes pay.

* :mod:`~dice_jax.rollouts.tasks` -- :class:`Task`, generated arithmetic and planning tasks with
  held-out splits, JSONL datasets, state names; :mod:`~dice_jax.rollouts.checkers` -- exact
  checkers (numbers, orders, short text).
* :mod:`~dice_jax.rollouts.task_source` -- :class:`TaskSource`: where a run's tasks come from
  (a generator or a JSONL file), a settings type that checks itself and loads the pool.
* :mod:`~dice_jax.rollouts.backends` -- the :class:`Backend` protocol, :class:`LocalBackend`
  (a Flax model), :class:`OpenAIBackend` (an OpenAI-compatible server), :class:`CachedBackend`;
  their settings :class:`LocalSettings` / :class:`OpenAISettings`.
* :mod:`~dice_jax.rollouts.sampler` -- the one batched sampler over :func:`dice_jax.llm.generate`
  (:func:`generate_rows`), and candidate sets (:func:`sample_candidates`).
* :mod:`~dice_jax.rollouts.temperatures` -- per-state temperatures and their schedules.
* :mod:`~dice_jax.rollouts.payoffs` -- token-cost payoffs.

This layer imports neither algorithm (:mod:`dice_jax.pc`, :mod:`dice_jax.ft`). Importing it
loads JAX but not transformers or httpx.
"""

from dice_jax.rollouts import checkers, payoffs, tasks, temperatures
from dice_jax.rollouts.backends import (
  Backend,
  BackendError,
  CachedBackend,
  Completion,
  LocalBackend,
  LocalSettings,
  OpenAIBackend,
  OpenAISettings,
)
from dice_jax.rollouts.checkers import Verdict, check, check_number, check_order, check_text
from dice_jax.rollouts.payoffs import charged_costs, token_cost_payoffs, token_costs
from dice_jax.rollouts.sampler import (
  Batching,
  Candidate,
  Generated,
  SampledCandidates,
  Sampling,
  generate_rows,
  sample_candidates,
  stop_ids_of,
)
from dice_jax.rollouts.task_source import TaskSource
from dice_jax.rollouts.tasks import (
  Task,
  TaskFileError,
  arithmetic_task,
  assign_states,
  load_jsonl,
  make_tasks,
  planning_task,
  split_tasks,
  state_name,
  states_of,
)
from dice_jax.rollouts.temperatures import (
  annealed_temperatures,
  role_state_temperatures,
  state_temperatures,
)

__all__ = [
  "Backend",
  "BackendError",
  "Batching",
  "CachedBackend",
  "Candidate",
  "Completion",
  "Generated",
  "LocalBackend",
  "LocalSettings",
  "OpenAIBackend",
  "OpenAISettings",
  "SampledCandidates",
  "Sampling",
  "Task",
  "TaskFileError",
  "TaskSource",
  "Verdict",
  "annealed_temperatures",
  "arithmetic_task",
  "assign_states",
  "charged_costs",
  "check",
  "check_number",
  "check_order",
  "check_text",
  "checkers",
  "generate_rows",
  "load_jsonl",
  "make_tasks",
  "payoffs",
  "planning_task",
  "role_state_temperatures",
  "sample_candidates",
  "split_tasks",
  "state_name",
  "state_temperatures",
  "states_of",
  "stop_ids_of",
  "tasks",
  "temperatures",
  "token_cost_payoffs",
  "token_costs",
]
