"""The plain policy-gradient baseline: REINFORCE with a leave-one-out baseline (RLOO).

For a prompt ``x`` with ``K`` responses ``y_1..y_K`` sampled from the current policy and rewards
``r_k`` (the checker's verdict, minus a token cost if one is charged), the leave-one-out
advantage is

    A_k = r_k - (1 / (K - 1)) sum_{j != k} r_j = K / (K - 1) (r_k - mean_j r_j),

an unbiased baseline for every ``k`` because it does not depend on ``y_k`` (Kool et al. 2019,
"Buy 4 REINFORCE samples, get a baseline for free!"; Ahmadian et al. 2024, arXiv:2402.14740).
The step descends

    L(theta) = - (1 / N) sum_{p, k} A_pk log pi_theta(y_pk | x_p)

(``N`` the number of real samples, ``log pi`` summed over the response's tokens), whose gradient
is the REINFORCE estimate of ``- grad E[r]`` (Williams 1992). The samples must be drawn with
their multiplicity (``Sampling(dedupe=False)``): a deduplicated set is not a sample of the
policy. Like the SFT baseline it runs on the LoRA adapters only, ``num_steps`` optimizer steps on
one batch in one compiled loop (:func:`dice_jax.ft.policies.likelihood.weighted_likelihood_steps`):
the steps after the first are off-policy by the adapters' drift, as in every multi-epoch
policy-gradient method; there is no ratio clipping and no KL anchor (that is what makes it the
*plain* baseline against DICE-FT's KL projection onto the mirror target).
"""

from __future__ import annotations

import numpy as np
from flax import nnx

from dice_jax.ft.policies.candidates import CandidateBatch
from dice_jax.ft.policies.likelihood import weighted_likelihood_steps

__all__ = ["pg_steps", "rloo_advantages"]


def rloo_advantages(rewards, candidate_mask=None) -> np.ndarray:
  """Leave-one-out advantages ``A_k = r_k - mean_{j != k} r_j`` per prompt (module docstring).

  Args:
    rewards: ``[P, K]`` finite rewards (values on masked candidates are ignored).
    candidate_mask: ``[P, K]`` which candidates exist (default: all). A prompt with one real
      candidate has no baseline: its advantage is 0.

  Returns:
    ``[P, K]`` float32 advantages, 0 on masked candidates.

  Raises:
    ValueError: naming the argument: ``rewards`` not 2-D or non-finite on a real candidate,
      ``candidate_mask`` of another shape.
  """
  r = np.asarray(rewards, np.float64)
  if r.ndim != 2:
    raise ValueError(f"rewards must be [P, K]; got shape {r.shape}.")
  mask = np.ones(r.shape, bool) if candidate_mask is None else np.asarray(candidate_mask, bool)
  if mask.shape != r.shape:
    raise ValueError(f"candidate_mask has shape {mask.shape}; rewards has {r.shape}.")
  if not np.all(np.isfinite(r[mask])):
    raise ValueError("rewards must be finite on every real candidate.")
  r = np.where(mask, r, 0.0)
  n = mask.sum(-1, keepdims=True)
  others = np.maximum(n - 1, 1)
  adv = r - (r.sum(-1, keepdims=True) - r) / others
  return np.where(mask & (n > 1), adv, 0.0).astype(np.float32)


def pg_steps(model, optimizer: nnx.Optimizer, batch: CandidateBatch, rewards, *, num_steps: int):
  """``num_steps`` REINFORCE steps with the leave-one-out baseline on the sampled candidates.

  Args:
    model, optimizer: a LoRA-carrying model and its adapter optimizer
      (:func:`dice_jax.ft.make_ft_optimizer`).
    batch: the sampled candidates with their multiplicity
      (:func:`dice_jax.ft.make_candidate_batch` of ``Sampling(dedupe=False)`` samples).
    rewards: ``[P, K]`` rewards of the candidates.
    num_steps: positive number of optimizer steps (one compiled loop).

  Returns:
    ``{"loss": the last step's surrogate loss (before its update), "skipped": non-finite
    steps}``; with rewards equal within every prompt all advantages are 0 and the gradient is 0.

  Raises:
    ValueError: naming the argument (see :func:`rloo_advantages` and
      :func:`~dice_jax.ft.policies.likelihood.weighted_likelihood_steps`).
  """
  adv = rloo_advantages(rewards, np.asarray(batch.candidate_mask))
  return weighted_likelihood_steps(
    model, optimizer, batch, adv, num_steps=num_steps, normalise="samples", nonnegative=False
  )
