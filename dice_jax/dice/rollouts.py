"""Candidate generation with the current adapters, and advantages from the agents' joint outcome.

One DICE-FT iteration (DESIGN §7) needs, for every agent ``i`` and state (prompt) ``s``, a set of
candidate responses drawn from the *current* policy ``pi_k`` and an advantage per candidate:

* :func:`sample_candidates` draws ``K`` responses per prompt through the bridge's jitted
  sampler (:func:`dice_jax.llm.generate`, KV cache, temperature / top-p) on the LoRA-carrying
  model, cuts each at its stop token (kept: it is part of the response's probability), and
  removes duplicates, so sets can be smaller than ``K`` (:class:`CandidateBatch` masks them).
* :func:`joint_advantages` turns the joint payoff of one state into advantages. With payoff
  tensors ``U_i[c_1, ..., c_N]`` over the agents' candidate sets, the current candidate
  distributions ``pi_j`` (sequence probabilities renormalised over each set) and a per-candidate
  cost ``cost_i(c)`` (e.g. ``token_cost * tokens``), the utility of agent ``i``'s candidate ``c``
  is the normal-form utility vector of DESIGN §2 at the profile of candidate distributions,

      v_i(c) = sum_{c_-i} prod_{j != i} pi_j(c_j) U_i[c, c_-i]  -  cost_i(c),

  and ``A_i(c) = v_i(c) - <pi_i, v_i>``: baseline-subtracted per state by the state's value under
  ``pi_k``. The mirror target is a softmax over each candidate set, so the baseline does not
  change ``pi+``; it makes the logged advantages comparable across states. A candidate whose
  payoff entries are not finite (a failed rollout or checker) is dropped from its agent's set
  (masked) and carries zero weight in the other agents' expectations.

References: Sokota et al., "A Unified Approach to Reinforcement Learning, Quantal Response
Equilibria, and Two-Player Zero-Sum Games" (MMD), ICLR 2023; the DICE paper (DESIGN §7).
"""
from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence, Tuple

import jax
import numpy as np

from dice_jax.llm.generate import generate
from dice_jax.llm.tokenizer import left_pad

__all__ = ["Candidate", "Sampling", "SampledCandidates", "joint_advantages", "sample_candidates"]


@dataclasses.dataclass(frozen=True)
class Sampling:
  """How each DICE-FT iteration draws candidates (settings only).

  Attributes:
    num_candidates: ``K >= 1`` samples per prompt (the set holds the distinct ones).
    max_new_tokens: the longest response in tokens (fixes every padded shape: one compilation).
    temperature: sampling temperature ``> 0`` (not the HQRE temperature ``tau``).
    top_p: nucleus mass in ``(0, 1]``.
    stop_ids: token ids that end a response (kept in the candidate).
    pad_id: padding id.
    dedupe: remove repeated responses of a prompt (sets then differ in size).
    prompt_bucket: prompts are left-padded to a multiple of this.
    tokenizer: optional; with it every :class:`Candidate` carries its decoded ``text``.

  Raises:
    ValueError: naming the field, for a non-positive count, temperature or top-p out of range.
  """

  num_candidates: int
  max_new_tokens: int
  temperature: float = 1.0
  top_p: float = 1.0
  stop_ids: Tuple[int, ...] = ()
  pad_id: int = 0
  dedupe: bool = True
  prompt_bucket: int = 8
  tokenizer: object = None

  def __post_init__(self):
    for name in ("num_candidates", "max_new_tokens", "prompt_bucket"):
      v = getattr(self, name)
      if isinstance(v, bool) or int(v) != v or v < 1:
        raise ValueError(f"{name} must be a positive integer; got {v!r}.")
    if not (np.isfinite(self.temperature) and self.temperature > 0):
      raise ValueError(f"temperature must be > 0; got {self.temperature!r}.")
    if not 0 < self.top_p <= 1:
      raise ValueError(f"top_p must be in (0, 1]; got {self.top_p!r}.")
    object.__setattr__(self, "stop_ids", tuple(int(s) for s in self.stop_ids))


@dataclasses.dataclass(frozen=True)
class Candidate:
  """One sampled response: ``tokens`` (stop token included when ``stopped``), ``text`` (decoded
  without the stop token, when the sampler has a tokenizer), ``count`` (how many of the ``K``
  samples produced it)."""

  tokens: Tuple[int, ...]
  stopped: bool
  count: int = 1
  text: Optional[str] = None

  @property
  def num_tokens(self) -> int:
    return len(self.tokens)


@dataclasses.dataclass(frozen=True)
class SampledCandidates:
  """``candidates[p]``: the distinct responses to prompt ``p`` (first-drawn order);
  ``num_samples``: ``K``; ``mean_tokens``: tokens per sampled response (duplicates counted)."""

  candidates: List[List[Candidate]]
  num_samples: int

  @property
  def mean_tokens(self) -> float:
    tot = sum(c.num_tokens * c.count for cs in self.candidates for c in cs)
    return tot / (self.num_samples * len(self.candidates))

  def token_lists(self) -> List[List[List[int]]]:
    return [[list(c.tokens) for c in cs] for cs in self.candidates]

  def mask(self, num_candidates: Optional[int] = None) -> np.ndarray:
    """``[P, K]``: True for the real candidates (they come first)."""
    k = num_candidates or max(len(cs) for cs in self.candidates)
    return np.array([[j < len(cs) for j in range(k)] for cs in self.candidates], bool)


