r"""A certificate for the Markov HQRE: a contraction bound for the response map (DESIGN §6).

Notation. ``pi = (pi_i(.|s))`` a stationary profile, ``T`` the response map
``(T pi)_i(.|s) = softmax(log rho_i(.|s) + Q^pi_i(s, .) / tau_i(s))`` with ``Q^pi`` the exact
regularised action values of :mod:`dice_jax.markov.evaluation` (convention ``own``,
``zero_sum`` or ``logit``), ``osc f = max f - min f`` and the metric

    delta(pi, pi') = max_s sum_i ||pi_i(.|s) - pi'_i(.|s)||_1 .

The HQRE are the fixed points of ``T``. Everything below is computed from the game alone
(rewards ``R``, transitions ``P``, ``gamma``, ``tau``, ``rho``), never from an iterate, except
where the iterate's own figure is added to the set ``D`` (last step).

**Facts.**
(a) ``||softmax(z) - softmax(z')||_1 <= osc(z - z') / 2``: the softmax Jacobian maps ``d`` to
``p * (d - <p, d>)``, whose l1 norm is the mean absolute deviation of ``d`` under ``p``, at most
half its range; integrate along the segment.
(b) For a signed measure ``m`` of total mass 0, ``|<m, f>| <= ||m||_1 osc(f) / 2``; the total
variation of two product distributions is at most the sum of the marginals' total variations.
Telescoping over the agents, ``|sum_a (pi(a|s) - pi'(a|s)) G(a)| <= sum_j ||pi_j - pi'_j||_1 / 2
* max_{a_-j} osc_{a_j} G``.
(c) Hoeffding's lemma: if ``osc log(p / rho) <= Lam`` then ``KL(p || rho) <= Lam^2 / 8``
(``psi(t) = log E_rho e^{t f}``, ``f = log p/rho``, has ``psi(0) = psi(1) = 0``,
``psi'' <= Lam^2 / 4`` and ``KL = psi'(1) = int_0^1 t psi''(t) dt``). The set
``{p : osc log(p / rho) <= Lam}`` is convex (``p_a rho_b <= e^Lam p_b rho_a`` is linear), and on
it ``p -> KL(p || rho)`` is ``Lam / 2``-Lipschitz in l1 (its derivative along a segment is
``<p - p', log(p_t / rho)>``, bounded by (b)).
(d) ``V = (I - gamma P_pi)^{-1} c = sum_k gamma^k P_pi^k c`` gives ``osc V <= osc c / (1 - gamma)``
for the per-state Bellman reward ``c`` of the convention.

**Constants of the game** (per state ``s``; ``a_-j`` the others' actions):

* ``e^R_ij(s) = max_{a_-j} osc_{a_j} R_i(s, a_j, a_-j)`` (agent j's influence on i's reward);
* ``D_i(s) = max_{a_i, a_i'} osc_{a_-i} (R_i(s, a_i, .) - R_i(s, a_i', .))`` (interaction);
* ``c2_j(s) = max_{a_j, a_j', a_-j} ||P(.|s, a_j, a_-j) - P(.|s, a_j', a_-j)||_1 / 2`` (j's
  influence on the transition, in [0, 1]);
* ``cP_i(s) = min(2, max_{a_i, a_i', a_-i} ||m(a_-i) - m(a^0_-i)||_1)``,
  ``m(a_-i) = P(.|s, a_i, a_-i) - P(.|s, a_i', a_-i)`` (interaction in the transition).

**Step 1: a set D that holds every fixed point.** Let ``Lam_i(s)`` bound
``osc_a log(pi_i(.|s) / rho_i(.|s))`` and ``K_i(s) = min(log(1 / min rho_i(.|s)), Lam^2 / 8)``
bound the KL (c). The Bellman reward ``c_i(s)`` of the convention then lies in
``[min_a R_i(s, a) - tau_i K_i, max_a R_i(s, a)]`` (``own``; no KL term for ``logit``; for
``zero_sum`` ``c_1 = r_1 - tau_1 KL_1 + tau_2 KL_2`` and ``V_2 = -V_1``), so by (d)
``osc V_i <= Om^V_i = (max_s hi_i - min_s lo_i) / (1 - gamma)``, and
``Q_i(s, a_i) - Q_i(s, a_i') = E_{pi_-i}[G(a_i, .) - G(a_i', .)]`` with
``G = R + gamma P V`` gives ``osc Q_i(s, .) <= Om^Q_i(s) = e^R_ii(s) + gamma c2_i(s) Om^V_i``.
A fixed point satisfies ``log(pi_i / rho_i) = Q_i / tau_i - const``, so
``Lam_i(s) <- min(Lam_i(s), Om^Q_i(s) / tau_i(s))`` is again a bound for every fixed point.
Start from ``Lam = inf`` (``K = log(1 / min rho)``) and iterate: the sequence decreases (every
map is monotone) and every iterate bounds every fixed point; we stop after a fixed number of
rounds (each value inflated by a relative ``64 eps`` against rounding). The final ``D`` (policies
with ``osc log(pi / rho) <= Lam``) is convex, contains every fixed point and the reference
policy, and ``T(D) ⊂ D`` (``T`` maps ``D`` into the next iterate, which is smaller).
Without the KL bound (c) the constant below tends to a positive limit as ``tau -> inf``.

**Step 2: T is q-Lipschitz on D.** For ``pi, pi'`` in ``D`` let ``dV = V^pi - V^pi'``. Then
``dV = (I - gamma P_pi)^{-1} w`` with ``w(s) = sum_a (pi - pi')(a|s) G^{pi'}(s, a) + dKL``-terms,
so by (b), (c), (d) ``osc dV_i <= delta B_i`` with

    B_i = max_{s, j} ( e^R_ij(s) + gamma c2_j(s) Om^V_i + kappa_ij(s) ) / (1 - gamma),

``kappa_ij = [i = j] tau_i Lam_i`` (``own``), ``0`` (``logit``), ``tau_j Lam_j`` (``zero_sum``).
Next ``Q^pi_i - Q^pi'_i = (E_{pi_-i} - E_{pi'_-i}) G^pi + E_{pi'_-i} gamma P dV``; the first
part's oscillation over ``a_i`` is at most ``delta_-i / 2 (D_i + gamma cP_i Om^V_i)`` (b), the
second's at most ``gamma c2_i osc dV_i`` (b). With (a):

    delta(T pi, T pi') <= q delta(pi, pi'),
    q = max_s sum_i [ (D_i(s) + gamma cP_i(s) Om^V_i) / 2 + gamma c2_i(s) B_i ] / (2 tau_i(s)).

**Consequences** (``q < 1``). (i) The HQRE is unique: two fixed points lie in ``D`` and
``delta(pi*, pi**) <= q delta(pi*, pi**)``. (ii) A-posteriori bound: for the given ``pi``
enlarge ``D`` to ``D'`` with ``Lam' = max(Lam, osc log(pi / rho))`` (still convex, still holding
every fixed point) and recompute ``q'``; if ``q' < 1``,

    delta(pi, pi*) <= delta(pi, T pi) + delta(T pi, T pi*) <= delta(pi, T pi) + q' delta(pi, pi*)
    =>  delta(pi, pi*) <= delta(pi, T pi) / (1 - q') .

``delta(pi, T pi)`` is computed in floating point; an allowance for the rounding of the linear
solve and the softmax is added. (iii) Rate: the reference policy lies in ``D`` and ``T(D) ⊂ D``,
so soft policy iteration ``pi <- T pi`` -- :class:`dice_jax.solvers.Mirror` with
``step_size = inf`` and ``adaptive=False`` (proximal weight ``w = 0``) -- started at the
reference satisfies ``delta(pi_t, pi*) <= q^t delta(pi_0, pi*)`` and
``delta(pi_t, T pi_t) <= q^t delta(pi_0, T pi_0)``: the predicted rate is ``q``, and the damped
iteration ``pi <- (1 - beta) pi + beta T pi`` contracts by ``1 - beta + beta q``.

The bound is conservative: it certifies only when ``tau`` is large against the reward range
over ``1 - gamma`` (``q = O(gamma^2 osc R / ((1 - gamma)^2 tau))`` for large ``tau``), but it is
rigorous and costs a few reductions of the game's arrays. Decoupled structure is rewarded:
``D_i = 0`` when ``R_i`` is additively separable in ``a_i``, ``c2_i = 0`` when agent i's action
does not move the state. The tests check every inequality above on generated games, at solved
and at perturbed profiles.
"""

