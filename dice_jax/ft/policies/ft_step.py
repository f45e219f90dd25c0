"""The jitted DICE-FT training steps: fit the LoRA policy to the mirror target (DESIGN §7).

The loss is the KL projection of the mirror target onto the adapted model,
``mean_prompts KL(pi+ || pi_theta)`` over each prompt's candidate set, minimised with optax on
the LoRA parameters only (Hu et al. 2021, arXiv:2106.09685; the mirror step is Sokota et al.,
ICLR 2023). The compiled programs are pure functions of ``(adapters, frozen base, optimizer
state)`` that return only the new adapters and optimizer state: the frozen base is never an
output, so its arrays are never copied or rewritten (with ``nnx.jit`` every call would return a
fresh, bit-identical copy of the whole base).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from dice_jax.ft.policies.candidates import CandidateBatch
from dice_jax.ft.policies.prompt_shards import over_prompt_shards, shard_count
from dice_jax.ft.target.mirror_target import masked_log_softmax
from dice_jax.llm.lora import ADAPTER, lora_optimizer
from dice_jax.llm.score import candidate_logprobs, grouped_candidate_logprobs
from dice_jax.rollouts import fields


def candidate_log_policy(model, batch: CandidateBatch) -> jax.Array:
  """``[P, K]`` log-probabilities of the candidates renormalised over each prompt's set:
  ``log pi(c_k | s) - log sum_j pi(c_j | s)`` from the summed token log-probabilities (each
  prompt run once for its ``K`` candidates when ``batch.prompt_len`` is set)."""
  if batch.prompt_len:
    lp = grouped_candidate_logprobs(
      model,
      batch.ids,
      batch.mask,
      batch.starts,
      batch.lengths,
      batch.window,
      group=batch.shape[1],
      prompt_len=batch.prompt_len,
    )
  else:
    lp = candidate_logprobs(model, batch.ids, batch.mask, batch.starts, batch.lengths, batch.window)
  return masked_log_softmax(lp.sum(-1).reshape(batch.shape), batch.candidate_mask)


def _kl(log_p, log_q, mask):
  """``sum_k p (log p - log q)`` over existing candidates, per prompt."""
  p = jnp.exp(log_p)
  return jnp.sum(jnp.where(mask, p * (log_p - jnp.where(mask, log_q, 0.0)), 0.0), axis=-1)


@functools.lru_cache(maxsize=None)
def _skip_nonfinite(tx: optax.GradientTransformation) -> optax.GradientTransformation:
  # One wrapped object per ``tx``: the optimizer's transformation is static in the model graph,
  # so a fresh wrapper per agent would recompile every jitted step (measured: 15 s per agent).
  return optax.apply_if_finite(tx, max_consecutive_errors=1_000_000)


def make_ft_optimizer(model, tx: optax.GradientTransformation) -> nnx.Optimizer:
  """An optimizer over the adapters only, wrapped in ``optax.apply_if_finite`` so a step whose
  loss or gradients are NaN/inf is skipped (the parameters do not move) instead of poisoning
  the adapters. Reuse one ``tx`` object across agents of the same shapes: jitted steps are
  then compiled once."""
  return lora_optimizer(model, _skip_nonfinite(tx))


class _ShardSums(NamedTuple):
  """One shard's share of the step: its prompts' terms of the batch means (each divided by the
  batch's ``P`` prompts, so the shards' shares add up to the means) and the gradient of its
  share of the loss with respect to the adapters."""

  loss: jax.Array
  grads: Any
  kl_to_reference: jax.Array
  entropy: jax.Array
  temperature: jax.Array


def _shard_sums(graphdef, num_prompts: int, params, data):
  """``(_ShardSums, log pi_theta)`` of one shard of the prompts (see :func:`_ft_step`)."""
  adapters, frozen = params
  batch, log_target, log_reference, temperature = data
  cmask = batch.candidate_mask

  def loss_fn(a):
    log_q = candidate_log_policy(nnx.merge(graphdef, a, frozen), batch)
    return jnp.sum(_kl(log_target, log_q, cmask)) / num_prompts, log_q

  (loss, log_q), grads = jax.value_and_grad(loss_fn, has_aux=True)(adapters)
  q = jnp.exp(log_q)
  sums = _ShardSums(
    loss=loss,
    grads=grads,
    kl_to_reference=jnp.sum(_kl(log_q, log_reference, cmask)) / num_prompts,
    entropy=jnp.sum(-jnp.sum(jnp.where(cmask, q * log_q, 0.0), axis=-1)) / num_prompts,
    temperature=jnp.sum(temperature) / num_prompts,
  )
  return sums, log_q


def _ft_step(
  model,
  optimizer: nnx.Optimizer,
  batch: CandidateBatch,
  log_target: jax.Array,
  log_reference: jax.Array,
  temperature: jax.Array,
  *,
  num_shards: int,
  mesh: Mesh | None,
):
  """Minimise ``mean_prompts KL(pi+ || pi_theta)`` over the candidates with one optimizer step on
  the LoRA parameters (the base weights are not differentiated, so they never change).

  The ``P`` prompts are cut into ``num_shards`` equal shards (one per device of ``mesh``): each
  shard's share ``sum_{p in shard} KL_p / P`` and its gradient are computed alone and the shares
  added in shard order (:func:`dice_jax.ft.policies.prompt_shards.over_prompt_shards`), so the
  mesh and one device give the same bits; one shard is the plain mean over the batch.

  Use :func:`ft_steps` for several steps in one compiled loop. Returns metrics before the
  update: ``loss`` (= the mean KL to the target), ``kl_to_reference``
  ``KL(pi_theta || rho)``, ``entropy`` of ``pi_theta``, ``temperature`` (mean of the per-state
  temperatures used) and ``skipped`` (the loss or gradients were not finite: no update).
  """
  graphdef, adapters, frozen = split_adapters(model)
  sums, _ = over_prompt_shards(
    functools.partial(_shard_sums, graphdef, batch.shape[0]),
    (adapters, frozen),
    (batch, log_target, log_reference, temperature),
    num_shards=num_shards,
    mesh=mesh,
  )
  finite = jnp.isfinite(sums.loss) & jnp.all(
    jnp.stack([jnp.all(jnp.isfinite(g)) for g in jax.tree_util.tree_leaves(sums.grads)])
  )
  optimizer.update(model, sums.grads)
  return {
    "loss": sums.loss,
    "kl_to_reference": sums.kl_to_reference,
    "entropy": sums.entropy,
    "temperature": sums.temperature,
    "skipped": ~finite,
  }


def split_adapters(model):
  """``(graphdef, adapters, frozen)``: the LoRA parameters (:data:`ADAPTER`) and everything else.

  ``nnx.merge(graphdef, adapters, frozen)`` rebuilds the model around the *same* arrays (no
  copy), which is how agents share one frozen base (:func:`dice_jax.ft.shared_lora_agents`).
  """
  return nnx.split(model, ADAPTER, ...)


@functools.partial(jax.jit, static_argnames=("graphdef", "adapters_on", "num_shards", "mesh"))
def _log_policy_pure(graphdef, adapters, frozen, batch, *, adapters_on, num_shards, mesh):
  if not adapters_on:  # LoRA with B = A = 0 adds exactly 0: the base model's distribution
    adapters = jax.tree_util.tree_map(jnp.zeros_like, adapters)

  def shard_policy(params, shard):
    return (), candidate_log_policy(nnx.merge(graphdef, *params), shard)

  _, log_pi = over_prompt_shards(
    shard_policy, (adapters, frozen), batch, num_shards=num_shards, mesh=mesh
  )
  return log_pi


def log_policy(
  model,
  batch: CandidateBatch,
  *,
  adapters: bool = True,
  mesh: Mesh | None = None,
  num_shards: int | None = None,
) -> jax.Array:
  """Jitted :func:`candidate_log_policy`; ``adapters=False`` gives the reference ``rho`` (the
  base model: every LoRA contribution is exactly zero) without touching the model.

  ``mesh``: score the prompts split across its devices (``P / devices`` whole prompts each,
  the model replicated: :func:`replicate_model` once first), bit for bit equal to one device
  with ``num_shards=mesh.size``; ``num_shards`` (default 1) scores the prompts in that many
  equal shards one after another (see :func:`ft_steps`).

  Raises:
    ValueError: ``num_shards`` is not a positive integer or (with a ``mesh``) not its device
      count; the prompts do not split evenly into the shards.
  """
  shards = shard_count(batch.shape[0], mesh=mesh, num_shards=num_shards)
  graphdef, lora, frozen = split_adapters(model)
  if mesh is not None:
    lora, frozen, batch = _place(mesh, (lora, frozen), batch)
  return _log_policy_pure(
    graphdef, lora, frozen, batch, adapters_on=bool(adapters), num_shards=shards, mesh=mesh
  )


def _place(mesh: Mesh, replicated, split):
  """``replicated`` on every device of ``mesh``, ``split`` cut along its leading axes over the
  devices (a no-op for arrays already placed so)."""
  return (
    *jax.device_put(replicated, NamedSharding(mesh, PartitionSpec())),
    jax.device_put(split, NamedSharding(mesh, PartitionSpec(tuple(mesh.axis_names)))),
  )


@functools.partial(
  jax.jit, static_argnames=("graphdef", "opt_graphdef", "num_steps", "num_shards", "mesh")
)
def _ft_steps_pure(
  graphdef,
  opt_graphdef,
  adapters,
  frozen,
  opt_state,
  batch,
  log_target,
  log_reference,
  temperature,
  *,
  num_steps,
  num_shards,
  mesh,
):
  model = nnx.merge(graphdef, adapters, frozen)
  optimizer = nnx.merge(opt_graphdef, opt_state)
  step = functools.partial(_ft_step, num_shards=num_shards, mesh=mesh)

  def body(_, carry):
    m, o, skipped = carry
    metrics = step(m, o, batch, log_target, log_reference, temperature)
    return m, o, skipped + metrics["skipped"].astype(jnp.int32)

  skipped = jnp.int32(0)
  if num_steps > 1:
    _, _, skipped = nnx.fori_loop(0, num_steps - 1, body, (model, optimizer, skipped))
  metrics = step(model, optimizer, batch, log_target, log_reference, temperature)
  metrics["skipped"] = skipped + metrics["skipped"].astype(jnp.int32)
  # only the adapters and the optimizer state leave the program: the frozen base arrays are
  # never rewritten, so agents merged around one base keep sharing it
  return nnx.state(model, ADAPTER), nnx.state(optimizer), metrics


def replicate_model(model, mesh: Mesh) -> None:
  """Place every array of ``model`` (frozen base and adapters) on all devices of ``mesh``,
  replicated, in place: once, before data-parallel :func:`ft_steps` with this ``mesh``, so that
  each call moves only the candidates."""
  nnx.update(model, jax.device_put(nnx.state(model), NamedSharding(mesh, PartitionSpec())))


def ft_steps(
  model,
  optimizer: nnx.Optimizer,
  batch: CandidateBatch,
  log_target: jax.Array,
  log_reference: jax.Array,
  temperature: jax.Array,
  *,
  num_steps: int,
  mesh: Mesh | None = None,
  num_shards: int | None = None,
):
  """``num_steps`` :func:`ft_step` updates in one compiled ``nnx.fori_loop``; returns the last
  step's metrics with ``skipped`` counting the skipped steps.

  Only the adapters and the optimizer state are written back into ``model`` / ``optimizer``;
  the frozen base is an input of the compiled program, never an output, so its arrays stay the
  very same objects (bit-identical and still shared between agents on one base).

  Shards: with ``num_shards = S`` (default 1) the ``P`` prompts are cut into ``S`` equal
  contiguous shards; each shard's share of the loss, ``sum_{p in shard} KL_p / P``, and its
  adapter gradient are computed alone (one compiled body run ``S`` times, ``lax.map``) and the
  shards' shares are added in shard order, ``((g_0 + g_1) + g_2) + ...``, before one optimizer
  update. Mathematically this is the gradient of the batch mean for every ``S``; in float32
  the shapes of the matrix products, and so their rounding, depend on ``S``.

  Data parallelism: with a ``mesh`` the shards are its devices (``S = mesh.size``): every
  ``[P·K, ...]`` and ``[P, ...]`` input is split across them, ``P / devices`` whole prompts each,
  while the base, the adapters and the optimizer state are replicated (call
  :func:`replicate_model` once first; otherwise they are copied onto the mesh every call). Each
  device runs the per-shard program on its shard (``jax.shard_map``), the shares are gathered
  (``lax.all_gather``) and every device adds them in shard order, then applies the replicated
  update. The mesh step therefore equals the one-device step with ``num_shards=mesh.size``
  bit for bit (same per-shard program on the same shapes, same order of additions: measured
  on 2 and 4 forced host CPU devices with XLA's default optimisation,
  tests/ft/test_data_parallel.py; an empirical property of XLA, not a documented contract); it
  equals the default one-shard step to float32 round-off.

  Raises:
    ValueError: ``num_steps`` is not a positive integer; ``num_shards`` is not a positive
      integer or (with a ``mesh``) not its device count; the prompts do not split evenly into
      the shards.
  """
  num_steps = fields.integer("num_steps", num_steps, low=1)
  shards = shard_count(batch.shape[0], mesh=mesh, num_shards=num_shards)
  graphdef, lora, frozen = split_adapters(model)
  opt_graphdef, opt_state = nnx.split(optimizer)
  log_target, log_reference, temperature = (
    jnp.asarray(log_target),
    jnp.asarray(log_reference),
    jnp.asarray(temperature),
  )
  if mesh is not None:
    lora, frozen, opt_state, (batch, log_target, log_reference, temperature) = _place(
      mesh, (lora, frozen, opt_state), (batch, log_target, log_reference, temperature)
    )
  new_lora, new_opt, metrics = _ft_steps_pure(
    graphdef,
    opt_graphdef,
    lora,
    frozen,
    opt_state,
    batch,
    log_target,
    log_reference,
    temperature,
    num_steps=int(num_steps),
    num_shards=shards,
    mesh=mesh,
  )
  nnx.update(model, new_lora)
  nnx.update(optimizer, new_opt)
  return metrics


def ft_step(
  model,
  optimizer: nnx.Optimizer,
  batch: CandidateBatch,
  log_target: jax.Array,
  log_reference: jax.Array,
  temperature: jax.Array,
):
  """One jitted training step on the adapters: minimise ``mean_prompts KL(pi+ || pi_theta)``.

  Returns metrics from before the update: ``loss`` (the mean KL to the target),
  ``kl_to_reference`` ``KL(pi_theta || rho)``, ``entropy`` of ``pi_theta``, ``temperature`` (the
  mean per-state temperature) and ``skipped`` (True when the loss or gradients were not finite:
  ``optax.apply_if_finite`` left the adapters where they were).
  """
  metrics = ft_steps(model, optimizer, batch, log_target, log_reference, temperature, num_steps=1)
  metrics["skipped"] = metrics["skipped"] > 0
  return metrics
