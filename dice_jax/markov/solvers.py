"""HQRE solvers for Markov games on the package's one loop engine (DESIGN §3, §6).

Every solver here is a settings pytree implementing ``init / step`` for
:func:`dice_jax.solvers.engine.iterate`, with a :class:`MarkovProblem` in place of the
normal-form ``HQREProblem``: the per-state "utility vectors" are the exact Q-values of
:mod:`dice_jax.markov.evaluation`, and the per-state update is the proximal mirror step of
DESIGN §3 (:func:`dice_jax.solvers.mirror.mirror_update`) with ``Q`` in place of ``v``:

    log pi_i+(.|s) = log_softmax( w_i(s) log pi_i(.|s) + (1 - w_i(s)) z_i(s) ),
    z_i(s) = log rho_i(.|s) + Q_i(s, .) / tau_i(s),      w_i(s) = 1 / (1 + eta tau_i(s)).

Its fixed points are exactly the HQRE.
"""
from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp
from flax import struct

from dice_jax.markov import evaluation as ev
from dice_jax.markov.game import MarkovGame
from dice_jax.solvers.mirror import mirror_update
from dice_jax.solvers.solution import Solution


@struct.dataclass
class MarkovProblem:
  """Find the Markov HQRE of ``game`` under a value convention (one unbatched game).

  Offers what the engine and the solvers here need: ``q_values``, ``response_logits``,
  ``residual`` (max over states and agents) and ``gaps`` (per agent, the largest per-state
  regularised gap ``max_s tau_i(s) KL(pi_i(.|s) || b_i(.|s))``).
  """

  game: MarkovGame
  convention: str = struct.field(pytree_node=False, default="own")

  @property
  def temperature(self) -> jax.Array:
    return self.game.temperature

  def q_values(self, logits) -> ev.Policy:
    return ev.q_values(self.game, logits, self.convention)

  def response_logits(self, q) -> ev.Policy:
    return ev.response_logits(self.game, q)

  def residual(self, probs, z) -> jax.Array:
    return jnp.max(ev.state_residual(probs, z), axis=-1)

  def gaps(self, logits) -> jax.Array:
    z = self.response_logits(self.q_values(logits))
    return jnp.max(ev.state_gaps(self.game, logits, z), axis=-1)

  def weight(self, eta) -> jax.Array:
    """``w_i(s) = 1 / (1 + eta tau_i(s))`` laid out ``(S, N)`` for ``mirror_update``."""
    return 1.0 / (1.0 + eta * jnp.swapaxes(self.game.temperature, -1, -2))

  def lipschitz(self) -> jax.Array:
    """A scale ``L`` for the Q-values' sensitivity to the policy (a heuristic, not a bound).

    ``(h + tau_max log n_max) / (1 - gamma)``, ``h`` the largest reward half-range: the range
    of regularised values. It only sets default and floor step sizes; no general-sum
    convergence theorem is claimed.
    """
    g = self.game
    n = g.num_agents
    axes = tuple(range(-n - 1, 0))
    h = jnp.max(jnp.stack([(r.max(axis=axes) - r.min(axis=axes)) / 2 for r in g.rewards], -1), -1)
    reg = jnp.max(g.temperature, axis=(-2, -1)) * jnp.log(float(max(g.num_actions)))
    return (h + reg) / (1.0 - g.gamma)


def _evaluate_responses(problem: MarkovProblem, logits):
  probs = tuple(jnp.exp(l) for l in logits)
  z = problem.response_logits(problem.q_values(logits))
  return probs, z, problem.residual(probs, z)


