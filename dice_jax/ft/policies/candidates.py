"""Candidate responses per prompt as one padded token batch for scoring and training."""

from __future__ import annotations

from typing import Optional, Sequence

import jax
import numpy as np
from flax import struct


@struct.dataclass
class CandidateBatch:
  """``P`` prompts with ``K`` candidates each, flattened to ``P*K`` rows ``prompt ⊕ candidate``.

  Attributes:
    ids, mask: ``[P*K, L]`` right-padded token ids and attention mask.
    starts: ``[P*K]`` index of the last prompt token (its logits predict the first candidate token).
    lengths: ``[P*K]`` candidate lengths.
    candidate_mask: ``[P, K]`` which candidates exist.
    window: the longest candidate (static).
    prompt_len: ``0``, or (static) a length ``>=`` every prompt: then the ``K`` candidates of a
      prompt share one run of the prompt when scored
      (``dice_jax.llm.score.grouped_candidate_logprobs``) instead of ``K`` runs of
      ``prompt ⊕ candidate`` rows; the log-probabilities agree to float32 round-off.
  """

  ids: jax.Array
  mask: jax.Array
  starts: jax.Array
  lengths: jax.Array
  candidate_mask: jax.Array
  window: int = struct.field(pytree_node=False, default=1)
  prompt_len: int = struct.field(pytree_node=False, default=0)

  @property
  def shape(self):
    return self.candidate_mask.shape


def make_candidate_batch(
  prompts: Sequence[Sequence[int]],
  candidates: Sequence[Sequence[Sequence[int]]],
  *,
  pad_id: int = 0,
  candidate_mask: Optional[np.ndarray] = None,
  num_candidates: Optional[int] = None,
  length: Optional[int] = None,
  window: Optional[int] = None,
  share_prompts: bool = True,
) -> CandidateBatch:
  """Pack token ids: ``prompts[p]`` with candidates ``candidates[p][k]``.

  Prompts with fewer candidates than the largest set need ``candidate_mask`` (``[P, K]``, True
  for the ``len(candidates[p])`` real ones, which come first); the missing slots are filled with
  a copy of the prompt's first candidate and masked out of every distribution.

  ``num_candidates`` (``K``), ``length`` (row length) and ``window`` (longest candidate) fix the
  padded shapes, so batches built from fresh samples every DICE-FT iteration reuse one compiled
  scoring/training program; by default they are the smallest that fit. With ``num_candidates``
  larger than every set, ``candidate_mask`` is required as for sets of different sizes.

  ``share_prompts`` (with ``K > 1``) sets ``prompt_len`` to ``max(longest prompt, length -
  window)``, so each prompt is run once for its ``K`` candidates when scored and trained (fixed
  ``length`` and ``window`` keep it fixed too); the scores agree with full rows to float32
  round-off (tests/llm/test_layer_stack.py).

  Raises:
    ValueError: naming the argument: empty prompts or candidates, sets of different sizes
      without ``candidate_mask``, a mask that does not match the sets, or fixed shapes too small
      for the data.
  """
  if len(prompts) != len(candidates) or not prompts:
    raise ValueError(
      f"candidates must hold one list per prompt ({len(prompts)} prompts); got {len(candidates)}."
    )
  sizes = [len(c) for c in candidates]
  k = max(sizes)
  if min(sizes) < 1:
    raise ValueError(f"candidates: every prompt needs at least one candidate; sizes {sizes}.")
  if num_candidates is not None:
    if int(num_candidates) != num_candidates or num_candidates < k:
      raise ValueError(
        f"num_candidates must be an integer >= the largest candidate set ({k}); "
        f"got {num_candidates!r}."
      )
    k = int(num_candidates)
  if candidate_mask is None:
    if len(set(sizes)) != 1 or sizes[0] != k:
      raise ValueError(
        f"candidates: prompts have candidate sets of different sizes {sizes}; "
        "pass candidate_mask ([P, K] booleans) to mark the real ones."
      )
    cmask = np.ones((len(prompts), k), bool)
  else:
    cmask = np.asarray(candidate_mask, bool)
    if (
      cmask.shape != (len(prompts), k)
      or list(cmask.sum(1)) != sizes
      or not all(cmask[p, :s].all() for p, s in enumerate(sizes))
    ):
      raise ValueError(
        f"candidate_mask must be [P, K] = {(len(prompts), k)} with the first "
        f"len(candidates[p]) entries True (sizes {sizes}); got shape {cmask.shape}."
      )
  rows = []
  for p, (prompt, cands) in enumerate(zip(prompts, candidates)):
    if len(prompt) < 1:
      raise ValueError(f"prompts[{p}] is empty.")
    for j in range(k):
      c = list(cands[j] if j < len(cands) else cands[0])
      if len(c) < 1:
        raise ValueError(f"candidates[{p}][{j}] is empty.")
      rows.append((list(prompt), c))
  need_len = max(len(a) + len(b) for a, b in rows)
  need_win = max(len(b) for _, b in rows)
  for name, value, need in (("length", length, need_len), ("window", window, need_win)):
    if value is not None and (int(value) != value or value < need):
      raise ValueError(
        f"{name} must be an integer >= {need} (the longest "
        f"{'prompt + candidate' if name == 'length' else 'candidate'}); "
        f"got {value!r}."
      )
  length = need_len if length is None else int(length)
  ids = np.full((len(rows), length), pad_id, np.int32)
  mask = np.zeros((len(rows), length), bool)
  for r, (a, b) in enumerate(rows):
    ids[r, : len(a) + len(b)] = a + b
    mask[r, : len(a) + len(b)] = True
  window = need_win if window is None else int(window)
  prompt_len = max(max(len(a) for a, _ in rows), length - window) if share_prompts and k > 1 else 0
  return CandidateBatch(
    ids=ids,
    mask=mask,
    starts=np.array([len(a) - 1 for a, _ in rows], np.int32),
    lengths=np.array([len(b) for _, b in rows], np.int32),
    candidate_mask=cmask,
    window=window,
    prompt_len=prompt_len,
  )