from __future__ import annotations

import functools
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from dice_jax import _validation
from dice_jax.certify import rate as rate_mod
from dice_jax.certify._tangent import map_batch
from dice_jax.certify.reasons import REASON, ReasonReport, finite_or_none
from dice_jax.markov import evaluation as ev
from dice_jax.markov.game import MarkovGame

ROUNDS = 64  # downward iterations of step 1


@struct.dataclass
class MarkovCertificate(ReasonReport):
  """What :func:`certify_markov` proves; leading axes are the game's batch axes.

  Attributes:
    certified: ``True`` when ``contraction_at_policy < 1`` (then the HQRE is unique and
      ``error_bound`` is a verified distance to it).
    unique: ``contraction < 1``: the HQRE is unique (a statement about the game alone).
    reason_code: a :class:`dice_jax.certify.REASON` code; :attr:`reason` gives the message.
    contraction: ``q``, the Lipschitz constant of the response map ``T`` in ``delta`` on the
      set ``D`` that holds every HQRE (module docstring).
    contraction_at_policy: ``q'`` on ``D`` enlarged to hold the given policy.
    residual: ``delta(pi, T pi)`` plus its rounding allowance.
    error_bound: ``delta(pi, pi*) = max_s sum_i ||pi_i(.|s) - pi*_i(.|s)||_1 <=`` this
      (``inf`` when not certified).
    predicted_rate: ``q``: per-step factor of ``delta(pi_t, pi*)`` for soft policy iteration
      from the reference policy (1 where ``q >= 1``: no guarantee).
    step_size: the mirror step the rate is for: ``inf`` (``Mirror(step_size=inf,
      adaptive=False)``, i.e. ``pi <- T pi``).
    step_bound: steps of that solver from the reference after which ``delta(pi_t, pi*) <= tol``
      is guaranteed (``inf``: no guarantee).
    observed_rate: geometric fit of the solution's residual history (NaN without history).
    value_oscillation: ``Om^V_i``, a bound on ``osc_s V_i`` over ``D``, ``(*batch, N)``.
    log_ratio_oscillation: ``Lam_i(s)``, the bound on ``osc log(pi*_i(.|s) / rho_i(.|s))``
      that defines ``D``, ``(*batch, N, S)``.
  """

  certified: jax.Array
  unique: jax.Array
  reason_code: jax.Array
  contraction: jax.Array
  contraction_at_policy: jax.Array
  residual: jax.Array
  error_bound: jax.Array
  predicted_rate: jax.Array
  step_size: jax.Array
  step_bound: jax.Array
  observed_rate: jax.Array
  value_oscillation: jax.Array
  log_ratio_oscillation: jax.Array
  note: str = struct.field(pytree_node=False, default="")

  @property
  def reason(self):
    """The reason as text (``None`` when certified); an object array for a batch."""
    codes = np.asarray(self.reason_code)
    q, qp = np.asarray(self.contraction), np.asarray(self.contraction_at_policy)
    out = np.empty(codes.shape, object)
    for idx in np.ndindex(codes.shape):
      c = int(codes[idx])
      if c == REASON.CERTIFIED:
        out[idx] = None
      elif c == REASON.NOT_SUPPORTED:
        out[idx] = self.note or "not_supported"
      elif c == REASON.NONFINITE:
        out[idx] = "nonfinite: the policy, its values or the contraction bound are not finite"
      else:
        out[idx] = (
          f"contraction_not_below_one: the response map's Lipschitz bound is "
          f"q = {float(q[idx]):.6g} on the set holding every HQRE and "
          f"q' = {float(qp[idx]):.6g} with the given policy added; the bound "
          "certifies only when q' < 1 (it needs temperatures large against the "
          "reward range / (1 - gamma)); inconclusive, not a refutation"
        )
    return out.item() if codes.ndim == 0 else out

  def to_dict(self) -> dict:
    """JSON-ready summary of one (unbatched) certificate."""
    self.check_single()
    f = finite_or_none
    return {
      "certified": bool(self.certified),
      "unique": bool(self.unique),
      "contraction": f(self.contraction),
      "contraction_at_policy": f(self.contraction_at_policy),
      "residual": f(self.residual),
      "error_bound": f(self.error_bound),
      "error_metric": "max over states of the sum over agents of l1 distances",
      "predicted_rate": f(self.predicted_rate),
      "step_size": "inf" if np.isinf(float(self.step_size)) else f(self.step_size),
      "solver": "Mirror(step_size=inf, adaptive=False) from the reference policy",
      "step_bound": f(self.step_bound),
      "observed_rate": f(self.observed_rate),
      "value_oscillation": np.asarray(self.value_oscillation).tolist(),
      "reason": self.reason,
    }

  def __getitem__(self, index) -> "MarkovCertificate":
    return jax.tree_util.tree_map(lambda x: x[index], self)


