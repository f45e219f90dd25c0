"""What DICE-PC plays: the coordination game's description, tasks, outcomes, environments.

DICE-PC (DESIGN §7) coordinates frozen LLM agents. Each *role* ``i`` (solver, verifier, ...)
picks a *prompt-control action* ``a_i`` from its own finite set; the observable *state* ``s``
(task domain, difficulty bucket) is known before acting. Running the protocol on a task gives a
verdict of an exact checker and the tokens each role generated, so the payoff of a joint action
in state ``s`` is

    U_i(s, a) = P(correct | s, a) - sum_j w_ij c_j E[tokens_j | s, a]

with ``c_j`` role ``j``'s cost per token and ``w_ij = 1`` (``cost_sharing="team"``: every role
is charged the team's tokens, an identical-interest game) or ``w_ij = [i = j]``
(``cost_sharing="own"``: each role pays for its own tokens). :func:`payoffs` computes it.

Every environment -- the synthetic suites with known payoffs and the LLM protocol on real tasks
-- implements :class:`Environment`; the DICE-PC loop and its baselines see nothing else.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional, Protocol, Sequence, Tuple, Union, runtime_checkable

import numpy as np

from dice_jax.rollouts import fields
from dice_jax.rollouts.payoffs import SHARING, cost_per_token, token_cost_payoffs, token_costs
from dice_jax.rollouts.tasks import Task

__all__ = ["CoordinationSpec", "Environment", "Outcome", "Role", "control_names", "payoffs"]


def control_names(value: Any, name: str = "controls") -> Tuple[str, ...]:
  """``value`` as one role's action set: a non-empty list of distinct, non-empty names.

  The one check of an action set: :class:`Role`, :class:`CoordinationSpec` and
  :class:`~dice_jax.pc.environments.llm.LLMEnvironment` call it with their field's name.

  Raises:
    ValueError: starting with ``name`` (``"controls: empty action set: ..."``).
  """
  if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
    raise ValueError(f"{name} must be a list of control names; got {value!r}.")
  for i, c in enumerate(value):
    if not isinstance(c, str) or not c.strip():
      raise ValueError(f"{name}[{i}] must be a non-empty control name; got {c!r}.")
  if not value:
    raise ValueError(f"{name}: empty action set: every role needs at least one control.")
  dup = sorted({c for c in value if value.count(c) > 1})
  if dup:
    raise ValueError(f"{name}: duplicate controls {dup}.")
  return tuple(value)


@dataclasses.dataclass(frozen=True)
class Role:
  """One role of a configured game: its ``controls`` (:func:`control_names`) and its cost per
  token ``token_cost >= 0`` (:func:`~dice_jax.rollouts.payoffs.cost_per_token`; ``None``: the
  run's default)."""

  controls: Tuple[str, ...]
  token_cost: Optional[float] = None

  def __post_init__(self):
    object.__setattr__(self, "controls", control_names(self.controls))
    if self.token_cost is not None:
      object.__setattr__(self, "token_cost", cost_per_token("token_cost", self.token_cost))


@dataclasses.dataclass(frozen=True)
class CoordinationSpec:
  """The shape of a DICE-PC coordination game.

  Attributes:
    roles: role names, one per agent (``N >= 1``), unique.
    controls: per role, the names of its prompt-control actions (non-empty, unique per role).
    states: names of the observable states (e.g. difficulty buckets), non-empty, unique.
    token_cost: the cost of one generated token (``>= 0``, finite), one number for every role or
      one per role (:func:`~dice_jax.rollouts.payoffs.token_costs`); stored one per role.
    cost_sharing: ``"team"`` (every role is charged all tokens) or ``"own"``.

  Raises:
    ValueError: naming the field, for empty or duplicate names, a missing or empty action set,
      negative or non-finite costs, or an unknown ``cost_sharing``.
  """

  roles: Tuple[str, ...]
  controls: Tuple[Tuple[str, ...], ...]
  states: Tuple[str, ...] = ("default",)
  token_cost: Union[float, Tuple[float, ...]] = 0.0
  cost_sharing: str = "team"

  def __post_init__(self):
    roles = fields.names("roles", self.roles)
    controls = self.controls
    if not isinstance(controls, (list, tuple)) or len(controls) != len(roles):
      raise ValueError(
        f"controls must give one action list per role ({len(roles)} roles: {list(roles)}); "
        f"got {controls!r}."
      )
    controls = tuple(control_names(cs, f"controls[{r!r}]") for r, cs in zip(roles, controls))
    states = fields.names("states", self.states)
    cost = tuple(float(c) for c in token_costs(self.token_cost, len(roles)))
    fields.choice("cost_sharing", self.cost_sharing, SHARING)
    object.__setattr__(self, "roles", roles)
    object.__setattr__(self, "controls", controls)
    object.__setattr__(self, "states", states)
    object.__setattr__(self, "token_cost", cost)

  @property
  def num_roles(self) -> int:
    return len(self.roles)

  @property
  def num_actions(self) -> Tuple[int, ...]:
    return tuple(len(c) for c in self.controls)

  @property
  def num_states(self) -> int:
    return len(self.states)

  def to_dict(self) -> Dict[str, Any]:
    return {
      "roles": list(self.roles),
      "controls": [list(c) for c in self.controls],
      "states": list(self.states),
      "token_cost": list(self.token_cost),
      "cost_sharing": self.cost_sharing,
    }


@dataclasses.dataclass
class Outcome:
  """What playing a batch of ``B`` tasks gave.

  Attributes:
    correct: ``[B]`` float, 1.0 where the checker accepted the final answer, else 0.0.
    tokens: ``[B, N]`` float, tokens generated by each role on each task (the cost).
    failed: ``[B]`` bool, True where the round could not be completed (a backend that timed
      out or answered malformed output after its retries). Failed tasks are recorded, never
      scored: the loop and the posterior skip them.
    answers: ``B`` final answers as text (``None`` where failed or not applicable).
    errors: ``B`` error messages (``None`` where the task did not fail).
  """

  correct: np.ndarray
  tokens: np.ndarray
  failed: np.ndarray
  answers: Sequence[Optional[str]] = ()
  errors: Sequence[Optional[str]] = ()

  def __post_init__(self):
    self.correct = np.asarray(self.correct, np.float64)
    self.tokens = np.asarray(self.tokens, np.float64)
    self.failed = np.asarray(self.failed, bool)
    b = self.correct.shape[0]
    if self.tokens.ndim != 2 or self.tokens.shape[0] != b or self.failed.shape != (b,):
      raise ValueError(
        f"Outcome: correct [B], tokens [B, N] and failed [B] must agree; got "
        f"{self.correct.shape}, {self.tokens.shape}, {self.failed.shape}."
      )
    self.answers = list(self.answers) or [None] * b
    self.errors = list(self.errors) or [None] * b


def payoffs(spec: CoordinationSpec, success: np.ndarray, tokens: np.ndarray) -> np.ndarray:
  """``U_i(s, a)`` for every role from success probabilities and expected tokens.

  Args:
    spec: the game's description (token costs and cost sharing).
    success: ``[..., n_1, ..., n_N]`` probability that the final answer is correct.
    tokens: ``[..., n_1, ..., n_N, N]`` expected tokens of each role.

  Returns:
    ``[N, ..., n_1, ..., n_N]``: one payoff tensor per role (the layout
    :class:`dice_jax.NormalFormGame` takes, with any leading axes as batch axes).
  """
  return token_cost_payoffs(success, tokens, np.asarray(spec.token_cost), spec.cost_sharing)


@runtime_checkable
class Environment(Protocol):
  """The world DICE-PC and its baselines act in.

  ``spec`` describes roles, actions, states and costs. ``tasks(rng, n, round=t)`` draws ``n``
  tasks (each carrying its state) for round ``t``. ``play(tasks, actions, round=t)`` runs the
  protocol with joint action ``actions[b]`` (``[B, N]`` int, one action index per role) on task
  ``b`` and returns an :class:`Outcome`. ``best_of_n(tasks, n, round=t)`` is the single-model
  baseline: one model sampled ``n`` times per task, majority vote over its final answers; its
  tokens are reported in column 0 of ``Outcome.tokens`` (``[B, N]``, other columns zero).

  Environments with known payoffs (the synthetic suites) also return them from
  ``true_payoffs(round)``: ``(success [S, n_1..n_N], tokens [S, n_1..n_N, N])``; environments
  without (real models) return ``None``.
  """

  spec: CoordinationSpec

  def tasks(self, rng: np.random.Generator, n: int, *, round: int) -> Sequence[Task]: ...

  def play(self, tasks: Sequence[Task], actions: np.ndarray, *, round: int) -> Outcome: ...

  def best_of_n(self, tasks: Sequence[Task], n: int, *, round: int) -> Outcome: ...

  def true_payoffs(self, round: int) -> Optional[Tuple[np.ndarray, np.ndarray]]: ...
