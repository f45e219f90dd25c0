"""Synthetic DICE-PC environments with known payoffs: the oscillation and drift suites.

Each environment implements :class:`dice_jax.pc.Environment` with payoffs given in closed form,
so metrics that need the true game (equilibrium regret, distance to the true HQRE, hindsight
regret) are exact. A rollout of joint action ``a`` on a task of state ``s`` in round ``t`` is

    correct ~ Bernoulli(p_t(s, a)),      tokens_j ~ Poisson(k_t(s, a, j)),

drawn from a generator seeded by ``(seed, round, stream)``: every method playing round ``t``
sees the same uniforms (common random numbers), so comparisons between methods at one seed are
paired. The single-model best-of-``n`` baseline samples ``n`` answers per task, each correct
with probability ``q(s)`` and otherwise one of ``num_wrong`` wrong answers uniformly; the
majority answer wins (ties broken uniformly at random); it uses ``n * k_single(s)`` tokens.

* :func:`oscillation_suite`: ``K`` equally good conventions ``(k, k, ..., k)`` (success
  ``on``), worse off them (``off(s)``), more tokens when the roles miscoordinate. Every pure
  convention is a Nash equilibrium of equal value: best-response dynamics with simultaneous
  updates from a miscoordinated profile swap conventions forever.
* :func:`drift_suite`: the same coordination structure with convention ``k``'s success
  ``base + amplitude cos(2 pi t / period - 2 pi k / K)``: the best convention rotates slowly.

Both are cheap (NumPy, vectorised over the batch): 2,000 rounds of 32 tasks take well under a
second of environment time.
"""

from __future__ import annotations

from typing import Callable, Sequence, Tuple

import numpy as np

from dice_jax.pc.environments.spec import CoordinationSpec, Outcome
from dice_jax.rollouts.tasks import Task

__all__ = ["SyntheticEnvironment", "drift_suite", "oscillation_suite"]


