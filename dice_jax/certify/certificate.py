"""``certify``: a verified statement about an approximate HQRE (DESIGN §4-5).

A :class:`Certificate` says, for each game of a batch, whether the HQRE is **certified unique**
(``mu > 0`` or ``mu_W > 0`` from a rigorous upper bound on the monotonicity constant; see
:mod:`dice_jax.certify.monotonicity`), how far the given profile is from it at most
(:mod:`dice_jax.certify.error_bound`), what linear rate the mirror solver is guaranteed
(:mod:`dice_jax.certify.rate`), what rate the solve actually showed, and, when not certified,
which check failed and the sampled evidence.

:func:`certify` computes the bounds in tiers (cheap norm bounds first, the SVD / vertex bound
only for the games they leave undecided) and dispatches the game families that carry their own
temperatures -- Markov, observation and Bayesian games -- to
:mod:`dice_jax.certify.markov`, :mod:`dice_jax.certify.observation` and
:mod:`dice_jax.certify.bayesian` (:mod:`dice_jax.certify.families`).
"""

from __future__ import annotations

import functools
import math
from typing import Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from dice_jax import _validation
from dice_jax.certify import rate as rate_mod
from dice_jax.certify import slices
from dice_jax.certify.error_bound import error_bounds
from dice_jax.certify.monotonicity import is_multilinear, monotonicity_bounds, sample_profiles
from dice_jax.certify.reasons import REASON, ReasonReport, finite_or_none, message
from dice_jax.equilibrium.problem import HQREProblem
from dice_jax.solvers.mirror import Mirror


@struct.dataclass
class Certificate(ReasonReport):
  """What :func:`certify` proves about a profile; leading axes are the game's batch axes.

  Attributes:
    certified: ``True`` only when ``mu > 0`` or ``mu_W > 0`` follows from a rigorous upper bound
      on alpha (then the HQRE is unique and ``error_bound`` is a verified distance to it).
    reason_code: a :class:`REASON` code; :attr:`reason` gives the message.
    margin: ``mu = min tau - alpha_upper``; weighted_margin: ``mu_W = 1 - alpha_W_upper``.
    alpha_upper, alpha_lower: rigorous upper and sampled lower bounds on alpha
      (``alpha_upper = inf`` without a rigorous bound); weighted_alpha_*: the same for alpha_W.
    exact: whether ``alpha_upper`` is exact up to rounding (two-player games).
    error_bound: ``min(error_bound_unweighted, error_bound_weighted)`` -- a bound on
      ``||x - x*||_2`` when certified (``inf`` otherwise).
    lipschitz: the Lipschitz bound ``L`` used by the rate.
    step_size: the mirror step ``eta`` (one for every player) the a-priori rate is for; NaN
      when the rate is for per-player steps (the weighted theorem of
      :mod:`dice_jax.certify.rate`).
    step_sizes: the per-player mirror steps ``(*batch, N)`` the rate is for: run
      ``Mirror(step_size=step_sizes, adaptive=False)`` to get it. By default the theoretical
      step ``eta_safe`` where the theorem gives a rate there, else ``best_step`` (a certified
      game always gets a rate ``< 1`` at a step it can be run with).
    contraction: per-step factor ``1 / (1 + c)`` on ``KL(x* || x_t)`` (1: no guarantee).
    predicted_rate: ``sqrt(contraction)``, the guaranteed per-step decay of distances.
    step_bound: mirror steps from ``init`` after which ``||x_t - x*||_2 <= tol`` is
      guaranteed (``inf``: no guarantee).
    observed_rate: geometric fit of the solution's residual history (NaN without history).
    evidence: the sampled profile attaining ``alpha_lower``; evidence_value: ``alpha_lower``.
    min_temperature: ``min_i tau_i``.
  """

  certified: jax.Array
  reason_code: jax.Array
  margin: jax.Array
  weighted_margin: jax.Array
  alpha_upper: jax.Array
  alpha_lower: jax.Array
  weighted_alpha_upper: jax.Array
  weighted_alpha_lower: jax.Array
  exact: jax.Array
  error_bound: jax.Array
  error_bound_unweighted: jax.Array
  error_bound_weighted: jax.Array
  lipschitz: jax.Array
  step_size: jax.Array
  step_sizes: jax.Array
  contraction: jax.Array
  predicted_rate: jax.Array
  step_bound: jax.Array
  observed_rate: jax.Array
  evidence: Tuple[jax.Array, ...]
  min_temperature: jax.Array

  @property
  def reason(self):
    """The reason as text (``None`` when certified); an object array for a batch."""
    codes = np.asarray(self.reason_code)
    fields = {
      k: np.asarray(getattr(self, k))
      for k in (
        "min_temperature",
        "alpha_upper",
        "alpha_lower",
        "weighted_alpha_upper",
        "weighted_alpha_lower",
      )
    }
    ev = [np.asarray(e) for e in self.evidence]
    out = np.empty(codes.shape, object)
    for idx in np.ndindex(codes.shape):
      out[idx] = message(
        codes[idx], evidence=[e[idx] for e in ev], **{k: float(v[idx]) for k, v in fields.items()}
      )
    return out.item() if codes.ndim == 0 else out

  def to_dict(self) -> dict:
    """JSON-ready summary of one (unbatched) certificate."""
    self.check_single()
    f = finite_or_none
    return {
      "certified": bool(self.certified),
      "margin": f(self.margin),
      "weighted_margin": f(self.weighted_margin),
      "alpha_upper": f(self.alpha_upper),
      "alpha_lower": f(self.alpha_lower),
      "weighted_alpha_upper": f(self.weighted_alpha_upper),
      "weighted_alpha_lower": f(self.weighted_alpha_lower),
      "exact": bool(self.exact),
      "error_bound": f(self.error_bound),
      "lipschitz": f(self.lipschitz),
      "step_size": f(self.step_size),
      "step_sizes": [f(e) for e in np.ravel(self.step_sizes)],
      "contraction": f(self.contraction),
      "predicted_rate": f(self.predicted_rate),
      "step_bound": f(self.step_bound),
      "observed_rate": f(self.observed_rate),
      "reason": self.reason,
      "evidence": [np.asarray(e).tolist() for e in self.evidence],
    }

  def __getitem__(self, index) -> "Certificate":
    return jax.tree_util.tree_map(lambda x: x[index], self)


