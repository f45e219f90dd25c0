r"""Certificates for Bayesian games through their agent form (DESIGN §6).

A one-shot Bayesian game (:class:`dice_jax.markov.BayesianGame`) with types ``theta_i``, prior
``p`` and payoffs ``U_i(theta, a)`` is, for the HQRE, the normal-form game in **agent form**:
one player ``(i, theta_i)`` per agent and type, choosing ``a_{i, theta_i}`` in agent i's action
set, with the interim payoff

    U_(i, theta_i)(alpha) = sum_{theta_-i} p(theta_-i | theta_i) U_i(theta, (alpha_{k, theta_k})_k),

temperature ``tau_i(theta_i)`` and reference ``rho_i(. | theta_i)``. Its utility vector is
exactly the interim utility ``v_i(theta_i)`` of the Bayesian game (expand the expectation over
the other players' strategies ``x_k(. | theta_k)``: the factors of the types that do not occur
in ``theta`` sum to one), so the two HQRE conditions coincide (McKelvey & Palfrey, "Quantal
response equilibria for extensive form games", Exp. Econ. 1998, the agent-form QRE). Every
statement of :func:`dice_jax.certify.certify` about the agent-form game -- uniqueness from the
monotonicity margin, the verified error bound in ``||.||_2`` over all agents and types, the rate
of the mirror solver -- is therefore a statement about the Bayesian game. For two agents the
agent form is a polymatrix game (``v_(i, theta_i)`` is linear in each other type's strategy), so
the vertex bound's slices are the exact blocks.

The agent form has ``sum_i T_i`` players and ``prod_i n_i^{T_i}`` joint actions, so it is built
only up to :data:`MAX_AGENT_FORM_ENTRIES` payoff entries.
"""

from __future__ import annotations

import itertools
import math
from typing import Tuple

import jax.numpy as jnp
import numpy as np

from dice_jax.games.normal_form import NormalFormGame

MAX_AGENT_FORM_ENTRIES = 2_000_000


def agent_form(game) -> Tuple[NormalFormGame, np.ndarray, Tuple[np.ndarray, ...]]:
  """``(agent-form game, temperatures (sum T_i,), log references per player)`` of a
  :class:`dice_jax.markov.BayesianGame`; players are ordered agent by agent, type by type.

  Raises:
    ValueError: when the agent form would exceed :data:`MAX_AGENT_FORM_ENTRIES` entries.
  """
  prior = np.asarray(game.prior, np.float64)
  n = game.num_agents
  types, actions = game.num_types, game.num_actions
  players = [(i, t) for i in range(n) for t in range(types[i])]
  shape = tuple(actions[i] for i, _ in players)
  entries = math.prod(shape) * len(players)
  if entries > MAX_AGENT_FORM_ENTRIES:
    raise ValueError(
      f"game: its agent form has {entries:,} payoff entries (players "
      f"{len(players)}, joint actions {math.prod(shape):,}); certify handles at "
      f"most {MAX_AGENT_FORM_ENTRIES:,}."
    )
  position = {p: k for k, p in enumerate(players)}
  payoffs = [np.asarray(u, np.float64) for u in game.payoffs]
  out = [np.zeros(shape) for _ in players]
  marginals = [prior.sum(axis=tuple(j for j in range(n) if j != i)) for i in range(n)]
  for theta in itertools.product(*[range(t) for t in types]):
    if prior[theta] == 0:
      continue
    # axes of the agent form that U_i(theta, .) depends on: (k, theta_k) for every agent k
    order = [position[(k, theta[k])] for k in range(n)]
    view = [1] * len(players)
    for k in range(n):
      view[order[k]] = actions[k]
    for i in range(n):
      weight = prior[theta] / marginals[i][theta[i]]
      out[position[(i, theta[i])]] += weight * payoffs[i][theta].reshape(view)
  dtype = game.prior.dtype
  temps = np.concatenate([np.asarray(t, np.float64) for t in game.temperature])
  log_refs = tuple(np.asarray(game.log_reference[i][t], np.float64) for i, t in players)
  return (NormalFormGame(payoffs=tuple(jnp.asarray(u, dtype) for u in out)), temps, log_refs)


