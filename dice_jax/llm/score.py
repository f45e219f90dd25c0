"""Log-probabilities of candidate responses given prompts, batched (teacher forcing).

For a prompt ``x`` and a candidate ``y = (y_1 … y_m)`` the score is

    log π(y | x) = Σ_j log softmax(z_j)[y_j],

where ``z_j`` are the logits after ``x ⊕ y_{<j}``. Each pair is one right-padded row of
``prompt ⊕ candidate``; one forward pass over the batch (no cache) gives every row's logits,
and the log-softmax is evaluated as ``z[y] - logsumexp(z)`` (max-subtracted) in float32. The
padded length is rounded up to a multiple of ``bucket`` so repeated calls reuse the compiled
program. DICE-FT (mirror targets over candidate sets) and DICE-PC (frozen agents' preferences)
use these scores. Only the candidate positions go through the vocabulary projection
(:func:`candidate_logprobs`).

Several candidates of one prompt (DICE-FT scores ``K`` per prompt) need not recompute the
prompt ``K`` times: :func:`shared_prompt_logprobs` runs each prompt once, writing its keys and
values into a cache, and runs the candidates as a second chunk that attends to the cached prompt
(the prefix sharing of batched sampling, cf. Kwon et al. 2023, "vLLM", arXiv:2309.06180). Each
candidate token sees the same keys and values at the same positions as in the concatenated row,
so the log-probabilities agree with :func:`candidate_logprobs` to float32 round-off; the work
falls from ``K·(prompt + candidate)`` to ``prompt + K·candidate`` tokens per prompt.
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

__all__ = [
  "ScoreResult",
  "candidate_logprobs",
  "grouped_candidate_logprobs",
  "score_candidates",
  "score_texts",
  "sequence_logprobs",
  "shared_prompt_logprobs",
]


@dataclasses.dataclass(frozen=True)
class ScoreResult:
  """Output of :func:`score_candidates`.

  Attributes:
    total: ``[N]`` float32, ``log π(candidate | prompt)`` summed over the candidate's tokens.
    token_logprobs: list of ``N`` float32 arrays, one log-probability per candidate token.
    num_tokens: ``[N]`` int, candidate lengths in tokens.
  """

  total: np.ndarray
  token_logprobs: list[np.ndarray]
  num_tokens: np.ndarray

  @property
  def mean(self) -> np.ndarray:
    """Per-token average log-probability (length-normalised score)."""
    return self.total / np.maximum(self.num_tokens, 1)


def sequence_logprobs(model, ids: jax.Array, mask: jax.Array) -> jax.Array:
  """``[B, L-1]`` log-probabilities of ``ids[:, 1:]`` given their prefixes (right-padded rows).

  Differentiable (used by LoRA training losses); positions are ``0 … L-1``.
  """
  positions = jnp.broadcast_to(jnp.arange(ids.shape[1], dtype=jnp.int32), ids.shape)
  logits, _ = model(ids, positions, mask)
  logits = logits[:, :-1].astype(jnp.float32)
  targets = ids[:, 1:]
  picked = jnp.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
  return picked - jax.nn.logsumexp(logits, axis=-1)


def candidate_logprobs(
  model, ids: jax.Array, mask: jax.Array, starts: jax.Array, lengths: jax.Array, window: int
) -> jax.Array:
  """``[N, window]`` log-probabilities of each row's candidate tokens (0 past ``lengths``).

  Row ``i`` holds ``prompt ⊕ candidate`` right-padded; ``starts[i] = len(prompt_i) - 1`` is the
  position whose logits predict the first candidate token. Only the ``window`` positions from
  ``starts`` go through the vocabulary projection, so scoring short candidates after long
  prompts costs little more than the transformer body. Differentiable.
  """
  positions = jnp.broadcast_to(jnp.arange(ids.shape[1], dtype=jnp.int32), ids.shape)
  hidden, _ = model.hidden_states(ids, positions, mask)
  last = ids.shape[1] - 1
  idx = jnp.minimum(starts[:, None] + jnp.arange(window, dtype=jnp.int32)[None, :], last)
  h = jnp.take_along_axis(hidden, idx[..., None], axis=1)
  logits = model.logits(h)
  targets = jnp.take_along_axis(ids, jnp.minimum(idx + 1, last), axis=1)
  picked = jnp.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
  lp = picked - jax.nn.logsumexp(logits, axis=-1)
  valid = jnp.arange(window, dtype=jnp.int32)[None, :] < lengths[:, None]
  return jnp.where(valid, lp, 0.0)


def shared_prompt_logprobs(
  model, prompt_ids: jax.Array, prompt_mask: jax.Array, cand_ids: jax.Array, cand_lengths: jax.Array
) -> jax.Array:
  """``[P, K, W]`` log-probabilities of ``K`` candidates per prompt, each prompt run once.

  Args:
    model: an NNX causal LM.
    prompt_ids, prompt_mask: ``[P, Lp]`` left-padded prompts (``prompt_mask[:, -1]`` all True).
    cand_ids: ``[P, K, W]`` right-padded candidate tokens.
    cand_lengths: ``[P, K]`` candidate lengths (``1 … W``).

  Returns:
    ``log π(y_j | x ⊕ y_{<j})`` at ``[p, k, j]`` for ``j < cand_lengths[p, k]``, 0 beyond.
    Differentiable. The prompt's keys and values (a cache of ``Lp + W`` slots) are repeated
    ``K`` times along the batch and the candidates written after them at slot ``Lp``.
  """
  p, lp = prompt_ids.shape
  _, k, w = cand_ids.shape
  dtype = jax.tree_util.tree_leaves(nnx.state(model, nnx.Param))[0].dtype
  cache = new_cache(model.config, batch=p, max_len=lp + w, dtype=dtype)
  prompt_mask = prompt_mask.astype(bool)
  positions = jnp.maximum(jnp.cumsum(prompt_mask.astype(jnp.int32), axis=1) - 1, 0)
  key_mask = jnp.concatenate([prompt_mask, jnp.zeros((p, w), bool)], axis=1)
  h_prompt, cache = model.hidden_states(prompt_ids, positions, key_mask, cache, 0)
  cache = jax.tree_util.tree_map(lambda a: jnp.repeat(a, k, axis=1), cache)  # [L, P*K, S, H, D]
  steps = jnp.arange(w, dtype=jnp.int32)
  valid = steps[None, None, :] < cand_lengths[..., None]  # [P, K, W]
  cand_positions = jnp.sum(prompt_mask, axis=1, dtype=jnp.int32)[:, None, None] + steps  # [P, 1, W]
  cand_positions = jnp.broadcast_to(cand_positions, (p, k, w)).reshape(p * k, w)
  cand_key_mask = jnp.concatenate(
    [jnp.repeat(prompt_mask, k, axis=0), valid.reshape(p * k, w)], axis=1
  )
  h_cand, _ = model.hidden_states(
    cand_ids.reshape(p * k, w), cand_positions, cand_key_mask, cache, lp
  )
  # token j is predicted by the hidden state before it: the prompt's last for j = 0
  first = jnp.repeat(h_prompt[:, -1:], k, axis=0)  # [P*K, 1, hidden]
  h = jnp.concatenate([first, h_cand[:, : w - 1]], axis=1)
  logits = model.logits(h)
  targets = cand_ids.reshape(p * k, w)
  picked = jnp.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
  lp_tok = (picked - jax.nn.logsumexp(logits, axis=-1)).reshape(p, k, w)
  return jnp.where(valid, lp_tok, 0.0)


def grouped_candidate_logprobs(
  model,
  ids: jax.Array,
  mask: jax.Array,
  starts: jax.Array,
  lengths: jax.Array,
  window: int,
  *,
  group: int,
  prompt_len: int,
) -> jax.Array:
  """:func:`candidate_logprobs` for rows that come in runs of ``group`` sharing one prompt.

  Takes the same right-padded ``prompt ⊕ candidate`` rows (``N = P·group``; rows
  ``p·group … p·group + group - 1`` hold the same prompt, ``ids[r, :starts[r] + 1]``) and
  returns the same ``[N, window]`` log-probabilities, computed by :func:`shared_prompt_logprobs`
  with each prompt run once. ``prompt_len`` (static) must be ``>= starts + 1`` for every row.
  """
  del mask  # the rows' mask is starts/lengths in disguise: prompt ⊕ candidate, then padding
  n, length = ids.shape
  p = n // group
  first_rows = ids.reshape(p, group, length)[:, 0]
  prompt_n = starts.reshape(p, group)[:, 0] + 1  # [P]
  src = jnp.arange(prompt_len, dtype=jnp.int32)[None, :] - (prompt_len - prompt_n[:, None])
  prompt_mask = src >= 0
  prompt_ids = jnp.where(
    prompt_mask, jnp.take_along_axis(first_rows, jnp.maximum(src, 0), axis=1), 0
  )
  cidx = jnp.minimum(starts[:, None] + 1 + jnp.arange(window, dtype=jnp.int32)[None, :], length - 1)
  cand = jnp.take_along_axis(ids, cidx, axis=1).reshape(p, group, window)
  out = shared_prompt_logprobs(model, prompt_ids, prompt_mask, cand, lengths.reshape(p, group))
  return out.reshape(n, window)


@functools.partial(jax.jit, static_argnames=("graphdef", "window"))
def _score(graphdef, state, ids, mask, starts, lengths, *, window: int):
  model = nnx.merge(graphdef, state)
  lp = candidate_logprobs(model, ids, mask, starts, lengths, window)
  return lp, lp.sum(axis=-1)


def score_candidates(
  model,
  prompts: Sequence[Sequence[int]],
  candidates: Sequence[Sequence[int]],
  *,
  pad_id: int = 0,
  bucket: int = 8,
  batch_size: int | None = None,
) -> ScoreResult:
  """``log π(candidate_i | prompt_i)`` for token-id pairs.

  Args:
    model: an NNX causal LM.
    prompts: ``N`` prompt id lists (non-empty; repeat a prompt for several candidates).
    candidates: ``N`` candidate id lists (non-empty).
    pad_id: id used for padding (masked out, its value does not matter).
    bucket: padded lengths are rounded up to a multiple of this.
    batch_size: rows per forward pass (default: all at once).

  Returns:
    A :class:`ScoreResult`.

  Example::

      res = score_candidates(model, [p, p], [yes_ids, no_ids]); res.total  # two log-probs
  """
  if len(prompts) != len(candidates):
    raise ValueError(
      f"{len(prompts)} prompts but {len(candidates)} candidates (pass one prompt per candidate)"
    )
  if not prompts:
    raise ValueError("score_candidates needs at least one (prompt, candidate) pair")
  for i, (p, c) in enumerate(zip(prompts, candidates)):
    if len(p) == 0 or len(c) == 0:
      raise ValueError(f"pair {i}: prompt and candidate must both be non-empty token lists")
  rows = [list(p) + list(c) for p, c in zip(prompts, candidates)]
  vocab = model.config.vocab_size
  for i, r in enumerate(rows):
    if min(r) < 0 or max(r) >= vocab:
      raise ValueError(
        f"pair {i}: token ids must lie in [0, vocab_size={vocab}), got [{min(r)}, {max(r)}]"
      )
  longest = max(len(r) for r in rows)
  cfg = model.config
  if cfg.family == "gpt2" and longest > cfg.max_position_embeddings:
    raise ValueError(
      f"prompt + candidate of {longest} tokens exceeds n_positions={cfg.max_position_embeddings}"
    )
  length = -(-longest // bucket) * bucket
  if cfg.family == "gpt2":
    length = min(length, cfg.max_position_embeddings)
  n = len(rows)
  ids = np.full((n, length), pad_id, np.int32)
  mask = np.zeros((n, length), bool)
  for i, r in enumerate(rows):
    ids[i, : len(r)] = r
    mask[i, : len(r)] = True
  starts = np.array([len(p) - 1 for p in prompts], np.int32)
  lengths = np.array([len(c) for c in candidates], np.int32)
  window = -(-int(lengths.max()) // 8) * 8
  graphdef, state = nnx.split(model)
  bs = n if batch_size is None else batch_size
  lps, totals = [], []
  for s in range(0, n, bs):
    sl = slice(s, s + bs)
    lp, tot = _score(
      graphdef,
      state,
      jnp.asarray(ids[sl]),
      jnp.asarray(mask[sl]),
      jnp.asarray(starts[sl]),
      jnp.asarray(lengths[sl]),
      window=window,
    )
    lps.append(np.asarray(lp))
    totals.append(np.asarray(tot))
  lp = np.concatenate(lps)
  token_lps = [lp[i, : len(c)] for i, c in enumerate(candidates)]
  return ScoreResult(
    total=np.concatenate(totals), token_logprobs=token_lps, num_tokens=lengths.astype(int)
  )


def score_texts(
  model,
  tokenizer,
  prompts: Sequence[str],
  candidates: Sequence[str],
  *,
  chat: bool = False,
  system: str | None = None,
  **kwargs,
) -> ScoreResult:
  """:func:`score_candidates` on strings: each prompt is tokenised (through the chat template
  if ``chat``), each candidate is tokenised without special tokens and appended."""
  from dice_jax.llm.tokenizer import format_chat, pad_id

  p_ids = []
  for p in prompts:
    if chat:
      p_ids.append(
        tokenizer(format_chat(tokenizer, p, system=system), add_special_tokens=False)["input_ids"]
      )
    else:
      p_ids.append(tokenizer(p)["input_ids"])
  c_ids = [tokenizer(c, add_special_tokens=False)["input_ids"] for c in candidates]
  return score_candidates(model, p_ids, c_ids, pad_id=pad_id(tokenizer), **kwargs)
