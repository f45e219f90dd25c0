"""The settings of a DICE-FT run (``dice-jax ft run CONFIG``), one frozen type per component.

Each type checks its own fields when it is built -- in Python or from a config file -- and
raises ``ValueError`` naming the field; :mod:`dice_jax.ft.config` only maps a file onto them.

* :class:`ModelSettings` -- the base checkpoint and its LoRA adapters (one set per agent, one
  frozen base shared by all, :func:`dice_jax.ft.shared_lora_agents`) and the adapters' Adam rate.
* :class:`TaskSettings` -- the training and held-out tasks, the train and test split of one
  :class:`~dice_jax.rollouts.task_source.TaskSource` (the settings type DICE-PC's ``tasks``
  use), and the instruction appended to each question; a task's *state* is its difficulty
  bucket (``arithmetic/d1``).
* :class:`LoopSettings` -- the DICE-FT loop (:class:`dice_jax.ft.DiceFT`): iterations, prompts
  per iteration, the mirror step ``eta``, per-state temperatures ``tau(s)``, optimizer steps per
  iteration, the cost per generated token, the fit tolerance, the agents.
* :class:`EvalSettings` -- greedy evaluation on the held-out tasks.
* candidate sampling is :class:`dice_jax.rollouts.Sampling` (its ``stop_ids``/``pad_id`` come
  from the model when the run starts).
* :class:`RunSettings` -- all of them, with the name, output folder and seed; it checks what
  spans components (every state of the tasks has a temperature).
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Optional, Tuple, Union

from dice_jax.rollouts import fields
from dice_jax.rollouts.config_files import ConfigError, field_error
from dice_jax.rollouts.payoffs import cost_per_token
from dice_jax.rollouts.sampler import Sampling
from dice_jax.rollouts.task_source import TaskSource
from dice_jax.rollouts.tasks import KINDS
from dice_jax.rollouts.temperatures import state_temperatures

__all__ = ["EvalSettings", "LoopSettings", "ModelSettings", "RunSettings", "TaskSettings"]

DEFAULT_DIFFICULTIES = (1, 2)  # the generated buckets when a config names none
_SOURCE_FIELDS = [f.name for f in dataclasses.fields(TaskSource)]


@dataclasses.dataclass(frozen=True)
class ModelSettings:
  """``path``: checkpoint directory or ``.gguf`` (``None``: the bundled SmolLM2-135M-Instruct);
  ``lora_rank`` ``>= 1``, ``lora_alpha > 0``, ``lora_targets`` (module names);
  ``learning_rate > 0`` of the adapters' Adam."""

  path: Optional[str] = None
  lora_rank: int = 8
  lora_alpha: float = 16.0
  lora_targets: Tuple[str, ...] = ("q_proj", "v_proj")
  learning_rate: float = 1e-3

  def __post_init__(self):
    if self.path is not None:
      fields.text("path", self.path, "a file or folder name")
    object.__setattr__(
      self, "lora_rank", fields.integer("lora_rank", self.lora_rank, low=1, high=4096)
    )
    object.__setattr__(
      self, "lora_alpha", fields.real("lora_alpha", self.lora_alpha, low=0.0, low_open=True)
    )
    object.__setattr__(self, "lora_targets", fields.names("lora_targets", self.lora_targets))
    object.__setattr__(
      self,
      "learning_rate",
      fields.real("learning_rate", self.learning_rate, low=0.0, low_open=True, high=1.0),
    )


@dataclasses.dataclass(frozen=True)
class TaskSettings:
  """The training and held-out tasks: one :class:`~dice_jax.rollouts.task_source.TaskSource`
  read twice, its ``"train"`` and its ``"test"`` split (``sources``), which checks every field
  but ``instruction``.

  Attributes:
    kind: ``arithmetic``, ``planning`` or ``jsonl``.
    train, test: the ``count`` of each split's source (generated: tasks per difficulty; jsonl:
      at most that many in all).
    difficulties: generated: the buckets (default :data:`DEFAULT_DIFFICULTIES`); jsonl: keep
      only tasks of these difficulties (default all).
    seed: the generator's seed.
    path: the JSONL file (jsonl only).
    test_fraction: the held-out share of the train/test split, in ``(0, 1)``.
    instruction: appended to each question.

  Raises:
    ValueError: naming the field (a source's ``count`` as ``train`` or ``test``).
  """

  kind: str = "arithmetic"
  train: int = 16
  test: int = 16
  difficulties: Optional[Tuple] = None
  seed: int = 0
  path: Optional[str] = None
  test_fraction: float = 0.5
  instruction: str = "Solve the problem. Be brief and end with 'Answer: <number>'."
  sources: Tuple[TaskSource, TaskSource] = dataclasses.field(init=False, repr=False)

  def __post_init__(self):
    fields.text("instruction", self.instruction, "text", blank=True)
    d = self.difficulties
    if d is None and self.kind in KINDS:
      d = DEFAULT_DIFFICULTIES
    sources = tuple(self._source(split, d) for split in ("train", "test"))
    train, test = sources
    for name, value in (
      ("train", train.count),
      ("test", test.count),
      ("difficulties", train.difficulties),
      ("seed", train.seed),
      ("test_fraction", train.test_fraction),
      ("sources", sources),
    ):
      object.__setattr__(self, name, value)

  def _source(self, split: str, difficulties) -> TaskSource:
    try:
      return TaskSource(
        self.kind,
        count=getattr(self, split),
        split=split,
        difficulties=difficulties,
        seed=self.seed,
        path=self.path,
        test_fraction=self.test_fraction,
      )
    except ValueError as e:
      err = field_error(e, "", _SOURCE_FIELDS)
      raise ConfigError(split if err.field == "count" else err.field, err.message) from None

  def states(self) -> Optional[Tuple[str, ...]]:
    """The state names of the generated tasks (``None`` for a jsonl file: known once read)."""
    if self.kind == "jsonl":
      return None
    return tuple(f"{self.kind}/d{d}" for d in self.difficulties)


