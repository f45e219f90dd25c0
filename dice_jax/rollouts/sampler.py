"""One batched sampler over :func:`dice_jax.llm.generate` for every caller that generates.

Both algorithms generate text through the same code: the Flax
:class:`~dice_jax.rollouts.backends.local.LocalBackend` (DICE-PC's roles, greedy or sampled
completions of chat prompts) and DICE-FT's candidate sets (:func:`sample_candidates`, ``K``
responses per prompt from the current adapters). :func:`generate_rows` is that code: it takes
token-id rows, left-pads them to a multiple of ``prompt_bucket`` tokens, cuts them into
generation calls of at most ``max_batch`` rows (padded to the next power of two, or to
``max_batch`` with ``fixed_batch``, so one compiled program serves every call of a shape --
:func:`dice_jax.llm.generate` compiles per shape and ``max_new_tokens``) and returns the
generated ids per row with the stop token kept, plus one :class:`GenerationCall` per call for
throughput accounting. :func:`stop_ids_of` is the one place the stop ids of a model and its
tokenizer are read.

Keys: with ``max_batch=None`` the rows go in one call, in the given order, with ``key`` itself
(the same draw as calling :func:`dice_jax.llm.generate` on the padded rows); with a
``max_batch`` rows are sorted by length (less padding) and call ``c`` uses
``fold_in(key, c)``. Temperature ``0`` is greedy decoding (no key needed).

:class:`Sampling`, :class:`Candidate` and :class:`SampledCandidates` are the settings and result
of candidate sets (distinct responses per prompt, with their multiplicities).
"""

from __future__ import annotations

import dataclasses
import time
from typing import List, NamedTuple, Optional, Sequence, Tuple

import jax
import numpy as np

from dice_jax.llm.generate import generate
from dice_jax.llm.tokenizer import left_pad
from dice_jax.rollouts import fields

__all__ = [
  "Batching",
  "Candidate",
  "GenerationCall",
  "Generated",
  "SampledCandidates",
  "Sampling",
  "generate_rows",
  "nucleus_mass",
  "sample_candidates",
  "stop_ids_of",
]


@dataclasses.dataclass(frozen=True)
class Batching:
  """How :func:`generate_rows` cuts rows into generation calls (settings only).

  Attributes:
    max_batch: ``None``: every row in one call, in the given order, batch = number of rows;
      else the most rows per call (rows sorted by prompt length first).
    prompt_bucket: prompt lengths are padded to a multiple of this many tokens.
    fixed_batch: pad every call to ``max_batch`` rows (one batch shape: fewer compilations,
      more padded rows) instead of the next power of two.

  Raises:
    ValueError: naming the field, for a ``max_batch`` or ``prompt_bucket`` that is not a
      positive integer, or ``fixed_batch`` without ``max_batch``.
  """

  max_batch: Optional[int] = None
  prompt_bucket: int = 8
  fixed_batch: bool = False

  def __post_init__(self):
    if self.max_batch is not None:
      object.__setattr__(self, "max_batch", fields.integer("max_batch", self.max_batch, low=1))
    object.__setattr__(
      self, "prompt_bucket", fields.integer("prompt_bucket", self.prompt_bucket, low=1)
    )
    fields.flag("fixed_batch", self.fixed_batch)
    if self.fixed_batch and self.max_batch is None:
      raise ValueError("fixed_batch needs max_batch (the batch every call is padded to).")


class GenerationCall(NamedTuple):
  """One call of :func:`dice_jax.llm.generate`: its compiled ``shape`` ``(batch, prompt_len,
  max_new_tokens, greedy)``, generated tokens of the real rows and of all rows (padding rows
  included), and wall seconds (compilation included on a shape's first call)."""

  shape: Tuple[int, int, int, bool]
  real_tokens: int
  all_tokens: int
  seconds: float


class Generated(NamedTuple):
  """What :func:`generate_rows` returns: per row the generated ids (``tokens[r]``, stop token
  included when ``stopped[r]``; ``len(tokens[r])`` is the row's cost) and the calls made."""

  tokens: List[List[int]]
  stopped: List[bool]
  calls: List[GenerationCall]


def _token_lists(name: str, rows) -> None:
  """Raise ``ValueError`` naming ``name`` unless ``rows`` is a non-empty list of non-empty
  token-id lists."""
  if len(rows) == 0:
    raise ValueError(f"{name} must hold at least one token-id list; got none.")
  for r, row in enumerate(rows):
    if len(row) == 0:
      raise ValueError(f"{name}[{r}] is empty.")


def stop_ids_of(model, tokenizer=None) -> Tuple[int, ...]:
  """The ids that end a response: the model config's ``eos_token_ids`` and the tokenizer's
  ``eos_token_id`` (sorted, distinct)."""
  stops = {int(s) for s in getattr(model.config, "eos_token_ids", ()) or ()}
  eos = getattr(tokenizer, "eos_token_id", None) if tokenizer is not None else None
  if eos is not None:
    stops.add(int(eos))
  return tuple(sorted(stops))


def _pow2_at_least(k: int, cap: int) -> int:
  """The least power of two >= ``k``, but at most ``cap`` (``k <= cap``)."""
  b = 1
  while b < k:
    b *= 2
  return min(b, cap)


def nucleus_mass(value) -> float:
  """``value`` as the nucleus-sampling mass ``top_p`` in ``(0, 1]`` (Holtzman et al. 2020,
  arXiv:1904.09751): the one check of ``top_p``, for the sampler and the backends' settings.

  Raises:
    ValueError: starting with ``top_p``.
  """
  return fields.real("top_p", value, low=0.0, low_open=True, high=1.0)