def sample_candidates(model, prompts: Sequence[Sequence[int]], sampling: Sampling,
                      key: jax.Array) -> SampledCandidates:
  """Draw ``sampling.num_candidates`` responses to each prompt from ``model`` (its current
  adapters included) in one jitted generation call of ``P*K`` rows.

  Args:
    model: an NNX causal LM (with or without LoRA adapters).
    prompts: ``P`` non-empty token-id lists (a role prompt and the task, already templated).
    sampling: a :class:`Sampling`.
    key: a ``jax.random`` key (the same key and adapters give the same samples).

  Returns:
    :class:`SampledCandidates`.

  Raises:
    ValueError: naming the argument, for empty ``prompts`` or an empty prompt, or a bad ``key``.
  """
  if not isinstance(sampling, Sampling):
    raise ValueError(f"sampling must be a Sampling; got {type(sampling).__name__}.")
  if len(prompts) == 0:
    raise ValueError("prompts must hold at least one prompt; got none.")
  for p, prompt in enumerate(prompts):
    if len(prompt) == 0:
      raise ValueError(f"prompts[{p}] is empty.")
  if key is None:
    raise ValueError("key must be a jax.random key; got None.")
  k = sampling.num_candidates
  rows = [list(p) for p in prompts for _ in range(k)]
  ids, mask = left_pad(rows, sampling.pad_id, multiple=sampling.prompt_bucket)
  res = generate(model, ids, mask, max_new_tokens=sampling.max_new_tokens, greedy=False, key=key,
                 temperature=sampling.temperature, top_p=sampling.top_p,
                 stop_ids=sampling.stop_ids, pad_id=sampling.pad_id)
  toks = res.token_lists()
  tok = sampling.tokenizer
  out = []
  for p in range(len(prompts)):
    found: dict = {}
    for r in range(p * k, (p + 1) * k):
      t, stopped = tuple(toks[r]), bool(res.stopped[r])
      if sampling.dedupe and t in found:
        found[t][2] += 1
        continue
      found[t if sampling.dedupe else (t, r)] = [t, stopped, 1]
    cands = []
    for t, stopped, count in found.values():
      text = None
      if tok is not None:
        text = tok.decode(list(t[:-1] if stopped else t), skip_special_tokens=False)
      cands.append(Candidate(tokens=t, stopped=stopped, count=count, text=text))
    out.append(cands)
  return SampledCandidates(candidates=out, num_samples=k)


def joint_advantages(payoffs: Sequence[np.ndarray], policies: Sequence[np.ndarray],
                     costs: Optional[Sequence[np.ndarray]] = None):
  """Advantages of every agent's candidates in one state from the joint payoff.

  Args:
    payoffs: ``N`` arrays ``U_i`` of shape ``(k_1, ..., k_N)``: agent ``i``'s payoff when agent
      ``j`` answers with its candidate ``c_j``. Non-finite entries mark failed rollouts.
    policies: ``N`` arrays of shape ``(k_j,)``: the current candidate distributions ``pi_j``
      (need not be normalised; they are renormalised over the candidates that did not fail).
    costs: optional ``N`` arrays ``(k_i,)``: the cost of agent ``i``'s own candidate.

  Returns:
    ``(advantages, values, valid)``: per agent ``A_i`` ``(k_i,)`` (0 where invalid), the state
    value ``<pi_i, v_i>``, and ``valid_i`` (candidates whose utility is finite). If some agent
    has no valid candidate the state has no outcome: every ``valid_i`` is all False.

  Raises:
    ValueError: naming the argument, for shapes that do not match or negative/non-finite
      ``policies`` or non-finite ``costs``.
  """
  n = len(policies)
  if len(payoffs) != n:
    raise ValueError(f"payoffs must give one tensor per agent ({n}); got {len(payoffs)}.")
  pis = [np.asarray(p, np.float64) for p in policies]
  shape = tuple(p.shape[0] for p in pis)
  for i, p in enumerate(pis):
    if p.ndim != 1 or not np.all(np.isfinite(p)) or np.any(p < 0):
      raise ValueError(f"policies[{i}] must be a 1-D array of finite probabilities >= 0.")
  us = [np.asarray(u, np.float64) for u in payoffs]
  for i, u in enumerate(us):
    if u.shape != shape:
      raise ValueError(f"payoffs[{i}] has shape {u.shape}; the candidate sets need {shape}.")
  cs = [np.zeros(s) for s in shape] if costs is None else [np.asarray(c, np.float64) for c in costs]
  if len(cs) != n:
    raise ValueError(f"costs must give one array per agent ({n}); got {len(cs)}.")
  for i, c in enumerate(cs):
    if c.shape != (shape[i],) or not np.all(np.isfinite(c)):
      raise ValueError(f"costs[{i}] must be finite with shape {(shape[i],)}; got {c.shape}.")
  # a candidate fails when its own payoff row holds a non-finite entry
  valid = [np.all(np.isfinite(np.moveaxis(u, i, 0).reshape(shape[i], -1)), axis=1)
           for i, u in enumerate(us)]
  w = [np.where(v, p, 0.0) for v, p in zip(valid, pis)]
  if any(wi.sum() <= 0 for wi in w):
    return ([np.zeros(s) for s in shape], [0.0] * n, [np.zeros(s, bool) for s in shape])
  w = [wi / wi.sum() for wi in w]
  advantages, values = [], []
  for i, u in enumerate(us):
    weight = np.ones(())
    for j in range(n):
      if j != i:
        weight = np.multiply.outer(weight, w[j]) if weight.ndim else w[j].copy()
    # weight has the axes of the other agents in order; put agent i's axis first
    ui = np.moveaxis(u, i, 0).reshape(shape[i], -1)
    wf = np.reshape(weight, (-1,))
    v = np.where(wf[None, :] > 0, ui, 0.0) @ wf - cs[i]
    v = np.where(valid[i], v, 0.0)
    value = float(np.sum(w[i] * v))
    advantages.append(np.where(valid[i], v - value, 0.0))
    values.append(value)
  return advantages, values, valid