def certify_arrays(
  game,
  temperature,
  log_reference,
  logits,
  history,
  step_size,
  tol,
  init_logits,
  key,
  *,
  num_samples: int,
  steps_per_check: int = 1,
  fast: bool = False,
  cheap: bool = False,
  equal_temperatures: bool = False,
  with_undecided: bool = False,
  draws=None,
):
  """The traceable core of :func:`certify` (no input checks): all arrays carry the batch axes
  ``(*batch, ...)``; ``history`` may be ``None``; ``step_size`` may be ``None`` (the mirror
  solver's theoretical step ``eta_safe``). ``cheap``: the first tier of :func:`certify`
  (:func:`dice_jax.certify.slices.cheap_norm_bounds`, the halfrange Lipschitz bound).
  ``equal_temperatures``: the caller promises equal temperatures across players in every game
  (:func:`dice_jax.certify.monotonicity.monotonicity_bounds`). ``with_undecided``: return
  ``(certificate, undecided)``, ``undecided`` per game whether the verdict is one the full
  computation might not share (``cheap`` only: a ``margin_not_positive`` that the tier's bounds
  on the full computation's results do not settle; always ``False`` otherwise). ``draws``: the
  shared sample profiles ``sample_profiles(key, num_actions, num_samples, dtype)`` if already
  drawn (``key`` is then unused)."""
  batch = tuple(getattr(game, "batch_shape", ()))
  num_actions = tuple(game.num_actions)
  dtype = temperature.dtype
  logits = tuple(jax.nn.log_softmax(l, axis=-1) for l in logits)
  tmin = jnp.min(temperature, axis=-1)

  # sample profiles: shared draws plus the profile being certified
  if draws is None:
    draws = sample_profiles(key, num_actions, num_samples, dtype)
  mono = monotonicity_bounds(
    game,
    temperature,
    tuple(jnp.exp(l)[..., None, :] for l in logits),
    fast=fast,
    cheap=cheap,
    equal_temperatures=equal_temperatures,
    shared_profiles=draws,
  )
  fast = fast or cheap

  bound, unweighted, weighted = error_bounds(
    game, temperature, log_reference, logits, mono.margin, mono.weighted_margin
  )
  problem = HQREProblem(game=game, temperature=temperature, log_reference=log_reference)
  lip = _lipschitz(game, problem, len(batch), fast)
  rigorous = jnp.isfinite(mono.alpha_upper)
  if step_size is None:
    eta, steps_per_player, kl = _default_step(
      game, problem, temperature, tmin, mono, lip, len(batch), fast
    )
  else:
    eta = jnp.broadcast_to(jnp.asarray(step_size, dtype), batch)
    steps_per_player = jnp.broadcast_to(eta[..., None], temperature.shape)
    kl = rate_mod.kl_contraction(eta, tmin, mono.alpha_upper, lip)
  kl = jnp.where(rigorous, kl, 1.0)
  steps = rate_mod.step_bound(kl, rate_mod.initial_kl_bound(init_logits), tol)
  observed = (
    jnp.full(batch, jnp.nan, dtype)
    if history is None
    else rate_mod.observed_rate(history, steps_per_check)
  )

  finite = jnp.isfinite(bound) | ~(mono.margin > 0) & ~(mono.weighted_margin > 0)
  finite &= jnp.isfinite(mono.alpha_lower) & jnp.isfinite(mono.weighted_alpha_lower)
  for l in logits:
    finite &= jnp.all(jnp.isfinite(l), axis=-1)
  positive = (mono.margin > 0) | (mono.weighted_margin > 0)
  certified = finite & mono.rigorous & positive
  refuted = (mono.alpha_lower >= tmin) & (mono.weighted_alpha_lower >= 1)
  code = jnp.where(
    ~finite,
    REASON.NONFINITE,
    jnp.where(
      certified,
      REASON.CERTIFIED,
      jnp.where(
        refuted,
        REASON.REFUTED,
        jnp.where(mono.rigorous, REASON.MARGIN_NOT_POSITIVE, REASON.NO_RIGOROUS_BOUND),
      ),
    ),
  ).astype(jnp.int32)
  # margin_not_positive is final when the full computation can neither certify (its upper
  # bounds are at least the floors) nor refute (its sampled eigenvalues stay below).
  settled = (
    (mono.alpha_upper_floor >= tmin)
    & (mono.weighted_alpha_upper_floor >= 1)
    & (mono.below_min_temperature | mono.weighted_below_one)
  )
  undecided = (code == REASON.MARGIN_NOT_POSITIVE) & ~settled if cheap else jnp.zeros_like(settled)
  inf = jnp.asarray(jnp.inf, dtype)
  cert = Certificate(
    certified=certified,
    reason_code=code,
    margin=mono.margin,
    weighted_margin=mono.weighted_margin,
    alpha_upper=mono.alpha_upper,
    alpha_lower=mono.alpha_lower,
    weighted_alpha_upper=mono.weighted_alpha_upper,
    weighted_alpha_lower=mono.weighted_alpha_lower,
    exact=mono.exact,
    error_bound=jnp.where(certified, bound, inf),
    error_bound_unweighted=jnp.where(certified, unweighted, inf),
    error_bound_weighted=jnp.where(certified, weighted, inf),
    lipschitz=lip,
    step_size=eta,
    step_sizes=steps_per_player,
    contraction=kl,
    predicted_rate=jnp.sqrt(kl),
    step_bound=steps,
    observed_rate=observed,
    evidence=mono.evidence,
    min_temperature=tmin,
  )
  return (cert, undecided) if with_undecided else cert


