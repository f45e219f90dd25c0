"""Exact regularised policy evaluation of a Markov game, Q-values, residual and gap (DESIGN §6).

For a stationary profile ``pi = (pi_1, ..., pi_N)``, ``pi_i(. | s)``, write

    P_pi(s, s') = sum_a pi(a|s) P(s'|s, a),       r_i(s) = sum_a pi(a|s) R_i(s, a),
    KL_i(s) = KL(pi_i(.|s) || rho_i(.|s)),        pi(a|s) = prod_i pi_i(a_i|s).

The regularised value solves the Bellman equation ``V_i = c_i + gamma P_pi V_i``, i.e. the
linear system ``(I - gamma P_pi) V = c`` of size S (one solve for all agents: the right-hand
side has one column per agent), where the per-state reward ``c_i`` depends on the
**value convention**:

* ``"own"`` (default): ``c_i = r_i - tau_i KL_i`` — each agent's value carries only its own KL
  term;
* ``"zero_sum"`` (two agents, ``R_2 = -R_1``): ``c_1 = r_1 - tau_1 KL_1 + tau_2 KL_2`` and
  ``V_2 = -V_1``, the regularised zero-sum Markov game of Cen, Wei & Chi, "Fast Policy
  Extragradient Methods for Competitive Games with Entropy Regularization", NeurIPS 2021, §4;
* ``"logit"``: ``c_i = r_i`` — no KL in the values, the Markov logit QRE (as traced by
  sgamesolver: Eibelshäuser & Poensgen, "Markov Quantal Response Equilibrium and a Homotopy
  Method for Computing and Selecting Markov Perfect Equilibria of Dynamic Stochastic Games",
  2019).

The action values are ``Q_i(s, a_i) = E_{a_{-i} ~ pi_{-i}(.|s)}[R_i(s, a) + gamma sum_{s'}
P(s'|s, a) V_i(s')]`` and the HQRE condition is ``pi_i(.|s) = b_i(.|s) := softmax(log rho_i(.|s)
+ Q_i(s, .) / tau_i(s))``. Per state, the residual is ``max_i ||pi_i(.|s) - b_i(.|s)||_1`` and
the regularised gap ``tau_i(s) KL(pi_i(.|s) || b_i(.|s))`` (Gibbs: the gain of the one-step
regularised improvement at s against the continuation values of pi).

``I - gamma P_pi`` is strictly diagonally dominant for ``gamma < 1`` (``P_pi`` is stochastic),
so the solve never breaks down. Every function accepts leading batch axes.
"""

from __future__ import annotations

from typing import Tuple

import jax
import jax.numpy as jnp
from flax import struct

from dice_jax.markov.game import MarkovGame

#: The value conventions (``own``, ``zero_sum``, ``logit``; see the module docstring).
CONVENTIONS = ("own", "zero_sum", "logit")

Policy = Tuple[jax.Array, ...]


def check_convention(convention: str) -> str:
  """Raise ``ValueError`` naming ``convention`` unless it is one of :data:`CONVENTIONS`."""
  if convention not in CONVENTIONS:
    raise ValueError(f"convention must be one of {CONVENTIONS}; got {convention!r}.")
  return convention


def joint_policy(probs: Policy) -> jax.Array:
  """``pi(a|s) = prod_i pi_i(a_i|s)``, shape ``(..., S, n_1, ..., n_N)``."""
  n = len(probs)
  out = None
  for i, p in enumerate(probs):
    shape = (*p.shape[:-1], *(1,) * i, p.shape[-1], *(1,) * (n - i - 1))
    out = p.reshape(shape) if out is None else out * p.reshape(shape)
  return out


def kl_per_state(logits: Policy, log_reference: Policy) -> jax.Array:
  """``KL(pi_i(.|s) || rho_i(.|s))`` per agent and state, shape ``(..., N, S)``."""
  return jnp.stack(
    [jnp.sum(jnp.exp(l) * (l - lr), axis=-1) for l, lr in zip(logits, log_reference)], axis=-2
  )


def _flat_actions(x: jax.Array, n: int, trailing: int) -> jax.Array:
  """Merge the ``n`` joint-action axes that sit before ``trailing`` final axes."""
  lead = x.shape[: x.ndim - n - trailing]
  return x.reshape(*lead, -1, *x.shape[x.ndim - trailing :])