@dataclasses.dataclass(frozen=True)
class LoopSettings:
  """The DICE-FT loop: ``iterations`` ``>= 1``, ``prompts_per_iteration`` ``>= 1``,
  ``step_size`` ``eta > 0``, ``temperature`` ``tau > 0`` (one number or ``{state: tau}``),
  ``inner_steps`` optimizer steps per iteration, ``token_cost >= 0`` per generated token,
  ``fit_tol >= 0`` (:class:`dice_jax.ft.DiceFT`), ``agents``: names of the LoRA agents (each
  answers every task, and each is scored by the task's checker on its own answer)."""

  iterations: int = 4
  prompts_per_iteration: int = 4
  step_size: float = 1.0
  temperature: Union[float, Mapping[str, float]] = 0.1
  inner_steps: int = 3
  token_cost: float = 0.0
  fit_tol: float = 1e-6
  agents: Tuple[str, ...] = ("solver",)

  def __post_init__(self):
    for name, high in (
      ("iterations", 100_000),
      ("prompts_per_iteration", 4096),
      ("inner_steps", 100_000),
    ):
      object.__setattr__(self, name, fields.integer(name, getattr(self, name), low=1, high=high))
    object.__setattr__(
      self, "step_size", fields.real("step_size", self.step_size, low=0.0, low_open=True)
    )
    t = self.temperature
    if isinstance(t, Mapping):
      for k in t:
        if not isinstance(k, str):
          raise ValueError(f"temperature keys must be state names; got {k!r}.")
      state_temperatures(t, tuple(t))  # each tau it names; RunSettings checks every state has one
      t = dict(t)
    elif callable(t):
      raise ValueError("temperature must be a number or a mapping {state: tau}; got a callable.")
    else:
      t = float(state_temperatures(t, ("",))[0])
    object.__setattr__(self, "temperature", t)
    object.__setattr__(self, "token_cost", cost_per_token("token_cost", self.token_cost))
    object.__setattr__(self, "fit_tol", fields.real("fit_tol", self.fit_tol, low=0.0))
    object.__setattr__(self, "agents", fields.names("agents", self.agents))


@dataclasses.dataclass(frozen=True)
class EvalSettings:
  """Greedy evaluation on the held-out tasks: ``max_new_tokens``, ``batch`` rows per call,
  ``every`` (also evaluate after every ``every``-th iteration; ``0``: before and after only)."""

  max_new_tokens: int = 48
  batch: int = 16
  every: int = 0

  def __post_init__(self):
    object.__setattr__(
      self,
      "max_new_tokens",
      fields.integer("max_new_tokens", self.max_new_tokens, low=1, high=32_768),
    )
    object.__setattr__(self, "batch", fields.integer("batch", self.batch, low=1, high=4096))
    object.__setattr__(self, "every", fields.integer("every", self.every, low=0))


@dataclasses.dataclass(frozen=True)
class RunSettings:
  """A whole DICE-FT run; checks what spans components: every state of the generated tasks has
  a temperature, and sampling asks for a bounded number of rows per iteration."""

  name: str
  model: ModelSettings
  tasks: TaskSettings
  sampling: Sampling
  loop: LoopSettings
  evaluation: EvalSettings
  output: Optional[str] = None
  description: str = ""
  seed: int = 0

  def __post_init__(self):
    for f, cls in (
      ("model", ModelSettings),
      ("tasks", TaskSettings),
      ("sampling", Sampling),
      ("loop", LoopSettings),
      ("evaluation", EvalSettings),
    ):
      fields.instance(f, getattr(self, f), cls)
    fields.run_labels(self.name, self.description, self.output)
    object.__setattr__(self, "seed", fields.integer("seed", self.seed))
    states = self.tasks.states()
    if states is not None:
      try:
        state_temperatures(self.loop.temperature, states)
      except ValueError as e:
        raise ValueError(f"loop.{e}") from None
    rows = self.loop.prompts_per_iteration * self.sampling.num_candidates
    if rows > 65_536:
      raise ValueError(
        f"sampling.num_candidates x loop.prompts_per_iteration = {rows:,} rows per "
        "iteration; at most 65,536."
      )