# --- constants of one (unbatched) game -------------------------------------------------------


def _osc(x, axis):
  return jnp.max(x, axis=axis) - jnp.min(x, axis=axis)


@struct.dataclass
class GameConstants:
  """The reward and transition constants of the module docstring for one game.

  Attributes: ``r_max``, ``r_min`` ``(N, S)``: ``max_a / min_a R_i(s, a)``; ``influence``
  ``(N, N, S)``: ``e^R_ij(s)``; ``interaction`` ``(N, S)``: ``D_i(s)``; ``moves`` ``(N, S)``:
  ``c2_j(s)``; ``joint_moves`` ``(N, S)``: ``cP_i(s)``; ``max_kl`` ``(N, S)``:
  ``log(1 / min rho_i(.|s))``.
  """

  r_max: jax.Array
  r_min: jax.Array
  influence: jax.Array
  interaction: jax.Array
  moves: jax.Array
  joint_moves: jax.Array
  max_kl: jax.Array


def game_constants(game: MarkovGame) -> GameConstants:
  """:class:`GameConstants` of one unbatched game (exact reductions of its arrays)."""
  n = game.num_agents
  s = game.num_states
  act = tuple(range(1, n + 1))  # action axes of R[s, a_1..a_N]
  rewards = game.rewards
  r_max = jnp.stack([jnp.max(r, axis=act) for r in rewards])
  r_min = jnp.stack([jnp.min(r, axis=act) for r in rewards])
  influence = jnp.stack(
    [
      jnp.stack([jnp.max(_osc(r, 1 + j).reshape(s, -1), axis=-1) for j in range(n)])
      for r in rewards
    ]
  )
  inter, moves, joint = [], [], []
  p = game.transitions  # (S, n_1..n_N, S')
  for i in range(n):
    r = jnp.moveaxis(rewards[i], 1 + i, 1)  # (S, n_i, rest...)
    d = r[:, :, None] - r[:, None, :]  # (S, n_i, n_i, rest...)
    d = d.reshape(s, d.shape[1], d.shape[2], -1)
    inter.append(jnp.max(_osc(d, -1).reshape(s, -1), axis=-1) if n > 1 else jnp.zeros((s,)))
    pm = jnp.moveaxis(p, 1 + i, 1)  # (S, n_i, rest..., S')
    pm = pm.reshape(s, pm.shape[1], -1, p.shape[-1])  # (S, n_i, A_-i, S')
    m = pm[:, :, None] - pm[:, None, :]  # (S, n_i, n_i, A_-i, S')
    moves.append(jnp.max(jnp.sum(jnp.abs(m), -1).reshape(s, -1), axis=-1) / 2)
    centred = jnp.sum(jnp.abs(m - m[:, :, :, :1]), -1)
    joint.append(jnp.minimum(2.0, jnp.max(centred.reshape(s, -1), axis=-1)))
  max_kl = jnp.stack([-jnp.min(lr, axis=-1) for lr in game.log_reference])
  dt = game.dtype
  return GameConstants(
    r_max=r_max,
    r_min=r_min,
    influence=influence,
    interaction=jnp.stack(inter).astype(dt),
    moves=jnp.stack(moves),
    joint_moves=jnp.stack(joint),
    max_kl=jnp.maximum(max_kl, 0.0),
  )


