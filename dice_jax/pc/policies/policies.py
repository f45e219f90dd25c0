"""DICE-PC and its baselines behind one policy interface.

A policy is driven by :func:`dice_jax.pc.harness.loop.run` in rounds: ``reset(spec, rng)`` once,
then every round ``act(round, states, rng) -> Decision`` (the joint actions for the round's
tasks and the mixed policy played in every state, or a best-of-``n`` request) and
``observe(round, states, decision, outcome)`` with what the environment returned. Policies see
the environment only through the :class:`~dice_jax.pc.CoordinationSpec` and the outcomes.

* :class:`DICEPC` -- plays the HQRE of the posterior game (this package's algorithm).
* :class:`UniformPolicy` -- uniform random controls.
* :class:`IndependentLearners` -- each role a bandit (UCB1 or EXP3) on its own payoff, per state.
* :class:`FictitiousPlay` -- best response to the others' empirical action frequencies
  (Brown 1951).
* :class:`BestResponseDynamics` -- simultaneous best response to the others' last-round actions.
* :class:`BestOfN` -- one model, ``n`` samples, majority vote, at a matched token budget.

:func:`make_policy` builds any of them by name (the names in :data:`POLICIES`).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Dict, Optional, Sequence, Tuple

import jax
import numpy as np

from dice_jax.pc import checks as _checks
from dice_jax.pc.environments.spec import CoordinationSpec, Outcome, payoffs
from dice_jax.pc.policies.decision import CertificateInfo, Decision, HQREInfo, Profile, SolverInfo
from dice_jax.pc.metrics.measures import joint_distribution
from dice_jax.pc.posterior.beta_bernoulli import PayoffPosterior
from dice_jax.rollouts import fields
from dice_jax.rollouts.temperatures import annealed_temperatures, positive_array

__all__ = [
  "BestOfN",
  "BestResponseDynamics",
  "DICEPC",
  "Decision",
  "FictitiousPlay",
  "IndependentLearners",
  "POLICIES",
  "Policy",
  "UniformPolicy",
  "make_policy",
  "sample_actions",
]


def sample_actions(profile: Profile, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
  """``[B, N]`` joint actions: role ``i`` of task ``b`` draws ``a_i ~ x_i(.|s_b)`` independently
  (inverse CDF, one uniform per role and task)."""
  states = np.asarray(states, np.int64)
  out = np.empty((len(states), len(profile)), np.int64)
  for i, x in enumerate(profile):
    cdf = np.cumsum(x, -1)[states]  # [B, n_i]
    u = rng.random(len(states))[:, None] * cdf[:, -1:]
    out[:, i] = np.minimum((cdf <= u).sum(-1), x.shape[-1] - 1)
  return out


def _pure(actions: np.ndarray, num_actions: Sequence[int]) -> Profile:
  """One-hot profile ``[S, n_i]`` per role from ``[S, N]`` action indices."""
  return tuple(np.eye(k)[actions[:, i]] for i, k in enumerate(num_actions))


def _argmax_random(v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
  """Argmax over the last axis, ties (within 1e-12) broken uniformly at random."""
  ties = v >= v.max(-1, keepdims=True) - 1e-12
  return np.argmax(ties * (1.0 + rng.random(v.shape)), -1)


@jax.jit
def _utilities(game, profile):
  return game.utilities(profile)


class Policy:
  """The interface every method implements (see the module docstring)."""

  name = "policy"

  def reset(self, spec: CoordinationSpec, rng: np.random.Generator) -> None:
    self.spec = spec

  def act(self, round: int, states: np.ndarray, rng: np.random.Generator) -> Decision:
    raise NotImplementedError

  def observe(self, round: int, states: np.ndarray, decision: Decision, outcome: Outcome) -> None:
    pass

  def target(self) -> Tuple[Optional[np.ndarray], Optional[Profile]]:
    """``(temperature [S, N], reference)`` this policy aims at, or ``(None, None)``."""
    return None, None

  def config(self) -> Dict[str, Any]:
    """JSON-ready settings for the run's summary."""
    return {"name": self.name}


class UniformPolicy(Policy):
  """Uniform random controls: ``x_i(.|s) = 1 / n_i``, the reference point of every comparison."""

  name = "uniform"

  def act(self, round, states, rng):
    profile = tuple(np.full((self.spec.num_states, k), 1.0 / k) for k in self.spec.num_actions)
    return Decision(sample_actions(profile, states, rng), profile)