def stage_rewards(game: MarkovGame, logits: Policy, convention: str = "own") -> jax.Array:
  """The per-state rewards ``c_i(s)`` of the Bellman equation, shape ``(..., N, S)``."""
  n = game.num_agents
  joint = _flat_actions(joint_policy(tuple(jnp.exp(l) for l in logits)), n, 0)
  r = jnp.stack([jnp.sum(joint * _flat_actions(R, n, 0), axis=-1) for R in game.rewards], -2)
  if convention == "logit":
    return r
  reg = game.temperature * kl_per_state(logits, game.log_reference)
  if convention == "own":
    return r - reg
  c1 = r[..., 0, :] - reg[..., 0, :] + reg[..., 1, :]
  return jnp.stack([c1, -c1], axis=-2)


def state_transitions(game: MarkovGame, logits: Policy) -> jax.Array:
  """``P_pi(s, s')``, shape ``(..., S, S)``."""
  n = game.num_agents
  joint = _flat_actions(joint_policy(tuple(jnp.exp(l) for l in logits)), n, 0)
  p = _flat_actions(game.transitions, n, 1)
  return jnp.einsum("...sa,...sat->...st", joint, p)


def solve_bellman(a: jax.Array, b: jax.Array) -> jax.Array:
  """Solve ``a x = b`` for ``a = I - gamma P_pi`` or its transpose; shapes ``(..., S, S)``,
  ``(..., S, K)``.

  ``a`` is strictly diagonally dominant by rows (``a_ss - sum_{s' != s} |a_ss'| = 1 - gamma > 0``
  for a stochastic ``P``), so it is nonsingular with ``||a^{-1}||_inf <= 1 / (1 - gamma)``, and
  Gaussian elimination on it is stable with growth factor at most 2 (Golub & Van Loan, *Matrix
  Computations*, 4th ed., §3.4.10); ``jnp.linalg.solve`` (LAPACK ``getrf``/``getrs``, partial
  pivoting) does it. The transpose is diagonally dominant by columns, so there pivoting
  exchanges no rows.

  An earlier hand-written elimination as two ``lax.fori_loop``s deadlocked XLA:CPU (jaxlib
  0.10.2; the hang goes away with ``--xla_cpu_enable_concurrency_optimized_scheduler=false``)
  when continuation differentiated it inside its step loop over 24 or more vmapped games;
  ``tests/markov/test_solve.py`` guards the batch that hung.
  """
  return jnp.linalg.solve(a, b)


def values(game: MarkovGame, logits: Policy, convention: str = "own") -> jax.Array:
  """Exact regularised values ``V_i(s)``, shape ``(..., N, S)``: one linear solve of size S.

  Solves ``(I - gamma P_pi) V = c`` with ``c`` from :func:`stage_rewards` (all agents as the
  columns of one right-hand side).
  """
  c = stage_rewards(game, logits, convention)
  p = state_transitions(game, logits)
  s = p.shape[-1]
  a = jnp.eye(s, dtype=p.dtype) - game.gamma[..., None, None] * p
  v = solve_bellman(a, jnp.swapaxes(c, -1, -2))
  v = jnp.swapaxes(v, -1, -2)
  if convention == "zero_sum":
    v = jnp.stack([v[..., 0, :], -v[..., 0, :]], axis=-2)
  return v


def continuation_payoffs(
  game: MarkovGame, v: jax.Array, convention: str = "own"
) -> Tuple[jax.Array, ...]:
  """Stage-game payoffs ``G_i(s, a) = R_i(s, a) + gamma sum_{s'} P(s'|s, a) V_i(s')``.

  One array per agent of shape ``(..., S, n_1, ..., n_N)``: the normal-form game played in state
  s once continuation values are fixed. Under ``"zero_sum"`` agent 2's rewards are ``-R_1``.
  """
  n = game.num_agents
  gamma = game.gamma.reshape(*game.gamma.shape, *(1,) * (n + 1))
  out = []
  for i in range(n):
    r = game.rewards[i] if convention != "zero_sum" or i == 0 else -game.rewards[0]
    ev = jnp.einsum(
      "...t,...t->...",
      game.transitions,
      v[..., i, :].reshape(*v.shape[:-2], *(1,) * (n + 1), v.shape[-1]),
    )
    out.append(r + gamma * ev)
  return tuple(out)