def _inflate(x):
  return x * (1 + 64 * jnp.finfo(x.dtype).eps)


def value_oscillation(k: GameConstants, tau, gamma, lam, convention: str):
  """``Om^V_i`` ``(N,)`` over policies with ``osc log(pi / rho) <= lam`` (step 1)."""
  kl = jnp.minimum(k.max_kl, jnp.square(lam) / 8)
  reg = tau * kl
  if convention == "logit":
    hi, lo = k.r_max, k.r_min
  elif convention == "own":
    hi, lo = k.r_max, k.r_min - reg
  else:  # zero_sum: c_1 = r_1 - tau_1 KL_1 + tau_2 KL_2, V_2 = -V_1
    hi1, lo1 = k.r_max[0] + reg[1], k.r_min[0] - reg[0]
    hi, lo = jnp.stack([hi1, -lo1]), jnp.stack([lo1, -hi1])
  return _inflate((jnp.max(hi, -1) - jnp.min(lo, -1)) / (1 - gamma))


def log_ratio_bound(k: GameConstants, tau, gamma, convention: str, rounds: int = ROUNDS):
  """``Lam_i(s)`` ``(N, S)``: the downward iteration of step 1 (bounds every fixed point)."""

  def body(_, lam):
    om_v = value_oscillation(k, tau, gamma, lam, convention)
    om_q = jnp.diagonal(k.influence).T + gamma * k.moves * om_v[:, None]
    return jnp.minimum(lam, _inflate(om_q / tau))

  return jax.lax.fori_loop(0, rounds, body, jnp.full(tau.shape, jnp.inf, tau.dtype))