def _role_rewards(spec: CoordinationSpec, outcome: Outcome) -> np.ndarray:
  """``[B, N]`` realised payoff of each role: ``correct - charged token cost``."""
  return payoffs(spec, outcome.correct, outcome.tokens).T


class IndependentLearners(Policy):
  """Each role runs its own bandit per state on its own realised payoff, ignoring the others.

  * ``"ucb1"`` (Auer, Cesa-Bianchi & Fischer, "Finite-time analysis of the multiarmed bandit
    problem", Machine Learning 2002): play every arm once, then
    ``argmax_k  mean_k + sqrt(2 ln n / n_k)``; with a batch per round every task of a state
    plays the round's arm and all its rewards are added.
  * ``"exp3"`` (Auer, Cesa-Bianchi, Freund & Schapire, "The nonstochastic multiarmed bandit
    problem", SIAM J. Comput. 2002): ``x = (1 - gamma) w / sum w + gamma / K``,
    ``log w_k += gamma r̂_k / K`` with ``r̂_k = r 1{a = k} / x_k``, summed over the batch.

  Rewards are clipped to ``[0, 1]`` (both algorithms assume it).

  Args:
    algorithm: ``"ucb1"`` or ``"exp3"``.
    gamma: EXP3's exploration rate in ``(0, 1]``.
  """

  def __init__(self, algorithm: str = "ucb1", *, gamma: float = 0.1):
    if algorithm not in ("ucb1", "exp3"):
      raise ValueError(f"algorithm must be 'ucb1' or 'exp3'; got {algorithm!r}.")
    self.algorithm = algorithm
    self.gamma = _checks.probability(gamma, "gamma", open_low=True)
    self.name = algorithm

  def reset(self, spec, rng):
    super().reset(spec, rng)
    s = spec.num_states
    self._n = [np.zeros((s, k)) for k in spec.num_actions]
    self._sum = [np.zeros((s, k)) for k in spec.num_actions]
    self._logw = [np.zeros((s, k)) for k in spec.num_actions]

  def _profile(self, rng):
    out = []
    for i, k in enumerate(self.spec.num_actions):
      if self.algorithm == "exp3":
        w = np.exp(self._logw[i] - self._logw[i].max(-1, keepdims=True))
        out.append((1 - self.gamma) * w / w.sum(-1, keepdims=True) + self.gamma / k)
      else:
        n, total = self._n[i], self._n[i].sum(-1, keepdims=True)
        bonus = np.sqrt(2 * np.log(np.maximum(total, 1)) / np.maximum(n, 1))
        index = np.where(n > 0, self._sum[i] / np.maximum(n, 1) + bonus, np.inf)
        out.append(np.eye(k)[_argmax_random(np.where(np.isinf(index), 1e300, index), rng)])
    return tuple(out)

  def act(self, round, states, rng):
    profile = self._profile(rng)
    return Decision(sample_actions(profile, states, rng), profile)

  def observe(self, round, states, decision, outcome):
    keep = ~outcome.failed
    r = np.clip(_role_rewards(self.spec, outcome), 0, 1)[keep]
    st, act = np.asarray(states)[keep], decision.actions[keep]
    for i, k in enumerate(self.spec.num_actions):
      np.add.at(self._n[i], (st, act[:, i]), 1.0)
      np.add.at(self._sum[i], (st, act[:, i]), r[:, i])
      if self.algorithm == "exp3":
        x = decision.profile[i][st, act[:, i]]
        np.add.at(self._logw[i], (st, act[:, i]), self.gamma * r[:, i] / x / k)

  def config(self):
    return (
      {"name": self.name, "gamma": self.gamma} if self.algorithm == "exp3" else {"name": self.name}
    )


class _PosteriorPolicy(Policy):
  """A policy that keeps a :class:`PayoffPosterior` (prior and forgetting in ``posterior``)."""

  def __init__(self, posterior: Optional[Dict[str, Any]] = None):
    self.posterior_kwargs = dict(posterior or {})

  def reset(self, spec, rng):
    super().reset(spec, rng)
    self.posterior = PayoffPosterior(spec, **self.posterior_kwargs)

  def observe(self, round, states, decision, outcome):
    if decision.actions is not None:
      keep = ~outcome.failed
      self.posterior.add(
        np.asarray(states)[keep],
        decision.actions[keep],
        outcome.correct[keep],
        outcome.tokens[keep],
      )

  def _best_response(self, others: Profile, rng) -> np.ndarray:
    """``[S, N]`` pure best responses of every role in the posterior-mean game to the others'
    mixed actions ``others`` (per role ``[S, n_i]``; role ``i``'s own entry is ignored)."""
    game = self.posterior.game()
    v = _utilities(game, tuple(np.asarray(o, game.dtype) for o in others))
    return np.stack([_argmax_random(np.asarray(vi), rng) for vi in v], -1)

  def config(self):
    return {"name": self.name, "posterior": self.posterior_kwargs}