class SyntheticEnvironment:
  """An :class:`~dice_jax.pc.Environment` with known, possibly round-dependent payoffs.

  Args:
    spec: roles, controls, states, token costs.
    success: ``round -> [S, n_1..n_N]`` success probabilities in ``[0, 1]``.
    tokens: ``round -> [S, n_1..n_N, N]`` expected tokens per role (``>= 0``).
    single_success: ``[S]`` per-sample accuracy of the single model (best-of-``n``).
    single_tokens: ``[S]`` expected tokens of one single-model sample.
    num_wrong: distinct wrong answers the single model spreads its errors over.
    state_probs: ``[S]`` probability of each state when drawing tasks (default uniform).
    failure_rate: probability that a rollout fails (recorded, never scored).
    static: whether ``success`` and ``tokens`` ignore the round (lets callers cache).
    seed: the seed of the rollout noise.
  """

  def __init__(
    self,
    spec: CoordinationSpec,
    success: Callable[[int], np.ndarray],
    tokens: Callable[[int], np.ndarray],
    *,
    single_success,
    single_tokens,
    num_wrong: int = 4,
    state_probs=None,
    failure_rate: float = 0.0,
    static: bool = False,
    seed: int = 0,
  ):
    self.spec = spec
    self._success, self._tokens = success, tokens
    s = spec.num_states
    self.single_success = np.broadcast_to(np.asarray(single_success, np.float64), (s,)).copy()
    self.single_tokens = np.broadcast_to(np.asarray(single_tokens, np.float64), (s,)).copy()
    if np.any((self.single_success < 0) | (self.single_success > 1)):
      raise ValueError(f"single_success must lie in [0, 1]; got {self.single_success}.")
    if int(num_wrong) < 1:
      raise ValueError(f"num_wrong must be >= 1; got {num_wrong!r}.")
    self.num_wrong = int(num_wrong)
    probs = np.full(s, 1.0 / s) if state_probs is None else np.asarray(state_probs, np.float64)
    if probs.shape != (s,) or np.any(probs < 0) or abs(probs.sum() - 1) > 1e-9:
      raise ValueError(f"state_probs must be a distribution over the {s} states; got {probs}.")
    self.state_probs = probs
    if not 0 <= failure_rate < 1:
      raise ValueError(f"failure_rate must lie in [0, 1); got {failure_rate!r}.")
    self.failure_rate = float(failure_rate)
    self.static = bool(static)
    self.seed = int(seed)
    self._cache = {}

  def true_payoffs(self, round: int) -> Tuple[np.ndarray, np.ndarray]:
    """``(success [S, n..], tokens [S, n.., N])`` in round ``round``."""
    key = 0 if self.static else int(round)
    if key not in self._cache:
      if len(self._cache) > 4096:
        self._cache.clear()
      self._cache[key] = (
        np.asarray(self._success(key), np.float64),
        np.asarray(self._tokens(key), np.float64),
      )
    return self._cache[key]

  def tasks(self, rng: np.random.Generator, n: int, *, round: int) -> Sequence[Task]:
    """``n`` tasks with states drawn from ``state_probs``."""
    states = rng.choice(self.spec.num_states, size=int(n), p=self.state_probs)
    return [
      Task(
        question=f"synthetic round {round} task {b}", answer=None, state=int(s), kind="synthetic"
      )
      for b, s in enumerate(states)
    ]

  def _rng(self, round: int, stream: int) -> np.random.Generator:
    # a distinct non-zero last word: SeedSequence treats trailing zeros as absent, so [s, 0, 0]
    # would be the stream of seed s itself (and collide with a caller seeded with s)
    return np.random.default_rng([self.seed, int(round), stream, 0x5E7])

  def play(self, tasks: Sequence[Task], actions: np.ndarray, *, round: int) -> Outcome:
    """Bernoulli verdicts and Poisson tokens for joint actions ``[B, N]``."""
    actions = np.asarray(actions)
    states = np.fromiter((t.state for t in tasks), np.int64, count=len(tasks))
    success, tokens = self.true_payoffs(round)
    idx = (states, *actions.T)
    rng = self._rng(round, 0)
    b = len(states)
    u = rng.random(b)
    correct = (u < success[idx]).astype(np.float64)
    tok = rng.poisson(tokens[idx]).astype(np.float64)
    failed = rng.random(b) < self.failure_rate
    correct[failed] = 0.0
    tok[failed] = 0.0
    return Outcome(
      correct=correct,
      tokens=tok,
      failed=failed,
      errors=["synthetic failure" if f else None for f in failed],
    )

  def best_of_n(self, tasks: Sequence[Task], n: int, *, round: int) -> Outcome:
    """Majority vote of ``n`` single-model samples per task; tokens in column 0."""
    if int(n) < 1:
      raise ValueError(f"n must be >= 1; got {n!r}.")
    states = np.fromiter((t.state for t in tasks), np.int64, count=len(tasks))
    rng = self._rng(round, 1)
    q = self.single_success[states]
    k = self.num_wrong
    pvals = np.concatenate([q[:, None], np.repeat(((1 - q) / k)[:, None], k, 1)], 1)
    votes = rng.multinomial(int(n), pvals)
    winner = np.argmax(votes + 0.5 * rng.random(votes.shape), axis=1)  # random tie-break
    correct = (winner == 0).astype(np.float64)
    tok = np.zeros((len(states), self.spec.num_roles))
    tok[:, 0] = rng.poisson(int(n) * self.single_tokens[states])
    failed = rng.random(len(states)) < self.failure_rate
    correct[failed] = 0.0
    tok[failed] = 0.0
    return Outcome(correct=correct, tokens=tok, failed=failed)


def _convention_tensors(num_roles, num_actions, on, off, tokens_on, tokens_off):
  """Success ``[S, K..K]``: ``on[s, k]`` at ``(k, .., k)``, ``off[s]`` elsewhere; tokens
  ``[S, K..K, N]``: ``tokens_on`` on a convention, ``tokens_off`` off it."""
  on = np.asarray(on, np.float64)
  s = on.shape[0]
  shape = (s, *(num_actions,) * num_roles)
  success = np.broadcast_to(np.asarray(off, np.float64).reshape(s, *(1,) * num_roles), shape).copy()
  diag = np.zeros(shape[1:], bool)
  for k in range(num_actions):
    success[(slice(None), *(k,) * num_roles)] = on[:, k]
    diag[(k,) * num_roles] = True
  tokens = np.where(diag[None, ..., None], float(tokens_on), float(tokens_off))
  tokens = np.broadcast_to(tokens, (*shape, num_roles)).copy()
  return success, tokens