def contraction(k: GameConstants, tau, gamma, lam, convention: str):
  """``q`` of step 2 on the set ``osc log(pi / rho) <= lam`` (scalar)."""
  om_v = value_oscillation(k, tau, gamma, lam, convention)  # (N,)
  n = tau.shape[0]
  tl = tau * lam  # (N, S)
  if convention == "own":
    kappa = jnp.where(jnp.eye(n, dtype=bool)[:, :, None], tl[None], 0.0)
  elif convention == "logit":
    kappa = jnp.zeros((n, n, tau.shape[1]), tau.dtype)
  else:
    kappa = jnp.broadcast_to(tl[None], (n, n, tau.shape[1]))
  e = k.influence + gamma * k.moves[None, :, :] * om_v[:, None, None]  # (i, j, S)
  b = jnp.max(e + kappa, axis=(1, 2)) / (1 - gamma)  # (N,)
  per = (
    (k.interaction + gamma * k.joint_moves * om_v[:, None]) / 2 + gamma * k.moves * b[:, None]
  ) / (2 * tau)
  q = _inflate(jnp.max(jnp.sum(per, axis=0)))
  return jnp.where(jnp.all(jnp.isfinite(lam)), q, jnp.inf)  # inf lam: an empty boundary


# --- the certificate of one game --------------------------------------------------------------


def _policy_distance(a, b):
  """``delta(a, b) = max_s sum_i ||a_i(.|s) - b_i(.|s)||_1`` for probabilities."""
  return jnp.max(sum(jnp.sum(jnp.abs(x - y), -1) for x, y in zip(a, b)), -1)