@struct.dataclass
class _WeightedHalfranges:
  """A view of a game whose payoff half-ranges are ``w_i h_i`` (those of ``W V``), for
  :meth:`HQREProblem.lipschitz` without building the scaled payoffs."""

  halfranges: jax.Array

  def payoff_halfrange(self) -> jax.Array:
    return self.halfranges


def _lipschitz(game, problem, batch_ndim, fast, weights=None):
  """The smaller of the two Lipschitz bounds of the rate theorem (``fast``: halfrange only),
  of ``V`` or, with ``weights``, of ``W V``."""
  if weights is not None:
    problem = problem.replace(game=_WeightedHalfranges(game.payoff_halfrange() * weights))
  lip = problem.lipschitz()
  if is_multilinear(game) and not fast:
    lip = jnp.minimum(lip, slices.lipschitz_l2(game.payoffs, batch_ndim, weights))
  return lip


def _default_step(game, problem, temperature, tmin, mono, lip, batch_ndim, fast):
  """``(eta, per-player steps, KL factor)`` for the default step (:mod:`dice_jax.certify.rate`).

  The theoretical step ``eta_safe`` where the theorem gives a rate there; otherwise the better
  of ``best_step`` (unweighted theorem, needs ``mu > 0``) and the weighted theorem's best
  per-player steps ``eta_W / tau_i`` (needs ``mu_W > 0``).
  """
  eta_safe = Mirror().safe_step(problem)[..., 0]
  kl_safe = rate_mod.kl_contraction(eta_safe, tmin, mono.alpha_upper, lip)
  eta_best = rate_mod.best_step(tmin, mono.alpha_upper, lip)
  kl_best = rate_mod.kl_contraction(jnp.nan_to_num(eta_best), tmin, mono.alpha_upper, lip)
  w = 1.0 / temperature
  one = jnp.ones_like(tmin)
  if is_multilinear(game):
    lip_w = _lipschitz(game, problem, batch_ndim, fast, w)
    eta_w = rate_mod.best_step(one, mono.weighted_alpha_upper, lip_w)
    kl_w = rate_mod.kl_contraction(jnp.nan_to_num(eta_w), one, mono.weighted_alpha_upper, lip_w)
  else:  # no rigorous alpha_W
    eta_w, kl_w = jnp.full_like(tmin, jnp.nan), one
  use_w = (kl_w < kl_best) & ~(kl_safe < 1)
  use_best = ~use_w & ~(kl_safe < 1) & (kl_best < 1)
  eta = jnp.where(use_best, eta_best, eta_safe)
  per = jnp.where(use_w[..., None], eta_w[..., None] * w, eta[..., None] * jnp.ones_like(w))
  kl = jnp.where(use_w, kl_w, jnp.where(use_best, kl_best, kl_safe))
  return jnp.where(use_w, jnp.nan, eta), per, kl