@struct.dataclass
class PolicyMirror:
  """Policy mirror descent (magnetic / entropy-regularised) for Markov games.

  Each step evaluates the current profile exactly (one linear solve of size S) and applies the
  proximal step of the module docstring in every state with one step ``eta`` for all agents
  and states (Lan, "Policy mirror descent for reinforcement learning", Math. Program. 2022;
  Zhan et al., "Policy mirror descent for regularized reinforcement learning", SIAM J. Optim.
  2023: for one agent it converges linearly at rate ``1 - (1 - gamma) eta tau / (1 + eta tau)``
  and ``eta = inf`` is soft policy iteration).

  For several agents there is no general guarantee, and in practice it is the weakest method
  here: on random games (S = 5, 2 x 4 actions, gamma = 0.9, tau in [0.3, 0.8]) 12-19 % of
  general-sum and 56 % of zero-sum games had not converged after 10,000 steps
  (``benchmarks/markov_batched.py --quick``), and on 256 games with S = 20 only 19 % (own)
  and 22 % (logit) converged within 3,000 steps (``benchmarks/markov_batched.py``, 2-core CPU);
  prefer :class:`PolicyExtragradient`. The step
  adapts like
  :class:`dice_jax.solvers.Mirror`: it starts at ``initial_scale / min tau`` and, whenever the
  fixed-point residual rises, the step is redone from the previous iterate with
  ``eta <- max(backoff * eta, floor)``, ``floor = min tau / L**2``
  (:meth:`MarkovProblem.lipschitz`); after an accepted step ``eta <- min(growth * eta, eta_0)``
  (unlike the normal-form rule the step may grow back: without it, one early rejection leaves
  general-sum games crawling at the floor). ``adaptive=False`` runs the fixed ``step_size``.

  Attributes:
    step_size: initial (adaptive) or fixed ``eta``; ``None`` for the defaults above.
    initial_scale: ``eta_0 min tau`` when ``step_size`` is ``None``.
    backoff: factor applied to ``eta`` on a rejected step.
    growth: factor applied to ``eta`` after an accepted step (capped at ``eta_0``).
    adaptive: back off on residual increase (static).
    check_every: steps between convergence checks (static).
  """

  step_size: Optional[jax.Array] = None
  initial_scale: float = 10.0
  backoff: float = 0.5
  growth: float = 1.05
  adaptive: bool = struct.field(pytree_node=False, default=True)
  check_every: int = struct.field(pytree_node=False, default=1)

  def floor(self, problem: MarkovProblem) -> jax.Array:
    return jnp.min(problem.temperature) / jnp.square(problem.lipschitz())

  def init(self, problem: MarkovProblem, logits):
    floor = self.floor(problem)
    dtype = problem.temperature.dtype
    if self.step_size is not None:
      eta = jnp.asarray(self.step_size, dtype)
    else:
      eta = jnp.maximum(self.initial_scale / jnp.min(problem.temperature), floor)
    probs, z, r = _evaluate_responses(problem, logits)
    eta = eta.astype(dtype)
    return logits, probs, logits, z, r, eta, floor.astype(dtype), eta

  def step(self, problem: MarkovProblem, state):
    logits, probs, prev_logits, prev_z, prev_r, eta, floor, ceiling = state
    _, z, r = _evaluate_responses(problem, logits)
    if not self.adaptive:
      new = mirror_update(logits, z, problem.weight(eta))
      return (*new, logits, z, r, eta, floor, ceiling), logits, r, jnp.bool_(True)
    worse = (r > prev_r) & (eta > floor)
    eta = jnp.where(worse, jnp.maximum(self.backoff * eta, floor),
                    jnp.minimum(self.growth * eta, ceiling))
    base = tuple(jnp.where(worse, p, l) for p, l in zip(prev_logits, logits))
    base_z = tuple(jnp.where(worse, pz, zz) for pz, zz in zip(prev_z, z))
    new = mirror_update(base, base_z, problem.weight(eta))
    return ((*new, base, base_z, jnp.where(worse, prev_r, r), eta, floor, ceiling), logits, r,
            jnp.bool_(True))


@struct.dataclass
class PolicyExtragradient:
  """Entropy-regularised policy extragradient (Cen, Wei & Chi, NeurIPS 2021, "PU" update):

      pibar = prox(pi, b(pi)),     pi+ = prox(pi, b(pibar)),

  state by state, with ``Q`` re-evaluated exactly at ``pibar`` (two linear solves per step)
  and ``prox`` the proximal step of the module docstring. For two-player zero-sum games under
  the ``"zero_sum"`` convention the regularised equilibrium is unique and the method converges
  linearly (Cen et al. prove it for the matrix game at rate ``1 - eta tau`` and for Markov games
  through the regularised Shapley operator, with steps that shrink with ``1 - gamma``). This
  single-loop form, with the exact Q of each iterate, is not the approximate-value-iteration
  scheme their Markov theorem covers: its linear rate here is measured, not proved. The
  default step is ``eta = step_scale / min tau`` with ``step_scale = 1/4`` (``w <= 4/5``),
  chosen by measurement on random games (S = 20, 2 x 4 actions, gamma = 0.9, tau in
  [0.3, 0.8], residual 1e-8, at most 3,000 steps): at ``step_scale = 1`` 4 of 64 general-sum
  games stalled; at ``1/2`` 254 of 256 general-sum (median 98 steps) and 242 of 256 zero-sum
  games (median 43) converged; ``1/4`` converged on all 64 general-sum games of the smaller
  sample (median 188, max 984); on the 256-game samples ``1/4`` converged on all 256 zero-sum
  games (median 75, max 83 steps; 4.8 ms/game on a loaded 2-core CPU) and on 254 of 256
  general-sum games (median 170; 2 still stalled: general-sum HQRE need not be unique or
  attracting). Give a smaller ``step_size`` if a game stalls.

  Attributes:
    step_size: the proximal ``eta`` or ``None``.
    step_scale: ``eta min tau`` when ``step_size`` is ``None``.
    check_every: steps between convergence checks (static).
  """

  step_size: Optional[jax.Array] = None
  step_scale: float = 0.25
  check_every: int = struct.field(pytree_node=False, default=1)

  def init(self, problem: MarkovProblem, logits):
    dtype = problem.temperature.dtype
    eta = (jnp.asarray(self.step_size, dtype) if self.step_size is not None
           else self.step_scale / jnp.min(problem.temperature))
    return logits, problem.weight(eta)

  def step(self, problem: MarkovProblem, state):
    logits, w = state
    dtype = logits[0].dtype

    # Both half-steps evaluate a point and take prox(pi, b(point)): written as a two-pass loop
    # so the evaluation is traced (and compiled) once.
    def half(k, carry):
      point, r = carry
      _, z, r_point = _evaluate_responses(problem, point)
      new, _ = mirror_update(logits, z, w)
      return new, jnp.where(k == 0, r_point, r)

    new, r = jax.lax.fori_loop(0, 2, half, (logits, jnp.asarray(jnp.inf, dtype)))
    return (new, w), logits, r, jnp.bool_(True)


