"""Certificates for observation-conditioned policies (incomplete information, DESIGN §6).

An :class:`dice_jax.markov.ObservationGame` lets agent i play ``pi_i(. | omega_i(s))``. Its HQRE
condition averages the Q-values of the states that share an observation with the discounted
occupancy ``d(s)`` as weights (:mod:`dice_jax.markov.observation`), and ``d`` moves with the
policy.

**What is certified.** When every observation map ``omega_i`` is one-to-one and every state has
positive initial probability, the observation game *is* the Markov game relabelled: ``d(s) >=
mu_0(s) > 0`` (``d = mu_0 + gamma d P_pi``), so the stationarity condition in every
observation is the Markov HQRE condition in its state, and the contraction certificate of
:mod:`dice_jax.certify.markov` applies verbatim (its metric ``delta`` over states is the same
over observations). Otherwise the certificate is ``not_supported`` and says why: with aliasing
the response map's Lipschitz constant involves the sensitivity of the occupancy ratios
``d(s) / sum_{s' in o} d(s')`` to the policy, which this package does not bound; with a state of
zero initial probability a state may go unreached, and an unreached observation's policy is
arbitrary (the HQRE need not be unique).
"""

from __future__ import annotations

from typing import Optional

import jax.numpy as jnp
import numpy as np

from dice_jax.certify.markov import MarkovCertificate, certify_markov
from dice_jax.certify.reasons import REASON


def unsupported_reason(og) -> Optional[str]:
  """Why :func:`certify_observation` cannot certify ``og`` (``None`` when it can)."""
  s = og.game.num_states
  for i, o in enumerate(og.observations):
    o = np.asarray(o)
    if len(np.unique(o)) != s:
      a, b = [int(k) for k in np.flatnonzero(o == o[np.argmax(np.bincount(o))])[:2]]
      return (
        f"not_supported: agent {i} sees the same observation in states {a} and {b}; "
        "with aliased states the response averages Q over states with "
        "policy-dependent occupancy weights, and no rigorous contraction bound is "
        "implemented for that"
      )
  mu = np.asarray(og.game.initial)
  if np.any(mu <= 0):
    return (
      f"not_supported: state {int(np.argmin(mu))} has initial probability 0, so it may "
      "go unreached, and an unreached observation's policy is arbitrary (the HQRE need "
      "not be unique)"
    )
  return None


def certify_observation(
  og,
  policy,
  *,
  convention: Optional[str] = None,
  tol: Optional[float] = None,
  steps_per_check: int = 1,
) -> MarkovCertificate:
  """Certify an HQRE of observation-conditioned policies (module docstring).

  Args:
    og: a :class:`dice_jax.markov.ObservationGame`.
    policy: a :class:`dice_jax.Solution` from :func:`dice_jax.markov.solve_observation`
      (``logits[i]`` of shape ``(O_i, n_i)``) or probabilities, one ``(O_i, n_i)`` per agent.
    convention, tol, steps_per_check: as in :func:`dice_jax.certify.certify_markov`.

  Returns:
    A :class:`dice_jax.certify.MarkovCertificate`: the Markov certificate of the relabelled game
    when observations are one-to-one and every state has positive initial probability, else a
    ``not_supported`` certificate whose ``reason`` says why.

  Raises:
    ValueError: naming the argument, for a game that is not an ``ObservationGame`` or a policy
      of the wrong shape.
  """
  from dice_jax import _validation  # noqa: PLC0415
  from dice_jax.markov.observation import ObservationGame  # noqa: PLC0415
  from dice_jax.solvers.solution import Solution  # noqa: PLC0415

  if not isinstance(og, ObservationGame):
    raise ValueError(f"og must be an ObservationGame; got {type(og).__name__}.")
  is_solution = isinstance(policy, Solution)
  values = policy.logits if is_solution else policy
  name = "policy.logits" if is_solution else "policy"
  n = og.game.num_agents
  if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) != n:
    raise ValueError(f"{name} must hold one array per agent ({n} agents).")
  for i, (v, o, k) in enumerate(zip(values, og.num_observations, og.game.num_actions)):
    if np.shape(v) != (o, k):
      raise ValueError(
        f"{name}[{i}] has shape {np.shape(v)}; expected ({o}, {k}) "
        f"({o} observations by {k} actions of agent {i})."
      )
    (_validation.require_finite if is_solution else _validation.require_distribution)(
      f"{name}[{i}]", v
    )
  why = unsupported_reason(og)
  if why is not None:
    dtype = og.game.dtype
    nan, inf = jnp.asarray(jnp.nan, dtype), jnp.asarray(jnp.inf, dtype)
    return MarkovCertificate(
      certified=jnp.bool_(False),
      unique=jnp.bool_(False),
      reason_code=jnp.int32(REASON.NOT_SUPPORTED),
      contraction=nan,
      contraction_at_policy=nan,
      residual=nan,
      error_bound=inf,
      predicted_rate=jnp.asarray(1.0, dtype),
      step_size=nan,
      step_bound=inf,
      observed_rate=nan,
      value_oscillation=jnp.full((n,), jnp.nan, dtype),
      log_ratio_oscillation=jnp.full((n, og.game.num_states), jnp.nan, dtype),
      note=why,
    )
  state_values = og.state_logits(tuple(jnp.asarray(v) for v in values))
  state_policy = policy.replace(logits=state_values) if is_solution else state_values
  return certify_markov(
    og.state_game(), state_policy, convention=convention, tol=tol, steps_per_check=steps_per_check
  )