class FictitiousPlay(_PosteriorPolicy):
  """Fictitious play (Brown, "Iterative solution of games by fictitious play", 1951): each role
  best-responds, in the posterior-mean game, to the empirical frequencies of the others' past
  actions in that state. Round 0 (no history) plays uniformly. Pure policies after that; in
  identical-interest games the empirical frequencies converge to equilibrium (Monderer &
  Shapley, JET 1996), but the play itself may miscoordinate for long stretches.
  """

  name = "fictitious-play"

  def reset(self, spec, rng):
    super().reset(spec, rng)
    self._freq = [np.zeros((spec.num_states, k)) for k in spec.num_actions]

  def act(self, round, states, rng):
    k = self.spec.num_actions
    seen = self._freq[0].sum(-1) > 0  # [S]
    emp = tuple(
      np.where(seen[:, None], f / np.maximum(f.sum(-1, keepdims=True), 1), 1.0 / n)
      for f, n in zip(self._freq, k)
    )
    br = _pure(self._best_response(emp, rng), k)
    profile = tuple(np.where(seen[:, None], b, 1.0 / n) for b, n in zip(br, k))
    return Decision(sample_actions(profile, states, rng), profile)

  def observe(self, round, states, decision, outcome):
    super().observe(round, states, decision, outcome)
    for i, f in enumerate(self._freq):
      np.add.at(f, (np.asarray(states), decision.actions[:, i]), 1.0)


class BestResponseDynamics(_PosteriorPolicy):
  """Simultaneous best-response dynamics: in every state all roles at once best-respond, in the
  posterior-mean game, to the others' actions of the last round (their empirical distribution in
  that state's tasks of round ``t - 1``; the last profile played where the state had no task).
  Round 0 plays uniformly. From a miscoordinated pure profile ``(a, b)`` of a coordination game
  the update is ``(a, b) -> (b, a) -> (a, b)``: it switches conventions every round forever.
  """

  name = "best-response"

  def reset(self, spec, rng):
    super().reset(spec, rng)
    self._last = tuple(np.full((spec.num_states, k), 1.0 / k) for k in spec.num_actions)
    self._started = False

  def act(self, round, states, rng):
    if not self._started:
      profile = self._last
    else:
      profile = _pure(self._best_response(self._last, rng), self.spec.num_actions)
    return Decision(sample_actions(profile, states, rng), profile)

  def observe(self, round, states, decision, outcome):
    super().observe(round, states, decision, outcome)
    self._started = True
    st = np.asarray(states)
    last = []
    for i, k in enumerate(self.spec.num_actions):
      c = np.zeros((self.spec.num_states, k))
      np.add.at(c, (st, decision.actions[:, i]), 1.0)
      tot = c.sum(-1, keepdims=True)
      last.append(np.where(tot > 0, c / np.maximum(tot, 1), decision.profile[i]))
    self._last = tuple(last)


class BestOfN(Policy):
  """The single-model baseline: ``n`` samples per task and a majority vote
  (``env.best_of_n``), at a fixed ``n`` or at a matched token budget.

  With ``token_budget`` (tokens per task, e.g. DICE-PC's measured mean tokens per task), round 0
  plays ``n = 1`` to measure the tokens ``k_1`` of one sample, and every later round plays
  ``n = max(1, round(token_budget / k_1))``.

  Args:
    n: samples per task (exclusive with ``token_budget``).
    token_budget: tokens per task to match.
  """

  name = "best-of-n"

  def __init__(self, n: Optional[int] = None, *, token_budget: Optional[float] = None):
    if (n is None) == (token_budget is None):
      raise ValueError("give exactly one of n and token_budget.")
    self.n = None if n is None else _checks.positive_int(n, "n")
    self.token_budget = (
      None if token_budget is None else _checks.positive(token_budget, "token_budget")
    )

  def reset(self, spec, rng):
    super().reset(spec, rng)
    self._n = self.n
    self._tokens = []

  def act(self, round, states, rng):
    n = 1 if self._n is None else self._n
    return Decision(None, None, best_of_n=n)

  def observe(self, round, states, decision, outcome):
    if self._n is None:
      keep = ~outcome.failed
      if np.any(keep):
        per_sample = float(outcome.tokens[keep].sum(-1).mean()) / decision.best_of_n
        self._n = max(1, int(round_half_up(self.token_budget / max(per_sample, 1e-12))))

  def config(self):
    return {"name": self.name, "n": self.n, "token_budget": self.token_budget}


