"""Weighted log-likelihood steps on LoRA adapters: the shared program of the SFT and
policy-gradient baselines.

On a :class:`CandidateBatch` with per-candidate weights ``w`` the loss is

    L(theta) = - sum_r w_r log pi_theta(y_r | x_r) / D,
    log pi_theta(y_r | x_r) = sum_t log pi_theta(y_rt | x_r, y_r,<t),

with ``D = sum_r w_r |y_r|`` (``normalise="tokens"``: the token-averaged NLL of rejection-sampling
fine-tuning, ``w >= 0``) or ``D`` = the number of real candidates (``normalise="samples"``: the
REINFORCE estimator ``-mean_r A_r log pi(y_r)`` with signed advantages ``w = A``; Williams 1992).
It is minimised on the LoRA adapters only (the base stays frozen and is never an output of the
compiled program), ``num_steps`` optimizer steps in one compiled loop, with the optimizer of
:func:`dice_jax.ft.make_ft_optimizer` (a non-finite step is skipped and counted).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dice_jax.ft.policies.candidates import CandidateBatch
from dice_jax.ft.policies.ft_step import split_adapters
from dice_jax.llm.lora import ADAPTER
from dice_jax.llm.score import candidate_logprobs
from dice_jax.rollouts import fields

__all__ = ["NORMALISATIONS", "weighted_likelihood_steps"]

#: What the summed weighted log-likelihood is divided by (module docstring).
NORMALISATIONS = ("tokens", "samples")


def _loss(model, batch: CandidateBatch, weights, normalise: str):
  lp = candidate_logprobs(model, batch.ids, batch.mask, batch.starts, batch.lengths, batch.window)
  w = weights.reshape(-1)
  total = jnp.sum(w * lp.sum(-1))
  if normalise == "tokens":
    return -total / jnp.maximum(jnp.sum(w * batch.lengths), 1.0)
  return -total / jnp.maximum(jnp.sum(batch.candidate_mask), 1)


@functools.partial(jax.jit, static_argnames=("graphdef", "opt_graphdef", "num_steps", "normalise"))
def _steps_pure(
  graphdef, opt_graphdef, adapters, frozen, opt_state, batch, weights, *, num_steps, normalise
):
  model = nnx.merge(graphdef, adapters, frozen)
  optimizer = nnx.merge(opt_graphdef, opt_state)

  def one(m, o):
    loss, grads = nnx.value_and_grad(_loss, argnums=nnx.DiffState(0, ADAPTER))(
      m, batch, weights, normalise
    )
    finite = jnp.isfinite(loss) & jnp.all(
      jnp.stack([jnp.all(jnp.isfinite(g)) for g in jax.tree_util.tree_leaves(grads)])
    )
    o.update(m, grads)
    return loss, ~finite

  def body(_, carry):
    m, o, skipped = carry
    _, bad = one(m, o)
    return m, o, skipped + bad.astype(jnp.int32)

  skipped = jnp.int32(0)
  if num_steps > 1:
    _, _, skipped = nnx.fori_loop(0, num_steps - 1, body, (model, optimizer, skipped))
  loss, bad = one(model, optimizer)
  return (
    nnx.state(model, ADAPTER),
    nnx.state(optimizer),
    {"loss": loss, "skipped": skipped + bad.astype(jnp.int32)},
  )


def weighted_likelihood_steps(
  model,
  optimizer: nnx.Optimizer,
  batch: CandidateBatch,
  weights,
  *,
  num_steps: int,
  normalise: str,
  nonnegative: bool,
):
  """``num_steps`` optimizer steps on the weighted log-likelihood loss (module docstring).

  Args:
    model, optimizer: a LoRA-carrying model and its adapter optimizer
      (:func:`dice_jax.ft.make_ft_optimizer`).
    batch: the candidates (:func:`dice_jax.ft.make_candidate_batch`).
    weights: ``[P, K]`` finite weights, 0 on masked (missing) candidates.
    num_steps: positive number of optimizer steps (one compiled loop).
    normalise: one of :data:`NORMALISATIONS`.
    nonnegative: whether negative weights are refused (the SFT baseline's weights are).

  Returns:
    ``{"loss": the last step's loss (before its update), "skipped": non-finite steps}``.

  Raises:
    ValueError: naming the argument: ``weights`` of the wrong shape, non-finite, negative
      where ``nonnegative``, or non-zero on a masked candidate; ``num_steps`` not a positive
      integer; an unknown ``normalise``.
  """
  w = np.asarray(weights, np.float32)
  if w.shape != tuple(batch.shape):
    raise ValueError(f"weights has shape {w.shape}; the batch needs {tuple(batch.shape)}.")
  if not np.all(np.isfinite(w)):
    raise ValueError("weights must be finite.")
  if nonnegative and np.any(w < 0):
    raise ValueError("weights must be >= 0.")
  if np.any((w != 0) & ~np.asarray(batch.candidate_mask)):
    raise ValueError("weights must be 0 on masked (missing) candidates.")
  num_steps = fields.integer("num_steps", num_steps, low=1)
  fields.choice("normalise", normalise, NORMALISATIONS)
  graphdef, lora, frozen = split_adapters(model)
  opt_graphdef, opt_state = nnx.split(optimizer)
  new_lora, new_opt, metrics = _steps_pure(
    graphdef,
    opt_graphdef,
    lora,
    frozen,
    opt_state,
    batch,
    jnp.asarray(w),
    num_steps=num_steps,
    normalise=normalise,
  )
  nnx.update(model, new_lora)
  nnx.update(optimizer, new_opt)
  return metrics