def _marginalise(g: jax.Array, probs: Policy, i: int) -> jax.Array:
  """``E_{a_{-i} ~ pi_{-i}(.|s)} g(s, a)``, shape ``(..., S, n_i)``.

  The other agents' axes are contracted last-first; when agent ``j`` is contracted the
  remaining action axes are those of agents ``0..j`` (and ``i`` if ``i > j``).
  """
  n = len(probs)
  t = g
  for j in reversed(range(n)):
    if j == i:
      continue
    remaining = j + 1 + (1 if i > j else 0)
    pos = j  # agents 0..j-1 come first among the remaining axes
    p = probs[j]
    lead = p.shape[:-1]
    shape = (*lead, *(1,) * pos, p.shape[-1], *(1,) * (remaining - pos - 1))
    t = jnp.sum(t * p.reshape(shape), axis=t.ndim - remaining + pos)
  return t


def q_values(game: MarkovGame, logits: Policy, convention: str = "own", v=None) -> Policy:
  """``Q_i(s, a_i)`` per agent, shape ``(..., S, n_i)`` (values from :func:`values` unless given)."""
  if v is None:
    v = values(game, logits, convention)
  probs = tuple(jnp.exp(l) for l in logits)
  g = continuation_payoffs(game, v, convention)
  return tuple(_marginalise(gi, probs, i) for i, gi in enumerate(g))


def response_logits(game: MarkovGame, q: Policy) -> Policy:
  """Unnormalised logits ``log rho_i(.|s) + Q_i(s, .) / tau_i(s)`` of the logit responses."""
  return tuple(
    lr + qi / game.temperature[..., i, :, None]
    for i, (lr, qi) in enumerate(zip(game.log_reference, q))
  )


def state_residual(probs: Policy, z: Policy) -> jax.Array:
  """``max_i ||pi_i(.|s) - softmax(z_i(s))||_1`` per state, shape ``(..., S)``."""
  per = [jnp.sum(jnp.abs(p - jax.nn.softmax(zi, axis=-1)), axis=-1) for p, zi in zip(probs, z)]
  return jnp.max(jnp.stack(per, axis=-1), axis=-1)


def state_gaps(game: MarkovGame, logits: Policy, z: Policy) -> jax.Array:
  """``tau_i(s) KL(pi_i(.|s) || b_i(.|s))`` per agent and state, shape ``(..., N, S)``."""
  kl = [
    jnp.sum(jnp.exp(l) * (l - jax.nn.log_softmax(zi, axis=-1)), axis=-1) for l, zi in zip(logits, z)
  ]
  return game.temperature * jnp.stack(kl, axis=-2)


@struct.dataclass
class Evaluation:
  """Everything policy evaluation gives at one profile.

  Attributes:
    values: ``V_i(s)``, ``(..., N, S)``.
    q: ``Q_i(s, a_i)`` per agent, ``(..., S, n_i)``.
    residual: per-state fixed-point residual, ``(..., S)``.
    gaps: per-agent, per-state regularised gaps, ``(..., N, S)``.
  """

  values: jax.Array
  q: Policy
  residual: jax.Array
  gaps: jax.Array


def evaluate(game: MarkovGame, logits: Policy, convention: str = "own") -> Evaluation:
  """Values, Q-values, per-state residual and gaps of the profile ``exp(logits)``.

  Args:
    game: a :class:`MarkovGame` (batched or not).
    logits: per agent, normalised log-probabilities ``log pi_i(.|s)`` of shape ``(..., S, n_i)``.
    convention: ``"own"``, ``"zero_sum"`` or ``"logit"`` (module docstring).
  """
  check_convention(convention)
  return _evaluate_jit(game, tuple(logits), convention)


def evaluate_profile(game: MarkovGame, logits: Policy, convention: str) -> Evaluation:
  """:func:`evaluate` without the check and the jit (traceable; ``convention`` static)."""
  v = values(game, logits, convention)
  q = q_values(game, logits, convention, v)
  z = response_logits(game, q)
  probs = tuple(jnp.exp(l) for l in logits)
  return Evaluation(
    values=v, q=q, residual=state_residual(probs, z), gaps=state_gaps(game, logits, z)
  )


_evaluate_jit = jax.jit(evaluate_profile, static_argnums=2)