@functools.partial(
  jax.jit,
  static_argnames=(
    "num_samples",
    "steps_per_check",
    "default_step",
    "fast",
    "cheap",
    "equal_temperatures",
  ),
)
def _certify_jit(
  game,
  temperature,
  log_reference,
  logits,
  history,
  step_size,
  tol,
  init_logits,
  draws,
  *,
  num_samples,
  steps_per_check,
  default_step,
  fast,
  cheap=False,
  equal_temperatures=False,
):
  return certify_arrays(
    game,
    temperature,
    log_reference,
    logits,
    history,
    None if default_step else step_size,
    tol,
    init_logits,
    None,
    num_samples=num_samples,
    steps_per_check=steps_per_check,
    fast=fast,
    cheap=cheap,
    equal_temperatures=equal_temperatures,
    with_undecided=True,
    draws=draws,
  )


MIN_TIER_BATCH = 64


def _tiered(args, batch, options) -> Certificate:
  """Tier 1 (cheap bounds) for every game, then the full computation only for the games tier 1
  leaves undecided (``margin_not_positive``): gathered into one batch (padded to a power of two,
  at least :data:`MIN_TIER_BATCH` or the whole batch, to bound recompilation) and scattered
  back."""
  first, undecided = _certify_jit(*args, **options, cheap=True)
  todo = np.flatnonzero(np.asarray(undecided).ravel())
  if todo.size == 0:
    return first
  size = math.prod(batch)
  pad = min(size, max(MIN_TIER_BATCH, 1 << (todo.size - 1).bit_length()))
  if pad == size:  # small batches: one more compilation at most, the whole batch
    second = _certify_jit(*args, **options)[0]
    pick = todo
  else:
    idx = np.concatenate([todo, np.full(pad - todo.size, todo[0])])
    game, tau, log_ref, logits, history, step, tol, init, draws = args
    take = lambda x: np.asarray(x).reshape((size, *np.shape(x)[len(batch) :]))[idx]
    sub = (
      jax.tree_util.tree_map(take, game),
      take(tau),
      tuple(map(take, log_ref)),
      tuple(map(take, logits)),
      None if history is None else take(history),
      step,
      tol,
      tuple(map(take, init)),
      draws,
    )
    second = _certify_jit(*sub, **options)[0]
    pick = np.arange(todo.size)
  if not batch:
    return second

  def put(a, b):
    a = np.array(a).reshape((size, *np.shape(a)[len(batch) :]))
    b = np.asarray(b).reshape((-1, *a.shape[1:]))
    a[todo] = b[pick]
    return jnp.asarray(a.reshape((*batch, *a.shape[1:])))

  return jax.tree_util.tree_map(put, first, second)