def _certify_one(game: MarkovGame, logits, history, tol, *, convention: str, steps_per_check: int):
  dtype = game.dtype
  eps = jnp.finfo(dtype).eps
  tau = game.temperature  # (N, S)
  gamma = game.gamma
  k = game_constants(game)
  lam = log_ratio_bound(k, tau, gamma, convention)
  q = contraction(k, tau, gamma, lam, convention)

  logits = tuple(jax.nn.log_softmax(l, -1) for l in logits)
  probs = tuple(jnp.exp(l) for l in logits)
  own = jnp.stack([_osc(l - lr, -1) for l, lr in zip(logits, game.log_reference)])
  lam_p = jnp.maximum(lam, jnp.where(jnp.isnan(own), jnp.inf, own))
  q_p = contraction(k, tau, gamma, lam_p, convention)

  v = ev.values(game, logits, convention)
  q_vals = ev.q_values(game, logits, convention, v)
  z = ev.response_logits(game, q_vals)
  resp = tuple(jax.nn.softmax(zi, -1) for zi in z)
  # rounding: the linear solve (condition <= (1 + gamma) / (1 - gamma)) and the softmax
  size = game.num_states + sum(game.num_actions)
  scale = (
    sum(jnp.max(jnp.abs(zi)) for zi in z) + jnp.max(jnp.abs(v)) / ((1 - gamma) * jnp.min(tau)) + 1.0
  )
  residual = _policy_distance(probs, resp) + 64 * size * eps * scale

  unique = q < 1
  finite = jnp.isfinite(residual) & jnp.isfinite(q)
  for l in logits:
    finite &= jnp.all(jnp.isfinite(l))
  certified = finite & (q_p < 1)
  inf = jnp.asarray(jnp.inf, dtype)
  bound = jnp.where(certified, residual / jnp.where(certified, 1 - q_p, 1.0), inf)
  code = jnp.where(
    ~finite,
    REASON.NONFINITE,
    jnp.where(certified, REASON.CERTIFIED, REASON.CONTRACTION_NOT_BELOW_ONE),
  ).astype(jnp.int32)
  rate = jnp.where(unique, q, 1.0)
  start = 2.0 * game.num_agents  # delta(rho, pi*) <= 2 N
  steps = jnp.where(
    unique & (q > 0),
    jnp.ceil(
      jnp.log(jnp.maximum(start / tol, 1.0)) / -jnp.log(jnp.where(unique & (q > 0), q, 0.5))
    ),
    jnp.where(unique, 1.0, jnp.inf),
  )
  observed = (
    jnp.asarray(jnp.nan, dtype)
    if history is None
    else rate_mod.observed_rate(history, steps_per_check)
  )
  return MarkovCertificate(
    certified=certified,
    unique=unique & finite,
    reason_code=code,
    contraction=q,
    contraction_at_policy=q_p,
    residual=residual,
    error_bound=bound,
    predicted_rate=rate,
    step_size=inf,
    step_bound=steps.astype(dtype),
    observed_rate=observed,
    value_oscillation=value_oscillation(k, tau, gamma, lam, convention),
    log_ratio_oscillation=lam,
  )


@functools.partial(jax.jit, static_argnames=("convention", "steps_per_check", "batch"))
def _certify_jit(game, logits, history, tol, *, convention, steps_per_check, batch):
  if history is None:
    fn = lambda g, l: _certify_one(
      g, l, None, tol, convention=convention, steps_per_check=steps_per_check
    )
    return map_batch(fn, batch, game, logits)
  fn = lambda g, l, h: _certify_one(
    g, l, h, tol, convention=convention, steps_per_check=steps_per_check
  )
  return map_batch(fn, batch, game, logits, history)