def to_agent_form(game, per_agent) -> Tuple:
  """Per-agent arrays ``(T_i, n_i)`` as per-player rows of the agent form."""
  return tuple(per_agent[i][t] for i in range(game.num_agents) for t in range(game.num_types[i]))


def from_agent_form(game, per_player) -> Tuple:
  """Per-player arrays ``(..., n_i)`` of the agent form, stacked back to ``(..., T_i, n_i)``."""
  out, k = [], 0
  for i in range(game.num_agents):
    out.append(jnp.stack(per_player[k : k + game.num_types[i]], axis=-2))
    k += game.num_types[i]
  return tuple(out)


def certify_bayesian(
  game,
  solution,
  *,
  step_size=None,
  tol=None,
  init=None,
  num_samples: int = 8,
  key=None,
  steps_per_check: int = 1,
  fast: bool = False,
):
  """Certify an approximate HQRE of a Bayesian game through its agent form.

  Args:
    game: a :class:`dice_jax.markov.BayesianGame` (its temperatures and references are used).
    solution: a :class:`dice_jax.Solution` from :func:`dice_jax.markov.solve_bayesian`
      (``logits[i]`` of shape ``(T_i, n_i)``) or probabilities, one ``(T_i, n_i)`` array per
      agent.
    step_size, tol, init, num_samples, key, steps_per_check, fast: as in
      :func:`dice_jax.certify.certify`; ``init`` per agent ``(T_i, n_i)``.

  Returns:
    A :class:`dice_jax.certify.Certificate` of the agent-form game: ``error_bound`` bounds the
    Euclidean distance over all agents and types, ``evidence`` holds ``(T_i, n_i)`` arrays, and
    ``step_sizes`` has one entry per agent-form player (agent by agent, type by type), the
    steps of ``Mirror(step_size=..., adaptive=False)`` on :func:`agent_form`'s game.

  Raises:
    ValueError: naming the argument, for a game that is not a ``BayesianGame``, an agent form
      too large to build, a solution or ``init`` of the wrong shape or not distributions.
  """
  from dice_jax import _validation  # noqa: PLC0415
  from dice_jax.certify.certificate import certify  # noqa: PLC0415
  from dice_jax.markov.bayesian import BayesianGame  # noqa: PLC0415
  from dice_jax.solvers.solution import Solution  # noqa: PLC0415

  if not isinstance(game, BayesianGame):
    raise ValueError(f"game must be a BayesianGame; got {type(game).__name__}.")

  def per_agent(name, value, is_logits):
    n = game.num_agents
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != n:
      raise ValueError(f"{name} must hold one array per agent ({n} agents).")
    for i, (v, t, k) in enumerate(zip(value, game.num_types, game.num_actions)):
      if np.shape(v) != (t, k):
        raise ValueError(
          f"{name}[{i}] has shape {np.shape(v)}; expected ({t}, {k}) "
          f"({t} types by {k} actions of agent {i})."
        )
      (_validation.require_finite if is_logits else _validation.require_distribution)(
        f"{name}[{i}]", v
      )
    return to_agent_form(game, value)

  af, temps, log_refs = agent_form(game)
  if isinstance(solution, Solution):
    sol = solution.replace(logits=per_agent("solution.logits", solution.logits, True))
  else:
    sol = per_agent("solution", solution, False)
  init_af = None if init is None else per_agent("init", init, False)
  cert = certify(
    af,
    temps,
    sol,
    reference=tuple(np.exp(l) for l in log_refs),
    step_size=step_size,
    tol=tol,
    init=init_af,
    num_samples=num_samples,
    key=key,
    steps_per_check=steps_per_check,
    fast=fast,
  )
  return cert.replace(evidence=from_agent_form(game, cert.evidence))