@functools.lru_cache(maxsize=16)
def _default_draws(num_actions, num_samples, dtype):
  """The sample profiles of ``PRNGKey(0)``, drawn once per shape (the random-number kernels
  and an eager key otherwise run in every call)."""
  return sample_profiles(jax.random.PRNGKey(0), num_actions, num_samples, dtype)


@functools.lru_cache(maxsize=8)
def _uniform_log_reference(batch, num_actions, dtype):
  """``log rho_i = -log n_i`` (the uniform reference) per player, ``(*batch, n_i)``, made on the
  device once per shape (the NumPy arrays it replaces were copied to the device in every call)."""
  return tuple(jnp.full((*batch, k), -math.log(k), dtype) for k in num_actions)


def _log_profile(name, value, batch, n_actions, dtype, *, is_logits=False):
  n = len(n_actions)
  if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != n:
    raise ValueError(f"{name} must hold one array per player ({n} players).")
  out = []
  for i, (p, k) in enumerate(zip(value, n_actions)):
    _validation.broadcast_or_raise(
      f"{name}[{i}]", np.shape(p), (*batch, k), f"batch shape {batch} by {k} actions of player {i}"
    )
    if is_logits:
      _validation.require_finite(f"{name}[{i}]", p)
      if not (isinstance(p, jax.Array) and p.shape == (*batch, k) and p.dtype == dtype):
        p = jnp.broadcast_to(jnp.asarray(p, dtype), (*batch, k))  # (a solver's logits are kept)
      out.append(p)
    else:
      # The last axis is never broadcast: a length-1 "distribution" sums to 1 too.
      q = _validation.distribution(f"{name}[{i}]", p, k, batch, meaning=f"actions of player {i}")
      out.append(jnp.log(jnp.asarray(q, dtype)))
  return tuple(out)


