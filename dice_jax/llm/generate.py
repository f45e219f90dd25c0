"""Batched autoregressive generation with a static KV cache, compiled once with ``jax.jit``.

Prompts are left-padded (``mask`` marks real tokens), positions are ``cumsum(mask) - 1``, so
every row's prompt occupies positions ``0 … len-1`` exactly as if it were alone. One jitted
program runs the prefill and a ``lax.while_loop`` over decoding steps that ends after
``max_new_tokens`` steps or when every row has emitted a stop token. After a stop token a row
emits ``pad_id`` (as transformers' ``generate`` does).

Decoding rules per step (logits ``z`` of the last position):

* greedy: ``argmax z``;
* sampling: ``z / temperature``, then nucleus (top-p) filtering (Holtzman et al. 2020,
  arXiv:1904.09751): keep the smallest set of most likely tokens whose probability mass reaches
  ``top_p``, then draw with ``jax.random.categorical`` using ``fold_in(key, step)``. With
  ``top_p = 1`` the filter (a sort of the vocabulary per step) is compiled out.

Returned per-token log-probabilities are those of the *model* distribution
``log_softmax(z)`` (temperature 1, no top-p) at the emitted token — the quantity that policy
updates (DICE-FT) and scoring need; ``0`` after a stop.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dice_jax.llm.model import new_cache

__all__ = ["GenerationResult", "generate", "generate_text", "sample_logits"]


@dataclasses.dataclass(frozen=True)
class GenerationResult:
  """Output of :func:`generate`.

  Attributes:
    tokens: ``[B, max_new_tokens]`` int32 generated ids, ``pad_id`` after a stop token.
    logprobs: ``[B, max_new_tokens]`` float32 model log-probabilities of the emitted tokens.
    num_generated: ``[B]`` int32, tokens generated per row including the stop token (the cost).
    stopped: ``[B]`` bool, whether the row emitted a stop token.
    texts: decoded texts (without the stop token) when a tokenizer was given, else None.
  """

  tokens: np.ndarray
  logprobs: np.ndarray
  num_generated: np.ndarray
  stopped: np.ndarray
  texts: list[str] | None = None

  def token_lists(self) -> list[list[int]]:
    """Generated ids per row, cut at ``num_generated``."""
    return [self.tokens[i, : int(n)].tolist() for i, n in enumerate(self.num_generated)]


def sample_logits(logits: jax.Array, key: jax.Array, *, temperature, top_p) -> jax.Array:
  """Draw one token per row from ``softmax(logits / temperature)`` restricted to the top-p nucleus.

  ``top_p=None`` samples from the whole distribution without the nucleus filter (no sort of the
  vocabulary: sampling at ``top_p = 1`` then costs about what greedy decoding does).
  """
  z = logits.astype(jnp.float32) / jnp.asarray(temperature, jnp.float32)
  if top_p is None:
    return jax.random.categorical(key, z, axis=-1).astype(jnp.int32)
  order = jnp.argsort(-z, axis=-1)
  z_sorted = jnp.take_along_axis(z, order, axis=-1)
  probs = jax.nn.softmax(z_sorted, axis=-1)
  mass_before = jnp.cumsum(probs, axis=-1) - probs
  keep_sorted = mass_before < jnp.asarray(top_p, jnp.float32)  # the top token is always kept
  keep = jnp.zeros_like(keep_sorted).at[jnp.arange(z.shape[0])[:, None], order].set(keep_sorted)
  z = jnp.where(keep, z, -jnp.inf)
  return jax.random.categorical(key, z, axis=-1).astype(jnp.int32)


@functools.partial(
  jax.jit, static_argnames=("graphdef", "max_new_tokens", "greedy", "stop_ids", "pad_id", "nucleus")
)
def _generate(
  graphdef,
  state,
  ids,
  mask,
  key,
  temperature,
  top_p,
  *,
  max_new_tokens: int,
  greedy: bool,
  stop_ids: tuple[int, ...],
  pad_id: int,
  nucleus: bool = True,
):
  model = nnx.merge(graphdef, state)
  cfg = model.config
  b, p = ids.shape
  n = max_new_tokens
  dtype = jax.tree_util.tree_leaves(state)[0].dtype
  cache = new_cache(cfg, batch=b, max_len=p + n, dtype=dtype)
  key_mask = jnp.concatenate([mask, jnp.zeros((b, n), bool)], axis=1)
  positions = jnp.maximum(jnp.cumsum(mask.astype(jnp.int32), axis=1) - 1, 0)
  hidden, cache = model.hidden_states(ids, positions, key_mask, cache, jnp.zeros((), jnp.int32))
  last_logits = model.logits(
    hidden[:, -1]
  )  # left padding: the last column is every row's last token
  stops = jnp.asarray(stop_ids if stop_ids else (-1,), jnp.int32)

  def cond(carry):
    i, _, _, _, done, *_ = carry
    return (i < n) & ~jnp.all(done)

  def body(carry):
    i, cache, last, pos, done, toks, lps, counts, key_mask = carry
    if greedy:
      tok = jnp.argmax(last, axis=-1).astype(jnp.int32)
    else:
      tok = sample_logits(
        last, jax.random.fold_in(key, i), temperature=temperature, top_p=top_p if nucleus else None
      )
    lp = jnp.take_along_axis(jax.nn.log_softmax(last, axis=-1), tok[:, None], axis=-1)[:, 0]
    tok = jnp.where(done, pad_id, tok)
    lp = jnp.where(done, 0.0, lp)
    counts = counts + (~done).astype(jnp.int32)
    zero = jnp.zeros((), jnp.int32)  # index dtypes must agree, also under jax_enable_x64
    toks = jax.lax.dynamic_update_slice(toks, tok[:, None], (zero, i))
    lps = jax.lax.dynamic_update_slice(lps, lp[:, None], (zero, i))
    done = done | jnp.any(tok[:, None] == stops[None, :], axis=-1)
    slot = (i + p).astype(jnp.int32)
    key_mask = jax.lax.dynamic_update_slice(key_mask, jnp.ones((b, 1), bool), (zero, slot))
    step_logits, cache = model(tok[:, None], pos[:, None], key_mask, cache, slot)
    return i + 1, cache, step_logits[:, 0], pos + 1, done, toks, lps, counts, key_mask

  carry = (
    jnp.zeros((), jnp.int32),
    cache,
    last_logits,
    (positions[:, -1] + 1).astype(jnp.int32),
    jnp.zeros((b,), bool),
    jnp.full((b, n), pad_id, jnp.int32),
    jnp.zeros((b, n), jnp.float32),
    jnp.zeros((b,), jnp.int32),
    key_mask,
  )
  _, _, _, _, done, toks, lps, counts, _ = jax.lax.while_loop(cond, body, carry)
  return toks, lps, counts, done


def generate(
  model,
  ids,
  mask=None,
  *,
  max_new_tokens: int,
  greedy: bool = True,
  key: jax.Array | None = None,
  temperature: float = 1.0,
  top_p: float = 1.0,
  stop_ids: Sequence[int] = (),
  pad_id: int = 0,
  tokenizer=None,
) -> GenerationResult:
  """Generate up to ``max_new_tokens`` tokens for a left-padded batch of prompts.

  Args:
    model: an NNX causal LM (:func:`~dice_jax.llm.build_model` / a loader).
    ids: ``[B, P]`` int prompt ids, left-padded.
    mask: ``[B, P]`` bool, True on real tokens (default: all True).
    max_new_tokens: number of decoding steps (static: one compilation per value).
    greedy: argmax decoding; otherwise sampling with ``key``, ``temperature``, ``top_p``.
    key: a ``jax.random`` key, required when ``greedy=False``.
    temperature: > 0, divides the logits before sampling.
    top_p: in (0, 1], nucleus mass.
    stop_ids: token ids that end a row (included in the output and its count).
    pad_id: id written after a row stopped.
    tokenizer: if given, ``texts`` holds the decoded generations (stop tokens dropped).

  Returns:
    A :class:`GenerationResult`.

  Example::

      res = generate(model, ids, mask, max_new_tokens=32, stop_ids=cfg.eos_token_ids)
  """
  ids = np.asarray(ids, dtype=np.int32)
  if ids.ndim != 2 or ids.shape[1] == 0:
    raise ValueError(f"ids must have shape [batch, prompt_len>0], got {ids.shape}")
  mask = np.ones(ids.shape, bool) if mask is None else np.asarray(mask, dtype=bool)
  if mask.shape != ids.shape:
    raise ValueError(f"mask shape {mask.shape} differs from ids shape {ids.shape}")
  if not mask[:, -1].all():
    raise ValueError("prompts must be left-padded: mask[:, -1] must be True for every row")
  if max_new_tokens < 1:
    raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
  if not greedy:
    if key is None:
      raise ValueError("sampling (greedy=False) needs an explicit PRNG key")
    if not temperature > 0:
      raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0 < top_p <= 1:
      raise ValueError(f"top_p must be in (0, 1], got {top_p}")
  cfg = model.config
  real = ids[mask]
  if real.size and (real.min() < 0 or real.max() >= cfg.vocab_size):
    raise ValueError(
      f"token ids must lie in [0, vocab_size={cfg.vocab_size}), got range "
      f"[{real.min()}, {real.max()}] (tokenizer and model mismatch?)"
    )
  if ids.shape[1] + max_new_tokens > cfg.max_position_embeddings and cfg.family == "gpt2":
    raise ValueError(
      f"prompt length + max_new_tokens exceeds n_positions={cfg.max_position_embeddings}"
    )
  graphdef, state = nnx.split(model)
  key = jax.random.key(0) if key is None else key
  toks, lps, counts, done = _generate(
    graphdef,
    state,
    jnp.asarray(ids),
    jnp.asarray(mask),
    key,
    jnp.float32(temperature),
    jnp.float32(top_p),
    max_new_tokens=int(max_new_tokens),
    greedy=bool(greedy),
    stop_ids=tuple(int(s) for s in stop_ids),
    pad_id=int(pad_id),
    nucleus=bool(top_p < 1),
  )
  res = GenerationResult(
    tokens=np.asarray(toks),
    logprobs=np.asarray(lps),
    num_generated=np.asarray(counts),
    stopped=np.asarray(done),
  )
  if tokenizer is not None:
    texts = []
    for row, n, stopped in zip(res.tokens, res.num_generated, res.stopped):
      kept = row[: int(n) - (1 if stopped else 0)].tolist()
      texts.append(tokenizer.decode(kept, skip_special_tokens=False))
    res = dataclasses.replace(res, texts=texts)
  return res


def generate_text(
  model,
  tokenizer,
  prompts: Sequence[str] | str,
  *,
  chat: bool = False,
  system: str | None = None,
  max_new_tokens: int = 64,
  greedy: bool = True,
  key: jax.Array | None = None,
  temperature: float = 1.0,
  top_p: float = 1.0,
  stop_ids: Sequence[int] | None = None,
  prompt_bucket: int = 16,
) -> tuple[GenerationResult, list[list[int]]]:
  """Tokenise ``prompts`` (optionally with the chat template), generate, decode.

  ``stop_ids`` defaults to the tokenizer's eos id and the model config's eos ids. Prompts are
  left-padded to a multiple of ``prompt_bucket`` tokens so that prompts of similar length
  reuse one compiled program (padding is masked and does not change the result).
  Returns ``(result, prompt_token_lists)``.
  """
  from dice_jax.llm.tokenizer import encode_prompts, pad_id

  ids, mask, lists = encode_prompts(
    tokenizer,
    list([prompts] if isinstance(prompts, str) else prompts),
    chat=chat,
    system=system,
    multiple=prompt_bucket,
  )
  if stop_ids is None:
    stops = set(model.config.eos_token_ids)
    if tokenizer.eos_token_id is not None:
      stops.add(int(tokenizer.eos_token_id))
    stop_ids = tuple(sorted(stops))
  res = generate(
    model,
    ids,
    mask,
    max_new_tokens=max_new_tokens,
    greedy=greedy,
    key=key,
    temperature=temperature,
    top_p=top_p,
    stop_ids=stop_ids,
    pad_id=pad_id(tokenizer),
    tokenizer=tokenizer,
  )
  return res, lists
