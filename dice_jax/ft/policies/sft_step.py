"""The rejection-sampling fine-tuning baseline: maximum likelihood on the accepted samples.

Rejection-sampling fine-tuning (RFT; Yuan et al. 2023, arXiv:2308.01825) and STaR (Zelikman et
al. 2022, arXiv:2203.14465) sample responses from the current model, keep those an exact checker
accepts, and fine-tune on them. On a :class:`CandidateBatch` with weights ``w`` (1 for an
accepted candidate, 0 otherwise) the loss is the token-averaged negative log-likelihood

    L(theta) = - sum_r w_r sum_t log pi_theta(y_rt | x_r, y_r,<t) / sum_r w_r |y_r|,

minimised on the LoRA adapters only (the base stays frozen), with the same optimizer wrapper as
DICE-FT (:func:`dice_jax.ft.make_ft_optimizer`: a non-finite step is skipped). Unlike the
DICE-FT loss it raises the *absolute* probability of the accepted responses, with no KL anchor
to the reference model. It is the baseline DICE-FT is compared with at equal compute
(``benchmarks/dice_ft_real.py``). The compiled loop is
:func:`dice_jax.ft.policies.likelihood.weighted_likelihood_steps`.
"""

from __future__ import annotations

from flax import nnx

from dice_jax.ft.policies.candidates import CandidateBatch
from dice_jax.ft.policies.likelihood import weighted_likelihood_steps

__all__ = ["sft_steps"]


def sft_steps(model, optimizer: nnx.Optimizer, batch: CandidateBatch, weights, *, num_steps: int):
  """``num_steps`` maximum-likelihood steps on the candidates with ``weights > 0``.

  Args:
    model, optimizer: a LoRA-carrying model and its adapter optimizer
      (:func:`dice_jax.ft.make_ft_optimizer`).
    batch: the candidates (:func:`dice_jax.ft.make_candidate_batch`).
    weights: ``[P, K]`` non-negative weights (1 = accepted); masked candidates must weigh 0.
    num_steps: positive number of optimizer steps (one compiled loop).

  Returns:
    ``{"loss": the last step's NLL per token (before its update), "skipped": non-finite steps}``.

  Raises:
    ValueError: naming the argument: ``weights`` of the wrong shape, negative, non-finite, or
      positive on a masked candidate; ``num_steps`` not a positive integer.
  """
  return weighted_likelihood_steps(
    model, optimizer, batch, weights, num_steps=num_steps, normalise="tokens", nonnegative=True
  )