def certify(
  game,
  temperature=None,
  solution=None,
  *,
  reference: Optional[Sequence] = None,
  step_size=None,
  tol: Optional[float] = None,
  init: Optional[Sequence] = None,
  num_samples: int = 8,
  key=None,
  steps_per_check: int = 1,
  fast: bool = False,
  convention: Optional[str] = None,
  tiered: bool = True,
):
  """Certify an approximate HQRE: uniqueness, a verified error bound and linear rates.

  Games that carry their own temperatures are certified as ``certify(game, solution)``:

  * a :class:`dice_jax.markov.MarkovGame` -> :func:`dice_jax.certify.certify_markov` (the
    contraction bound of :mod:`dice_jax.certify.markov`; returns a
    :class:`~dice_jax.certify.MarkovCertificate`; ``convention`` and ``tol`` apply);
  * a :class:`dice_jax.markov.ObservationGame` -> :func:`dice_jax.certify.certify_observation`;
  * a :class:`dice_jax.markov.BayesianGame` -> :func:`dice_jax.certify.certify_bayesian` (the
    agent-form normal-form game of :mod:`dice_jax.certify.bayesian`; returns a
    :class:`Certificate` whose per-player arrays are ``(T_i, n_i)``).

  Args:
    game: a game (e.g. :class:`dice_jax.NormalFormGame`, possibly batched). Rigorous bounds need
      a multilinear (normal-form) game; any other game gets sampled lower bounds only.
    temperature: ``tau > 0`` broadcastable to ``(*batch, N)`` (normal-form games only).
    solution: a :class:`dice_jax.Solution` (its ``logits`` and, if recorded, ``history``) or a
      profile: one probability array ``(*batch, n_i)`` per player.
    reference: reference policies ``rho_i`` (default uniform), as in :func:`dice_jax.solve`.
    step_size: the mirror step ``eta > 0`` (a scalar) the a-priori rate is computed for;
      default the theoretical step ``eta_safe = min tau / L_1^2`` that ``Mirror(adaptive=False)``
      uses (see :mod:`dice_jax.certify.rate` for the adaptive step).
    tol: distance target of ``step_bound``; default ``1e-8`` (float64) or ``1e-5`` (float32).
    init: the solver's initial profile for ``step_bound`` (default ``reference``).
    num_samples: sampled profiles for the lower bounds (plus the solution's profile).
    key: ``jax.random`` key for the samples (default ``PRNGKey(0)``: deterministic).
    steps_per_check: solver steps between the entries of ``solution.history``.
    fast: bound alpha without SVDs or eigensolvers (Schatten-norm upper bounds, power-iteration
      lower bounds, a few percent apart; still rigorous, ``exact`` is False) and use only the
      halfrange Lipschitz bound for the rate.
    convention: for Markov and observation games (see above).
    tiered: decide each game with cheap bounds first and compute the full bounds only for the
      games that tier leaves undecided. Tier 1: upper bounds from
      :func:`dice_jax.certify.slices.cheap_norm_bounds` (``min(||C||_F,
      sqrt(||M||_1 ||M||_inf))`` per slice ``M``, ``C = P_i M P_j``, in the vertex bound for
      N players, whose ``lambda_max`` is a Collatz-Wielandt bound); lower bounds from its
      column/row/Frobenius norms (two players) or, for N players, Rayleigh quotients
      ``v^T S_k v / v^T v <= lambda_max(S_k)`` of ``S_k = Q^T sym(W J(x_k)) Q`` at every
      sampled profile ``x_k``; the halfrange Lipschitz bound. A tier-1 upper bound below the
      margin certifies, a tier-1 lower bound above it refutes (both bound the same quantities
      as the full computation). A tier-1 ``margin_not_positive`` is final when tier 1 also
      proves that the full computation could do neither: a lower bound on its vertex bound
      (:func:`dice_jax.certify.monotonicity.alpha_vertex_floor`) reaches the margin and a
      Cholesky factorisation shows every ``lambda_max(S_k)`` below it
      (:func:`dice_jax.certify.monotonicity.spectrum_below`), each a relative ``1e-9`` clear.
      Tier 2, for the other ``margin_not_positive`` games: the full computation (SVD slice
      norms in the vertex bound, ``eigvalsh`` of every ``S_k``, the slice Lipschitz bound; or
      the ``fast`` bounds). The verdicts are those of the full computation; the games decided
      in tier 1 report tier 1's looser ``alpha`` bounds (``exact`` False), error bounds and
      rates.
      ``tiered=False``: the full computation for every game.

  Returns:
    A :class:`Certificate` with the game's batch axes.

  Raises:
    ValueError: naming the argument, for a game that is not a game or has non-finite payoffs,
      temperatures that are not positive/finite or have the wrong shape, a solution or reference
      of the wrong shape or with non-finite or non-distribution values, a bad ``step_size``,
      ``tol`` or ``num_samples``.

  Example:
    >>> import dice_jax
    >>> from dice_jax.certify import certify
    >>> g = dice_jax.games.matching_pennies()
    >>> cert = certify(g, 0.5, dice_jax.solve(g, 0.5))
    >>> bool(cert.certified), float(cert.alpha_upper), cert.reason
    (True, 0.0, None)
  """
  from dice_jax.solvers.solution import Solution  # noqa: PLC0415
  from dice_jax.certify import families  # noqa: PLC0415 - imports dice_jax.markov

  family = families.family(game)
  if family is not None:
    if solution is None:
      temperature, solution = None, temperature
    if temperature is not None:
      raise ValueError(
        f"temperature: a {type(game).__name__} carries its own temperatures; "
        "call certify(game, solution)."
      )
    if solution is None:
      raise ValueError("solution is required: call certify(game, solution).")
    return families.certify_family(
      game,
      solution,
      reference=reference,
      step_size=step_size,
      tol=tol,
      init=init,
      num_samples=num_samples,
      key=key,
      steps_per_check=steps_per_check,
      fast=fast,
      convention=convention,
    )
  if convention is not None:
    raise ValueError(
      "convention applies to Markov and observation games only; got "
      f"{convention!r} for a {type(game).__name__}."
    )
  if temperature is None or solution is None:
    raise ValueError(
      f"{'temperature' if temperature is None else 'solution'} is required for "
      "a normal-form game: call certify(game, temperature, solution)."
    )

  # (also checks that every payoff is finite, naming the field)
  n_actions, batch, dtype, tau = _validation.game_and_temperature(game, temperature)
  concrete_tau = _validation.is_concrete(tau)
  tau = np.asarray(tau, dtype) if concrete_tau else jnp.asarray(tau, dtype)  # NumPy: no dispatch

  history = None
  if isinstance(solution, Solution):
    logits = _log_profile("solution", solution.logits, batch, n_actions, dtype, is_logits=True)
    if solution.history is not None:
      if tuple(np.shape(solution.history))[:-1] != batch:
        raise ValueError(
          f"solution.history has shape {np.shape(solution.history)}; expected "
          f"({', '.join(map(str, batch))}{', ' if batch else ''}H)."
        )
      history = jnp.asarray(solution.history, dtype)
  else:
    logits = _log_profile("solution", solution, batch, n_actions, dtype)
  log_reference = (
    _log_profile("reference", reference, batch, n_actions, dtype)
    if reference is not None
    else _uniform_log_reference(batch, tuple(int(k) for k in n_actions), np.dtype(dtype))
  )
  init_logits = (
    _log_profile("init", init, batch, n_actions, dtype) if init is not None else log_reference
  )
  if step_size is not None:
    if np.ndim(step_size) != 0:
      raise ValueError(
        f"step_size must be a scalar (one step for every player); got shape {np.shape(step_size)}."
      )
    _validation.require_positive("step_size", step_size)
  if tol is not None and not (np.isfinite(tol) and tol > 0):
    raise ValueError(f"tol must be a finite number > 0; got {tol!r}.")
  if not (isinstance(num_samples, (int, np.integer)) and num_samples >= 1):
    raise ValueError(f"num_samples must be a positive integer; got {num_samples!r}.")
  if not (isinstance(steps_per_check, (int, np.integer)) and steps_per_check >= 1):
    raise ValueError(f"steps_per_check must be a positive integer; got {steps_per_check!r}.")
  tol = (1e-8 if jnp.finfo(dtype).bits >= 64 else 1e-5) if tol is None else float(tol)
  n_tuple = tuple(int(k) for k in n_actions)
  draws = (
    _default_draws(n_tuple, int(num_samples), np.dtype(dtype))
    if key is None
    else sample_profiles(key, n_tuple, int(num_samples), dtype)
  )
  args = (
    game,
    tau,
    log_reference,
    logits,
    history,
    np.asarray(1.0 if step_size is None else step_size, dtype),
    np.asarray(tol, dtype),
    init_logits,
    draws,
  )
  equal = concrete_tau and bool(np.all(tau == tau[..., :1]))
  options = dict(
    num_samples=int(num_samples),
    steps_per_check=int(steps_per_check),
    default_step=step_size is None,
    fast=bool(fast),
    equal_temperatures=equal,
  )
  if tiered and is_multilinear(game) and _validation.is_concrete(game.payoffs[0]):
    return _tiered(args, batch, options)
  return _certify_jit(*args, **options)[0]
