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
(``benchmarks/dice_ft_real.py``).
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

__all__ = ["sft_steps"]


def _sft_loss(model, batch: CandidateBatch, weights):
  lp = candidate_logprobs(model, batch.ids, batch.mask, batch.starts, batch.lengths, batch.window)
  w = weights.reshape(-1)
  return -jnp.sum(w * lp.sum(-1)) / jnp.maximum(jnp.sum(w * batch.lengths), 1.0)


@functools.partial(jax.jit, static_argnames=("graphdef", "opt_graphdef", "num_steps"))
def _sft_steps_pure(
  graphdef, opt_graphdef, adapters, frozen, opt_state, batch, weights, *, num_steps
):
  model = nnx.merge(graphdef, adapters, frozen)
  optimizer = nnx.merge(opt_graphdef, opt_state)

  def one(m, o):
    loss, grads = nnx.value_and_grad(_sft_loss, argnums=nnx.DiffState(0, ADAPTER))(
      m, batch, weights
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
  w = np.asarray(weights, np.float32)
  if w.shape != tuple(batch.shape):
    raise ValueError(f"weights has shape {w.shape}; the batch needs {tuple(batch.shape)}.")
  if not np.all(np.isfinite(w)) or np.any(w < 0):
    raise ValueError("weights must be finite and >= 0.")
  if np.any((w > 0) & ~np.asarray(batch.candidate_mask)):
    raise ValueError("weights must be 0 on masked (missing) candidates.")
  if isinstance(num_steps, bool) or int(num_steps) != num_steps or num_steps < 1:
    raise ValueError(f"num_steps must be a positive integer; got {num_steps!r}.")
  graphdef, lora, frozen = split_adapters(model)
  opt_graphdef, opt_state = nnx.split(optimizer)
  new_lora, new_opt, metrics = _sft_steps_pure(
    graphdef, opt_graphdef, lora, frozen, opt_state, batch, jnp.asarray(w), num_steps=int(num_steps)
  )
  nnx.update(model, new_lora)
  nnx.update(optimizer, new_opt)
  return metrics
