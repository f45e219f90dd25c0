"""Certificates for HQRE: monotonicity bounds, uniqueness, verified error bounds, linear rates,
rollout diagnostics, implicit differentiation and QRE estimation (DESIGN §4-6).

:func:`certify` takes normal-form games (monotonicity margins), Bayesian games (their agent
form, :mod:`~dice_jax.certify.bayesian`), Markov games (a contraction bound of the response
map, :mod:`~dice_jax.certify.markov`, also :func:`certify_markov`) and observation games
(:mod:`~dice_jax.certify.observation`)."""

from dice_jax.certify.certificate import Certificate, certify, certify_arrays
from dice_jax.certify.markov import MarkovCertificate, certify_markov
from dice_jax.certify.bayesian import agent_form, certify_bayesian
from dice_jax.certify.observation import certify_observation
from dice_jax.certify.monotonicity import (
  MonotonicityBounds,
  alpha_sampled,
  alpha_two_player,
  alpha_vertex_bound,
  monotonicity_bounds,
  projected_symmetric_jacobian,
  sample_profiles,
)
from dice_jax.certify.rate import kl_contraction, observed_rate, step_bound
from dice_jax.certify.reasons import REASON
from dice_jax.certify.diagnostics import MonotonicityRatio, drift, monotonicity_ratio, oscillation
from dice_jax.certify.estimation import Estimate, estimate
from dice_jax.certify.implicit import hqre_logits, hqre_probabilities

__all__ = [
  "Certificate",
  "MarkovCertificate",
  "MonotonicityBounds",
  "agent_form",
  "certify_bayesian",
  "certify_markov",
  "certify_observation",
  "REASON",
  "alpha_sampled",
  "alpha_two_player",
  "alpha_vertex_bound",
  "certify",
  "certify_arrays",
  "kl_contraction",
  "monotonicity_bounds",
  "observed_rate",
  "projected_symmetric_jacobian",
  "sample_profiles",
  "step_bound",
  "MonotonicityRatio",
  "drift",
  "monotonicity_ratio",
  "oscillation",
  "Estimate",
  "estimate",
  "hqre_logits",
  "hqre_probabilities",
]