def generate_rows(
  model,
  rows: Sequence[Sequence[int]],
  *,
  max_new_tokens: int,
  temperature: float = 0.0,
  top_p: float = 1.0,
  stop_ids: Sequence[int] = (),
  pad_id: int = 0,
  key: Optional[jax.Array] = None,
  batching: Batching = Batching(),
) -> Generated:
  """Generate up to ``max_new_tokens`` tokens after every row (see the module docstring).

  Args:
    model: an NNX causal LM (its LoRA adapters, if any, are used).
    rows: ``R >= 1`` non-empty token-id lists (templated prompts).
    max_new_tokens: decoding steps (static: one compilation per value and shape).
    temperature: ``0`` for greedy decoding, else the sampling temperature ``> 0``.
    top_p: nucleus mass in ``(0, 1]`` when sampling.
    stop_ids: ids that end a row (kept in its tokens and counted).
    pad_id: the padding id.
    key: a ``jax.random`` key, required when ``temperature > 0``.
    batching: a :class:`Batching`.

  Returns:
    :class:`Generated`, rows in the order given.

  Raises:
    ValueError: naming the argument, before any work: no rows or an empty row, a bad
      ``max_new_tokens`` / ``temperature`` / ``top_p``, sampling without ``key``.
  """
  fields.instance("batching", batching, Batching)
  _token_lists("rows", rows)
  max_new_tokens = fields.integer("max_new_tokens", max_new_tokens, low=1)
  temperature = fields.real("temperature", temperature, low=0.0)
  top_p = nucleus_mass(top_p)
  greedy = float(temperature) == 0
  if not greedy and key is None:
    raise ValueError("key must be a jax.random key when sampling (temperature > 0); got None.")
  order = list(range(len(rows)))
  if batching.max_batch is None:
    chunks = [order]
  else:
    order.sort(key=lambda r: len(rows[r]))
    chunks = [order[s : s + batching.max_batch] for s in range(0, len(order), batching.max_batch)]
  tokens: List[Optional[List[int]]] = [None] * len(rows)
  stopped = [False] * len(rows)
  calls: List[GenerationCall] = []
  for c, chunk in enumerate(chunks):
    if batching.max_batch is None:
      b, sub = len(chunk), key
    else:
      b = (
        batching.max_batch
        if batching.fixed_batch
        else _pow2_at_least(len(chunk), batching.max_batch)
      )
      sub = None if greedy else jax.random.fold_in(key, c)
    seqs = [list(rows[r]) for r in chunk] + [list(rows[chunk[0]])] * (b - len(chunk))  # fillers
    ids, mask = left_pad(seqs, pad_id, multiple=batching.prompt_bucket)
    t0 = time.perf_counter()
    res = generate(
      model,
      ids,
      mask,
      max_new_tokens=max_new_tokens,
      greedy=greedy,
      key=sub,
      temperature=1.0 if greedy else float(temperature),
      top_p=float(top_p),
      stop_ids=tuple(int(s) for s in stop_ids),
      pad_id=int(pad_id),
    )
    seconds = time.perf_counter() - t0
    calls.append(
      GenerationCall(
        (b, int(ids.shape[1]), max_new_tokens, greedy),
        int(res.num_generated[: len(chunk)].sum()),
        int(res.num_generated.sum()),
        seconds,
      )
    )
    lists = res.token_lists()
    for k, r in enumerate(chunk):
      tokens[r], stopped[r] = lists[k], bool(res.stopped[k])
  return Generated(tokens, stopped, calls)  # type: ignore[arg-type]


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
    max_batch: ``None`` (all ``P*K`` rows in one generation call) or the most rows per call
      (:class:`Batching`).

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
  max_batch: Optional[int] = None

  def __post_init__(self):
    for name in ("num_candidates", "max_new_tokens", "prompt_bucket"):
      object.__setattr__(self, name, fields.integer(name, getattr(self, name), low=1))
    object.__setattr__(
      self, "temperature", fields.real("temperature", self.temperature, low=0.0, low_open=True)
    )
    object.__setattr__(self, "top_p", nucleus_mass(self.top_p))
    if isinstance(self.stop_ids, (str, bytes)) or not isinstance(self.stop_ids, (list, tuple)):
      raise ValueError(f"stop_ids must be a list of token ids; got {self.stop_ids!r}.")
    object.__setattr__(
      self,
      "stop_ids",
      tuple(fields.integer(f"stop_ids[{i}]", s) for i, s in enumerate(self.stop_ids)),
    )
    object.__setattr__(self, "pad_id", fields.integer("pad_id", self.pad_id))
    fields.flag("dedupe", self.dedupe)
    Batching(max_batch=self.max_batch, prompt_bucket=self.prompt_bucket)  # checks max_batch

  @property
  def batching(self) -> "Batching":
    return Batching(max_batch=self.max_batch, prompt_bucket=self.prompt_bucket)


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


def sample_candidates(
  model, prompts: Sequence[Sequence[int]], sampling: Sampling, key: jax.Array
) -> SampledCandidates:
  """Draw ``sampling.num_candidates`` responses to each prompt from ``model`` (its current
  adapters included) through :func:`generate_rows` (one jitted call of ``P*K`` rows unless
  ``sampling.max_batch`` cuts them).

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
  fields.instance("sampling", sampling, Sampling)
  _token_lists("prompts", prompts)
  if key is None:
    raise ValueError("key must be a jax.random key; got None.")
  k = sampling.num_candidates
  rows = [list(p) for p in prompts for _ in range(k)]
  res = generate_rows(
    model,
    rows,
    max_new_tokens=sampling.max_new_tokens,
    temperature=sampling.temperature,
    top_p=sampling.top_p,
    stop_ids=sampling.stop_ids,
    pad_id=sampling.pad_id,
    key=key,
    batching=sampling.batching,
  )
  toks = res.tokens
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