def _spec(num_roles, num_actions, num_states, token_cost):
  roles = (
    ("planner", "solver", "verifier", "critic")[:num_roles]
    if num_roles <= 4
    else tuple(f"role{i}" for i in range(num_roles))
  )
  styles = tuple(f"convention{k}" for k in range(num_actions))
  states = tuple(f"difficulty{s}" for s in range(num_states))
  return CoordinationSpec(
    roles=roles,
    controls=(styles,) * num_roles,
    states=states,
    token_cost=token_cost,
    cost_sharing="team",
  )


def oscillation_suite(
  *,
  num_roles: int = 2,
  num_actions: int = 3,
  on: float = 0.8,
  off: Sequence[float] = (0.3, 0.2),
  tokens_on: float = 100.0,
  tokens_off: float = 150.0,
  token_cost: float = 1e-4,
  single_success: Sequence[float] = (0.6, 0.45),
  single_tokens: float = 120.0,
  failure_rate: float = 0.0,
  seed: int = 0,
) -> SyntheticEnvironment:
  """``K`` equally good conventions: success ``on`` when all roles pick the same control.

  Off the conventions the success is ``off[s]`` (one state per entry of ``off``; default two
  states) and each role spends ``tokens_off`` instead of ``tokens_on`` tokens. Costs are team
  costs, so the game is identical-interest with team payoff
  ``U(s, a) = p(s, a) - token_cost * sum_j tokens_j``. For two roles the payoff matrix is
  ``c + d I`` with ``d = (on - off[s]) + 2 token_cost (tokens_off - tokens_on)``, whose exact
  monotonicity constant is ``alpha(s) = d`` (``sigma_max(P 2 d I P) / 2``; DESIGN §4): the HQRE
  is certified unique for ``tau > d`` (0.51 and 0.61 with the defaults) and, with a uniform
  reference, equals the uniform profile by symmetry.
  """
  off = np.asarray(off, np.float64)
  s = off.shape[0]
  spec = _spec(num_roles, num_actions, s, token_cost)
  succ, tok = _convention_tensors(
    num_roles, num_actions, np.full((s, num_actions), on), off, tokens_on, tokens_off
  )
  return SyntheticEnvironment(
    spec,
    lambda t: succ,
    lambda t: tok,
    single_success=single_success,
    single_tokens=single_tokens,
    failure_rate=failure_rate,
    static=True,
    seed=seed,
  )


def drift_suite(
  *,
  num_roles: int = 2,
  num_actions: int = 3,
  base: float = 0.5,
  amplitude: float = 0.3,
  period: float = 500.0,
  off: Sequence[float] = (0.1, 0.05),
  tokens_on: float = 100.0,
  tokens_off: float = 150.0,
  token_cost: float = 1e-4,
  single_success: Sequence[float] = (0.55, 0.45),
  single_tokens: float = 120.0,
  failure_rate: float = 0.0,
  seed: int = 0,
) -> SyntheticEnvironment:
  """Conventions whose value moves: ``p_t(s, (k..k)) = base + amplitude cos(2 pi t / period -
  2 pi k / K + pi s / S)``; off-convention success ``off[s]``. The best convention changes
  every ``period / K`` rounds, the state phase shift makes the states disagree.
  """
  off = np.asarray(off, np.float64)
  s = off.shape[0]
  if not period > 0:
    raise ValueError(f"period must be > 0; got {period!r}.")
  spec = _spec(num_roles, num_actions, s, token_cost)
  k = np.arange(num_actions)
  phase = np.pi * np.arange(s)[:, None] / s

  def on(t):
    return base + amplitude * np.cos(
      2 * np.pi * t / period - 2 * np.pi * k[None] / num_actions + phase
    )

  def success(t):
    return _convention_tensors(num_roles, num_actions, on(t), off, tokens_on, tokens_off)[0]

  _, tok = _convention_tensors(num_roles, num_actions, on(0), off, tokens_on, tokens_off)
  return SyntheticEnvironment(
    spec,
    success,
    lambda t: tok,
    single_success=single_success,
    single_tokens=single_tokens,
    failure_rate=failure_rate,
    static=False,
    seed=seed,
  )
