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
  """

  ids: jax.Array
  mask: jax.Array
  starts: jax.Array
  lengths: jax.Array
  candidate_mask: jax.Array
  window: int = struct.field(pytree_node=False, default=1)

  @property
  def shape(self):
    return self.candidate_mask.shape


def make_candidate_batch(prompts: Sequence[Sequence[int]],
                         candidates: Sequence[Sequence[Sequence[int]]], *, pad_id: int = 0,
                         candidate_mask: Optional[np.ndarray] = None) -> CandidateBatch:
  """Pack token ids: ``prompts[p]`` with candidates ``candidates[p][k]``.

  Prompts with fewer candidates than the largest set need ``candidate_mask`` (``[P, K]``, True
  for the ``len(candidates[p])`` real ones, which come first); the missing slots are filled with
  a copy of the prompt's first candidate and masked out of every distribution.

  Raises:
    ValueError: naming the argument: empty prompts or candidates, sets of different sizes
      without ``candidate_mask``, or a mask that does not match the sets.
  """
  if len(prompts) != len(candidates) or not prompts:
    raise ValueError(f"candidates must hold one list per prompt ({len(prompts)} prompts); "
                     f"got {len(candidates)}.")
  sizes = [len(c) for c in candidates]
  k = max(sizes)
  if min(sizes) < 1:
    raise ValueError(f"candidates: every prompt needs at least one candidate; sizes {sizes}.")
  if candidate_mask is None:
    if len(set(sizes)) != 1:
      raise ValueError(f"candidates: prompts have candidate sets of different sizes {sizes}; "
                       "pass candidate_mask ([P, K] booleans) to mark the real ones.")
    cmask = np.ones((len(prompts), k), bool)
  else:
    cmask = np.asarray(candidate_mask, bool)
    if cmask.shape != (len(prompts), k) or list(cmask.sum(1)) != sizes or \
        not all(cmask[p, :s].all() for p, s in enumerate(sizes)):
      raise ValueError(f"candidate_mask must be [P, K] = {(len(prompts), k)} with the first "
                       f"len(candidates[p]) entries True (sizes {sizes}); got shape {cmask.shape}.")
  rows = []
  for p, (prompt, cands) in enumerate(zip(prompts, candidates)):
    if len(prompt) < 1:
      raise ValueError(f"prompts[{p}] is empty.")
    for j in range(k):
      c = list(cands[j] if j < len(cands) else cands[0])
      if len(c) < 1:
        raise ValueError(f"candidates[{p}][{j}] is empty.")
      rows.append((list(prompt), c))
  length = max(len(a) + len(b) for a, b in rows)
  ids = np.full((len(rows), length), pad_id, np.int32)
  mask = np.zeros((len(rows), length), bool)
  for r, (a, b) in enumerate(rows):
    ids[r, :len(a) + len(b)] = a + b
    mask[r, :len(a) + len(b)] = True
  return CandidateBatch(ids=ids, mask=mask,
                        starts=np.array([len(a) - 1 for a, _ in rows], np.int32),
                        lengths=np.array([len(b) for _, b in rows], np.int32),
                        candidate_mask=cmask, window=max(len(b) for _, b in rows))