@struct.dataclass
class TemperatureContinuation:
  """Continuation in temperature: solve at ``scale * tau``, shrink ``scale`` to 1, warm-start.

  Starts at ``scale = initial_scale`` (where the entropy term dominates and the inner solver
  converges fast); each time the inner solver's residual at the current scale is
  ``<= stage_tol``, ``scale <- max(1, shrink * scale)`` and the inner solver restarts from the
  current policy. The reported residual is always the one at the target temperatures, so the
  engine stops only at the target.

  Attributes:
    inner: the solver run at each temperature (default :class:`PolicyExtragradient`).
    initial_scale: the first temperature multiplier (> 1).
    shrink: the multiplier's factor per stage (in (0, 1)).
    stage_tol: residual at which a stage is accepted.
    check_every: steps between convergence checks (static).
  """

  inner: object = None
  initial_scale: float = 16.0
  shrink: float = 0.5
  stage_tol: float = 1e-3
  check_every: int = struct.field(pytree_node=False, default=1)

  def _inner(self):
    return self.inner if self.inner is not None else PolicyExtragradient()

  @staticmethod
  def _scaled(problem: MarkovProblem, scale) -> MarkovProblem:
    g = problem.game
    return problem.replace(game=g.replace(temperature=g.temperature * scale))

  def init(self, problem: MarkovProblem, logits):
    scale = jnp.asarray(self.initial_scale, problem.temperature.dtype)
    return self._inner().init(self._scaled(problem, scale), logits), scale

  def step(self, problem: MarkovProblem, state):
    inner_state, scale = state
    inner = self._inner()
    scaled = self._scaled(problem, scale)
    inner_state, lx, r_scaled, ok = inner.step(scaled, inner_state)
    _, _, r = _evaluate_responses(problem, lx)
    advance = (r_scaled <= self.stage_tol) & (scale > 1)
    new_scale = jnp.where(advance, jnp.maximum(scale * self.shrink, 1.0), scale)
    restarted = inner.init(self._scaled(problem, new_scale), lx)
    inner_state = jax.tree_util.tree_map(lambda a, b: jnp.where(advance, a, b), restarted,
                                         inner_state)
    return (inner_state, new_scale), lx, r, ok


@struct.dataclass
class MarkovSolution(Solution):
  """A :class:`dice_jax.solvers.Solution` for a Markov game (``logits[i]`` has shape
  ``(*batch, S, n_i)``), plus what the Markov setting adds.

  Attributes:
    values: ``V_i(s)`` of the returned profile under ``convention``, ``(*batch, N, S)``.
    state_residual: per-state residual ``(*batch, S)``.
    state_gaps: per-agent, per-state regularised gaps ``(*batch, N, S)``; ``agent_gaps`` is
      their maximum over states and ``gap`` the sum of those over agents.
    convention: the value convention used (``"own"``, ``"zero_sum"`` or ``"logit"``).
  """

  values: Optional[jax.Array] = None
  state_residual: Optional[jax.Array] = None
  state_gaps: Optional[jax.Array] = None
  convention: str = struct.field(pytree_node=False, default="own")