def certify_markov(
  game: MarkovGame,
  policy,
  *,
  convention: Optional[str] = None,
  tol: Optional[float] = None,
  steps_per_check: int = 1,
) -> MarkovCertificate:
  """Certify a Markov HQRE: uniqueness, a verified error bound and a linear rate.

  The proof is in the module docstring: a bound ``q`` on the Lipschitz constant of the response
  map on a set that holds every HQRE, computed from the game alone; ``q < 1`` makes the HQRE
  unique, bounds the distance of ``policy`` to it by ``delta(pi, T pi) / (1 - q')`` and makes
  soft policy iteration contract by ``q`` per step.

  Args:
    game: a :class:`dice_jax.markov.MarkovGame`, possibly batched.
    policy: a :class:`dice_jax.Solution` / :class:`dice_jax.markov.MarkovSolution` (its
      ``logits`` and, if recorded, ``history``) or probabilities, one array
      ``(*batch, S, n_i)`` per agent.
    convention: ``"own"``, ``"zero_sum"`` or ``"logit"``; default the solution's convention
      (a :class:`MarkovSolution`) or ``"own"``.
    tol: distance target of ``step_bound``; default ``1e-8`` (float64) or ``1e-5`` (float32).
    steps_per_check: solver steps between the entries of ``policy.history``.

  Returns:
    A :class:`MarkovCertificate` with the game's batch axes. ``error_bound`` is in the metric
    ``delta(pi, pi') = max_s sum_i ||pi_i(.|s) - pi'_i(.|s)||_1``.

  Raises:
    ValueError: naming the argument, for a game that is not a :class:`MarkovGame`, a policy of
      the wrong shape or with non-finite or non-distribution values, an unknown convention,
      ``zero_sum`` on a game that is not two-player zero-sum, a bad ``tol`` or
      ``steps_per_check``.

  Example:
    >>> import numpy as np
    >>> from dice_jax.markov import MarkovGame, solve_markov
    >>> g = MarkovGame.from_arrays(np.full((2, 2, 2, 2), 0.5),
    ...                            [np.eye(2)[None].repeat(2, 0), -np.eye(2)[None].repeat(2, 0)],
    ...                            0.5, temperature=20.0)
    >>> cert = certify_markov(g, solve_markov(g))
    >>> bool(cert.certified), cert.reason
    (True, None)
  """
  from dice_jax.solvers.solution import Solution  # noqa: PLC0415

  if not isinstance(game, MarkovGame):
    raise ValueError(f"game must be a MarkovGame; got {type(game).__name__}.")
  if convention is None:
    convention = getattr(policy, "convention", "own") if isinstance(policy, Solution) else "own"
  ev.check_convention(convention)
  if convention == "zero_sum":
    from dice_jax.markov.solve import check_zero_sum  # noqa: PLC0415

    check_zero_sum(game)
  batch = game.batch_shape
  dtype = game.dtype
  shapes = [(*batch, game.num_states, k) for k in game.num_actions]
  n = game.num_agents
  history = None
  if isinstance(policy, Solution):
    values = policy.logits
    is_logits = True
    if policy.history is not None:
      if tuple(np.shape(policy.history))[:-1] != batch:
        raise ValueError(
          f"policy.history has shape {np.shape(policy.history)}; expected "
          f"({', '.join(map(str, batch))}{', ' if batch else ''}H)."
        )
      history = jnp.asarray(policy.history, dtype)
  else:
    values, is_logits = policy, False
  name = "policy.logits" if is_logits else "policy"
  if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) != n:
    raise ValueError(f"{name} must hold one array per agent ({n} agents).")
  logits = []
  for i, (p, shape) in enumerate(zip(values, shapes)):
    _validation.broadcast_or_raise(
      f"{name}[{i}]",
      np.shape(p),
      shape,
      f"batch {batch} by {game.num_states} states by {shape[-1]} actions",
    )
    if is_logits:
      _validation.require_finite(f"{name}[{i}]", p)
      logits.append(jnp.broadcast_to(jnp.asarray(p, dtype), shape))
    else:
      _validation.require_distribution(f"{name}[{i}]", p)
      logits.append(jnp.broadcast_to(jnp.log(jnp.asarray(p, dtype)), shape))
  if tol is not None and not (np.isfinite(tol) and tol > 0):
    raise ValueError(f"tol must be a finite number > 0; got {tol!r}.")
  if not (isinstance(steps_per_check, (int, np.integer)) and steps_per_check >= 1):
    raise ValueError(f"steps_per_check must be a positive integer; got {steps_per_check!r}.")
  tol = (1e-8 if jnp.finfo(dtype).bits >= 64 else 1e-5) if tol is None else float(tol)
  return _certify_jit(
    game,
    tuple(logits),
    history,
    jnp.asarray(tol, dtype),
    convention=convention,
    steps_per_check=int(steps_per_check),
    batch=batch,
  )