def round_half_up(x: float) -> int:
  return int(math.floor(x + 0.5))


class DICEPC(_PosteriorPolicy):
  """DICE-PC: every round, play the HQRE of the posterior game (DESIGN §3, §7).

  Round ``t``: build the posterior-mean game ``U^t_i(s, a)`` (or a Thompson draw) of every state
  from a :class:`PayoffPosterior`; solve

      x_i(.|s) = softmax(log rho_i(.|s) + v_i(x(.|s)) / tau_i(s))     for every role i, state s

  for all states in **one** batched :func:`dice_jax.solve` call (batch axis = state), warm-started
  from last round's solution; certify it (:func:`dice_jax.certify.certify`: exact alpha for two
  roles, the vertex bound for more) and sample every task's joint action from the HQRE of its
  state. Unlike best-response dynamics, the HQRE is a continuous function of the posterior, so as
  the posterior concentrates the played policy converges instead of switching conventions
  (McKelvey & Palfrey, "Quantal response equilibria for normal form games", GEB 1995, for the
  logit QRE it generalises).

  **Selection levers.** Where several conventions are equally good the HQRE must still pick a
  profile:

  * *Reference policies* ``rho_i`` (per role, optionally per state): the default convention the
    HQRE leans toward. With the uniform reference and equally good conventions the HQRE is the
    uniform mixture -- unique, certified and stable, but miscoordinated; a reference tilted
    toward one convention moves the HQRE's mass onto it (measured effects:
    ``benchmarks/results/dice_pc_levers.json`` and the DICE-PC guide).
  * *Per-state temperatures* lowered as the posterior concentrates (``final_temperature``):
    ``tau_t(s) = max(floor_t(s), tau_end + (tau_0 - tau_end) c_t(s))``, ``c_t(s)`` the
    profile-weighted posterior std of the success probabilities relative to the prior's, and the
    floor ``(1 + margin) alpha_upper(s)`` from the posterior game's rigorous monotonicity bound,
    so every round's HQRE stays certified unique. The certified floor caps what temperature
    alone can buy in a coordination game (``alpha`` equals the convention's payoff advantage);
    the reference is the stronger lever. ``final_temperature = temperature`` gives "``tau``, raised to the floor
    where needed". When annealing, evaluate equilibrium regret at an explicit temperature
    (:meth:`target` returns ``tau_end``, which may lie below the floor).

  * *A moving reference* (``magnet > 0``; proximal / magnet updates, Sokota et al., "A Unified
    Approach to Reinforcement Learning, Quantal Response Equilibria, and Two-Player Zero-Sum
    Games", ICLR 2023, §5 "moving magnet"; Perolat et al., "From Poincaré Recurrence to
    Convergence in Imperfect Information Games: Finding Equilibrium via Regularization", ICML
    2021, reward transformation iterated with the regularising policy reset to the last
    equilibrium): round ``t`` solves with the reference

        rho_t(s) = (1 - beta_t(s)) rho_0(s) + beta_t(s) m_t(s)

    Each round is still the HQRE of one fixed game, temperature and reference, so it stays
    unique and certified (monotonicity and the margin do not depend on ``rho``: the reference
    only shifts the regularised operator ``F_tau`` by the constant ``-tau log rho``). The
    *target* ``m_t`` (``magnet_target``):

    - ``"hqre"``: the mean ``xbar_t`` of the last ``magnet_window`` rounds' HQREs. With
      ``beta = 1`` the round's HQRE is the proximal-point step
      ``x_{t+1} = argmax_x <v(x_{t+1}), x> - tau KL(x || x_t)`` (Perolat et al.'s iteration with
      one round per reset), whose fixed points are the Nash equilibria of the unregularised
      game; from a symmetric start it follows the convention the HQRE already leans to, at a
      per-round log-odds gain ``(v_k - v_j) / tau``.
    - ``"welfare"``: per state the pure profile ``e_{a*}`` of the joint action
      ``a* = argmax_a sum_i U^t_i(s, a)`` of the round's posterior game (posterior-mean, or the
      Thompson draw with ``sampling="thompson"``, which makes the convention choice posterior
      sampling; ties broken uniformly at random). In an identical-interest game this is the
      payoff-dominant convention of the posterior; every role leans to the same joint action,
      so the roles switch conventions together when the posterior's best one changes.

    The *weight* ``beta_t(s)`` (``magnet_schedule``), ``b_t = magnet * min(1, t / magnet_warmup)``:

    - ``"linear"``: ``beta_t = b_t``;
    - ``"concentration"``: ``beta_t(s) = 1 - (1 - b_t) min(1, c_t(s))``, with ``c_t(s)`` the
      profile-weighted posterior standard deviation of the success probabilities relative to the
      prior's (the quantity the temperature annealing uses). As the posterior concentrates,
      ``beta_t -> 1``: the reference's floor ``(1 - beta_t) rho_0`` shrinks like
      ``1 / sqrt(n)`` and the sequence approaches the proximal-point limit (a pure convention,
      off-convention mass ``O((1 - beta_t) exp(-d / tau))``); with forgetting
      (``posterior={"discount": gamma}``) each cell's effective sample size saturates at
      ``B_s / (1 - gamma)`` (:class:`PayoffPosterior`), so ``c_t`` stays bounded away from 0
      and the magnet never locks completely.

    ``beta_t < 1`` always, so ``rho_t`` stays strictly positive (``rho_0`` is). The record of
    each round holds ``reference``.

  Args:
    temperature: ``tau_0 > 0``: a scalar, one per role ``[N]`` or per state and role ``[S, N]``.
    reference: ``rho_i`` per role (``None``: uniform), each ``[n_i]`` or ``[S, n_i]``.
    final_temperature: optional annealing target (same shapes); ``None`` keeps ``tau_0``.
    margin: relative margin ``> 0`` of the certified floor ``(1 + margin) alpha_upper``.
    sampling: ``"mean"`` (posterior-mean game) or ``"thompson"`` (one Beta draw per round).
    method: the :func:`dice_jax.solve` method (default ``"mirror"``).
    tol: solver residual tolerance (default the solver's: 1e-8 in float64).
    certify: whether to certify every round.
    posterior: keyword arguments of :class:`PayoffPosterior` (``alpha0``, ``beta0``,
      ``token_prior``, ``token_pseudocount``, ``discount``).
    magnet: weight ``beta`` in ``[0, 1)`` of the last rounds' HQRE in the reference (``0``: the
      fixed reference ``rho_0``).
    magnet_warmup: rounds ``>= 0`` over which ``beta_t`` ramps linearly up to ``magnet``.
    magnet_window: how many of the last rounds' HQREs ``xbar_t`` averages (``>= 1``).
    magnet_target: ``"hqre"`` (the last rounds' HQREs) or ``"welfare"`` (the posterior game's
      welfare-maximising joint action).
    magnet_schedule: ``"linear"`` or ``"concentration"`` (``beta_t -> 1`` as the posterior
      concentrates).

  Raises:
    ValueError: naming the argument, for temperatures ``<= 0``, references that are not
      distributions of the right length, a bad margin, sampling or method; on :meth:`reset`
      for a spec with fewer than two roles or shapes that do not match it.
  """

  name = "dice-pc"

  def __init__(
    self,
    temperature=1.0,
    *,
    reference: Optional[Sequence] = None,
    final_temperature=None,
    margin: float = 0.1,
    sampling: str = "mean",
    method: str = "mirror",
    tol: Optional[float] = None,
    certify: bool = True,
    posterior: Optional[Dict[str, Any]] = None,
    magnet: float = 0.0,
    magnet_warmup: int = 0,
    magnet_window: int = 1,
    magnet_target: str = "hqre",
    magnet_schedule: str = "linear",
  ):
    super().__init__(posterior)
    self.magnet = _checks.probability(magnet, "magnet", open_high=True)
    if (
      isinstance(magnet_warmup, bool)
      or not isinstance(magnet_warmup, (int, np.integer))
      or magnet_warmup < 0
    ):
      raise ValueError(f"magnet_warmup must be an integer >= 0; got {magnet_warmup!r}.")
    self.magnet_warmup = int(magnet_warmup)
    self.magnet_window = _checks.positive_int(magnet_window, "magnet_window")
    if magnet_target not in ("hqre", "welfare"):
      raise ValueError(f"magnet_target must be 'hqre' or 'welfare'; got {magnet_target!r}.")
    if magnet_schedule not in ("linear", "concentration"):
      raise ValueError(
        f"magnet_schedule must be 'linear' or 'concentration'; got {magnet_schedule!r}."
      )
    self.magnet_target, self.magnet_schedule = magnet_target, magnet_schedule
    # shape-free checks now; shape checks against the spec in reset()
    for name, v in (("temperature", temperature), ("final_temperature", final_temperature)):
      if v is not None:
        positive_array(v, name)
    if reference is not None and (
      isinstance(reference, (str, bytes)) or not hasattr(reference, "__len__")
    ):
      raise ValueError(f"reference must hold one distribution per role; got {reference!r}.")
    for i, r in enumerate(reference or ()):
      if r is not None:
        _checks.distribution(r, f"reference[{i}]")
    self.margin = _checks.positive(margin, "margin")
    fields.choice("sampling", sampling, ("mean", "thompson"))
    from dice_jax.solvers import METHODS  # noqa: PLC0415

    fields.choice("method", method, sorted(METHODS))
    if tol is not None:
      _checks.positive(tol, "tol")
    self.temperature0, self.final_temperature = temperature, final_temperature
    self.reference0 = reference
    self.sampling, self.method, self.tol, self.do_certify = sampling, method, tol, bool(certify)

  def reset(self, spec, rng):
    if spec.num_roles < 2:
      raise ValueError(f"spec must have at least 2 roles for DICE-PC; got {spec.num_roles}.")
    super().reset(spec, rng)
    self.tau0 = _checks.temperatures(self.temperature0, spec, "temperature")
    self.tau_end = (
      None
      if self.final_temperature is None
      else _checks.temperatures(self.final_temperature, spec, "final_temperature")
    )
    self.reference = _checks.references(self.reference0, spec, "reference")
    self._last = None
    self._recent: list = []  # the last magnet_window HQREs (the moving reference's xbar)
    a, b = self.posterior.alpha0, self.posterior.beta0
    m = a / (a + b)
    self._prior_std = math.sqrt(m * (1 - m) / (a + b + 1))

  def target(self):
    return (self.tau0 if self.tau_end is None else self.tau_end), self.reference

  def _temperatures(self, game) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """``(tau [S, N], floor [S] or None)`` for this round."""
    if self.tau_end is None:
      return self.tau0, None
    from dice_jax.certify import alpha_two_player, alpha_vertex_bound  # noqa: PLC0415

    alpha = np.asarray(
      alpha_two_player(game) if self.spec.num_roles == 2 else alpha_vertex_bound(game)
    )
    floor = (1 + self.margin) * np.maximum(alpha, 0) + 1e-9
    return annealed_temperatures(self.tau0, self.tau_end, self._concentration(), floor), floor

  def _concentration(self) -> np.ndarray:
    """``[S]`` posterior std of the success probabilities, weighted by last round's joint
    policy (the reference before the first round), relative to the prior's std."""
    x = self._last if self._last is not None else self.reference
    std = self.posterior.success_std()
    return np.sum(joint_distribution(x) * std, axis=tuple(range(1, std.ndim))) / self._prior_std

  def act(self, round, states, rng):
    import dice_jax as dj  # noqa: PLC0415

    if self.sampling == "thompson":
      game = self.posterior.thompson_game(rng)
    else:
      game = self.posterior.game()
    tau, floor = self._temperatures(game)
    reference = self.round_reference(round, game, rng)
    init = None if self._last is None else [_checks.interior(p) for p in self._last]
    sol = dj.solve(
      game, tau, reference=list(reference), init=init, tol=self.tol, method=self.method
    )
    profile = tuple(np.asarray(p, np.float64) for p in sol.probabilities)
    profile = tuple(p / p.sum(-1, keepdims=True) for p in profile)
    self._last = profile
    if self.magnet > 0:
      self._recent = (self._recent + [profile])[-self.magnet_window :]
    solver = SolverInfo(
      residual=np.asarray(sol.residual).tolist(),
      result=[str(r) for r in sol.result_names()],
      steps=np.asarray(sol.steps).tolist(),
    )
    certificate = None
    if self.do_certify:
      # tiered=False: the exact alpha (two roles) the temperature floor is computed from
      cert = dj.certify.certify(game, tau, sol, reference=list(reference), tiered=False)
      fin = lambda a: [float(v) if np.isfinite(v) else None for v in np.asarray(a)]
      certificate = CertificateInfo(
        certified=np.asarray(cert.certified).tolist(),
        margin=fin(cert.margin),
        alpha_upper=fin(cert.alpha_upper),
        error_bound=fin(cert.error_bound),
      )
    info = HQREInfo(
      temperature=tau,
      solver=solver,
      temperature_floor=floor,
      certificate=certificate,
      reference=None
      if self.magnet == 0
      else [[r[s].tolist() for r in reference] for s in range(self.spec.num_states)],
    )
    return Decision(sample_actions(profile, states, rng), profile, info=info)

  def config(self):
    f = lambda v: None if v is None else np.asarray(v).tolist()
    return {
      "name": self.name,
      "temperature": f(self.temperature0),
      "final_temperature": f(self.final_temperature),
      "reference": None if self.reference0 is None else [f(r) for r in self.reference0],
      "margin": self.margin,
      "sampling": self.sampling,
      "method": self.method,
      "tol": self.tol,
      "certify": self.do_certify,
      "posterior": self.posterior_kwargs,
      "magnet": self.magnet,
      "magnet_warmup": self.magnet_warmup,
      "magnet_window": self.magnet_window,
      "magnet_target": self.magnet_target,
      "magnet_schedule": self.magnet_schedule,
    }

  def magnet_weight(self, round: int) -> np.ndarray:
    """``[S]`` the weight ``beta_t(s)`` of the target in round ``round``'s reference, at the
    current posterior and last round's HQRE (what :meth:`act` of that round uses)."""
    b = self.magnet * (1.0 if self.magnet_warmup == 0 else min(1.0, round / self.magnet_warmup))
    beta = np.full(self.spec.num_states, b)
    if self.magnet_schedule == "concentration" and self.magnet > 0:
      beta = 1.0 - (1.0 - b) * np.clip(self._concentration(), 0.0, 1.0)
    return beta

  def round_reference(self, round: int, game=None, rng=None) -> Profile:
    """The reference ``rho_t`` of round ``round``: per role ``[S, n_i]`` (class docstring).

    ``game`` (the round's posterior game) and ``rng`` (for ties) are needed by the
    ``"welfare"`` target only."""
    if self.magnet == 0 or not self._recent:
      return self.reference
    beta = self.magnet_weight(round)[:, None]
    if self.magnet_target == "welfare":
      if game is None or rng is None:
        raise ValueError("game and rng: the 'welfare' magnet target needs both.")
      target = _pure(self._welfare_convention(game, rng), self.spec.num_actions)
    else:
      target = tuple(
        np.mean([x[i] for x in self._recent], axis=0) for i in range(len(self.reference))
      )
    out = []
    for rho, m in zip(self.reference, target):
      mix = (1 - beta) * rho + beta * m
      out.append(mix / mix.sum(-1, keepdims=True))
    return tuple(out)

  def _welfare_convention(self, game, rng) -> np.ndarray:
    """``[S, N]`` per state the joint action maximising ``sum_i U_i(s, a)`` (ties at random)."""
    welfare = np.sum([np.asarray(u, np.float64) for u in game.payoffs], axis=0)  # [S, n..]
    flat = welfare.reshape(welfare.shape[0], -1)
    best = _argmax_random(flat, rng)
    return np.stack(np.unravel_index(best, welfare.shape[1:]), -1)


#: Every method by its config/CLI name; ``POLICIES[name](**options)`` makes a fresh policy.
POLICIES = {
  "dice-pc": DICEPC,
  "uniform": UniformPolicy,
  "ucb1": functools.partial(IndependentLearners, "ucb1"),
  "exp3": functools.partial(IndependentLearners, "exp3"),
  "fictitious-play": FictitiousPlay,
  "best-response": BestResponseDynamics,
  "best-of-n": BestOfN,
}


def make_policy(name: str, **kwargs) -> Policy:
  """A fresh policy from its name in :data:`POLICIES` and its keyword arguments.

  Raises:
    ValueError: ``name`` is not one of :data:`POLICIES`.
  """
  if name not in POLICIES:
    raise ValueError(f"method must be one of {sorted(POLICIES)}; got {name!r}.")
  return POLICIES[name](**kwargs)
