"""Exact checkers: extract a final answer from free text and decide whether it is right.

DICE-PC and DICE-FT score a response by an *exact* checker (DESIGN §7), so extraction must not depend on a
model's formatting luck. Three checkers:

* :func:`check_number` -- numeric answers (arithmetic word problems, GSM8K-style data).
* :func:`check_order` -- an ordering of named items that must satisfy precedence constraints
  (the planning task; several orders can be correct, the checker verifies the constraints).
* :func:`check_text` -- short free-text answers, compared after normalisation.

:func:`check` dispatches on a :class:`~dice_jax.rollouts.tasks.Task`'s ``kind`` (or its
``meta["checker"]``).

**Final-answer convention** (numbers). The answer is taken from the first rule that applies:

1. ``#### x`` -- the number after the *last* ``####`` (the GSM8K answer format of Cobbe et al.
   2021, "Training Verifiers to Solve Math Word Problems", arXiv:2110.14168);
2. ``\\boxed{x}`` -- the number inside the *last* ``\\boxed{...}`` (the MATH convention,
   Hendrycks et al. 2021, arXiv:2103.03874);
3. an answer phrase -- after the *last* "answer is", "answer:", "final answer" (any case): on the
   rest of that line, the first number after the last ``=`` if the line has one, else the first
   number (``"The answer is 12, which is 3 more than 9"`` -> 12; ``"Answer: 5 + 3 = 8"`` -> 8);
   if that line holds no number, the first number after the phrase;
4. a bold span -- the first number in the *last* ``**...**`` span holding one;
5. otherwise the *last* number in the text.

A number is an optional sign (``-``, or the Unicode minus) followed by digits, with optional
thousands separators (``1,234``) and an optional decimal part (``42.0``); a sign directly after
a letter or digit is a binary minus (``10-3`` reads 10 and 3). Currency signs, ``%`` and
trailing units are ignored. Numbers are compared exactly as decimals, so ``42.0 == 42``.
Text with no number has no answer and is wrong.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import string
from decimal import Decimal, InvalidOperation
from typing import Any, Optional, Sequence, Tuple

__all__ = [
  "Verdict",
  "check",
  "check_number",
  "check_order",
  "check_text",
  "extract_number",
  "extract_order",
  "extract_text",
  "format_number",
  "parse_number",
  "reference_number",
  "satisfies",
]


@dataclasses.dataclass(frozen=True)
class Verdict:
  """A checker's decision.

  Attributes:
    correct: whether the extracted answer is right.
    answer: the extracted answer in canonical form (``"1234"``, ``"apple, brick, cloud"``), the
      key majority votes compare; ``None`` when nothing could be extracted.
    reason: why it is wrong (empty when correct).
  """

  correct: bool
  answer: Optional[str]
  reason: str = ""


# A number: optional sign not glued to a preceding word/number, digits with optional thousands
# separators, optional decimal part, not followed by more digits.
_NUMBER = re.compile(r"(?<![\w.])([-\u2212]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?!\d)")
_GSM8K = re.compile(r"####")
_BOXED = re.compile(r"\\boxed\s*\{")
_PHRASE = re.compile(r"(final\s+answer|answer\s+is|answer\s*:|answer\s*=)", re.IGNORECASE)
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


def parse_number(text: str) -> Optional[Decimal]:
  """The first number in ``text`` as a :class:`~decimal.Decimal` (``None`` if there is none)."""
  nums = _numbers(text)
  return nums[0] if nums else None


def format_number(x: Decimal) -> str:
  """Canonical text of a number: no exponent, no trailing zeros (``Decimal("42.0")`` -> ``"42"``)."""
  x = x.normalize()
  if x == 0:
    return "0"
  s = format(x, "f")
  return s


def _numbers(text: str) -> list:
  out = []
  for m in _NUMBER.finditer(text):
    sign, whole, frac = m.groups()
    try:
      v = Decimal(whole.replace(",", "") + ("." + frac if frac else ""))
    except InvalidOperation:  # pragma: no cover - the regex only admits digits
      continue
    out.append(-v if sign else v)
  return out


def _boxed_contents(text: str) -> list:
  """Contents of every ``\\boxed{...}`` (balanced braces), in order."""
  out = []
  for m in _BOXED.finditer(text):
    depth, i = 1, m.end()
    while i < len(text) and depth:
      depth += {"{": 1, "}": -1}.get(text[i], 0)
      i += 1
    out.append(text[m.end() : i - 1] if depth == 0 else text[m.end() :])
  return out


def _answer_segment(text: str) -> Optional[Tuple[str, str]]:
  """``(segment, rule)`` after the strongest final-answer marker, or ``None`` if there is none.

  The segment is the rest of the marker's line (for ``####`` and phrases) or the box's contents.
  """
  hits = list(_GSM8K.finditer(text))
  if hits:
    return text[hits[-1].end() :], "####"
  boxes = _boxed_contents(text)
  if boxes:
    return boxes[-1], "boxed"
  hits = list(_PHRASE.finditer(text))
  if hits:
    return text[hits[-1].end() :], "phrase"
  return None


def extract_number(text: str) -> Optional[Decimal]:
  """The final numeric answer of ``text`` under the module's convention (``None`` if none)."""
  if not isinstance(text, str):
    raise TypeError(f"text must be a str; got {type(text).__name__}.")
  seg = _answer_segment(text)
  if seg is not None:
    rest, rule = seg
    if rule == "boxed":
      nums = _numbers(rest)
      if nums:
        return nums[0]
    else:
      line = rest.lstrip(" \t*:=").split("\n", 1)[0] if rest.strip() else ""
      if rule == "phrase" and "=" in line:
        nums = _numbers(line.rsplit("=", 1)[1])
        if nums:
          return nums[0]
      nums = _numbers(line) or _numbers(rest)
      if nums:
        return nums[0]
  bold = [b for b in _BOLD.findall(text) if _numbers(b)]
  if bold:
    return _numbers(bold[-1])[0]
  nums = _numbers(text)
  return nums[-1] if nums else None


def reference_number(reference: Any) -> Decimal:
  """A numeric reference answer as a ``Decimal`` (an int, a float, or text holding a number).

  Raises:
    ValueError: naming ``reference``, for a bool or a value that holds no number.
  """
  if isinstance(reference, bool):
    raise ValueError(f"reference must be a number or numeric text; got {reference!r}.")
  if isinstance(reference, (int, Decimal)):
    return Decimal(reference)
  if isinstance(reference, float):
    return Decimal(repr(reference))
  if isinstance(reference, str):
    v = extract_number(reference)
    if v is not None:
      return v
  raise ValueError(f"reference must be a number or numeric text; got {reference!r}.")


def check_number(text: str, reference: Any) -> Verdict:
  """Whether the final number of ``text`` equals ``reference`` exactly (as decimals).

  Args:
    text: a model's response.
    reference: the right answer: an int, float, Decimal or text holding a number (a GSM8K
      solution ending in ``#### 42`` works: the same convention extracts it).

  Returns:
    A :class:`Verdict` whose ``answer`` is the canonical extracted number.

  Example::

      >>> check_number("The answer is 1,234.", 1234).correct
      True
  """
  ref = reference_number(reference)
  got = extract_number(text)
  if got is None:
    return Verdict(False, None, "no number in the response")
  ok = got == ref
  return Verdict(
    ok, format_number(got), "" if ok else f"{format_number(got)} != {format_number(ref)}"
  )


# --- orders (planning) --------------------------------------------------------------------------


def satisfies(
  order: Sequence[str], items: Sequence[str], constraints: Sequence[Sequence[str]]
) -> str:
  """Why ``order`` is not a valid plan (empty string when it is).

  Valid means: every item exactly once, nothing else, and for each ``(a, b)`` in ``constraints``
  ``a`` comes before ``b``.
  """
  want = [i.lower() for i in items]
  got = [o.lower() for o in order]
  if sorted(got) != sorted(want):
    missing = sorted(set(want) - set(got))
    dup = sorted({g for g in got if got.count(g) > 1})
    parts = ([f"missing {missing}"] if missing else []) + ([f"repeated {dup}"] if dup else [])
    return "not a permutation of the items: " + ("; ".join(parts) or "unexpected items")
  pos = {g: k for k, g in enumerate(got)}
  for a, b in constraints:
    if pos[a.lower()] > pos[b.lower()]:
      return f"violates '{a}' before '{b}'"
  return ""


def _item_pattern(items: Sequence[str]) -> re.Pattern:
  names = sorted((re.escape(i) for i in items), key=len, reverse=True)
  return re.compile(r"(?<![\w])(" + "|".join(names) + r")(?![\w])", re.IGNORECASE)


def extract_order(text: str, items: Sequence[str]) -> Optional[list]:
  """The ordered item names of the final answer in ``text`` (lower case), or ``None``.

  Convention: the segment after the strongest answer marker (``####``, ``\\boxed{}``, an answer
  phrase; the rest of its line, or the rest of the text if that line names no item); without a
  marker, the last line that names an item -- or, if it names exactly one, the run of
  consecutive lines naming exactly one item each that ends there (a list written one item per
  line). Within the segment, item names (whole words, any case) are read in order of
  appearance.
  """
  pat = _item_pattern(items)
  seg = _answer_segment(text)
  if seg is not None:
    rest, rule = seg
    line = rest if rule == "boxed" else rest.strip(" \t*:").split("\n", 1)[0]
    found = pat.findall(line) or pat.findall(rest)
  else:
    found = []
    lines = text.splitlines()
    for end in range(len(lines) - 1, -1, -1):
      found = pat.findall(lines[end])
      if len(found) == 1:  # a list written one item per line: the run of such lines
        start = end
        while start > 0 and len(pat.findall(lines[start - 1])) == 1:
          start -= 1
        found = [pat.findall(ln)[0] for ln in lines[start : end + 1]]
      if found:
        break
  return [f.lower() for f in found] or None


def check_order(text: str, items: Sequence[str], constraints: Sequence[Sequence[str]]) -> Verdict:
  """Whether the order in ``text`` is a permutation of ``items`` satisfying every constraint.

  Any valid order is accepted (a task can have several).

  Example::

      >>> check_order("Answer: b, a, c", ["a", "b", "c"], [("b", "a")]).correct
      True
  """
  order = extract_order(text, items)
  if order is None:
    return Verdict(False, None, "no item names in the response")
  why = satisfies(order, items, constraints)
  return Verdict(not why, ", ".join(order), why)


def count_orders(items: Sequence[str], constraints: Sequence[Sequence[str]]) -> int:
  """Number of valid orders (brute force; for the small item counts the tasks use)."""
  return sum(not satisfies(p, items, constraints) for p in itertools.permutations(items))


# --- free text ----------------------------------------------------------------------------------

_PUNCT = str.maketrans({c: " " for c in string.punctuation})


def normalize_text(text: str) -> str:
  """Lower case, punctuation to spaces, articles (a, an, the) dropped, whitespace collapsed."""
  words = str(text).lower().translate(_PUNCT).split()
  return " ".join(w for w in words if w not in ("a", "an", "the"))


def extract_text(text: str) -> Optional[str]:
  """The final short answer of ``text``: the marker segment (first line), else the last
  non-empty line; normalised by :func:`normalize_text`."""
  seg = _answer_segment(text)
  if seg is not None:
    rest, rule = seg
    cand = rest if rule == "boxed" else rest.strip(" \t*:").split("\n", 1)[0]
  else:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    cand = lines[-1] if lines else ""
  out = normalize_text(cand)
  return out or None


def check_text(text: str, reference: Any) -> Verdict:
  """Whether the final short answer of ``text`` equals ``reference`` after normalisation."""
  ref = normalize_text(reference)
  if not ref:
    raise ValueError(f"reference must be non-empty text; got {reference!r}.")
  got = extract_text(text)
  if got is None:
    return Verdict(False, None, "empty response")
  ok = got == ref
  return Verdict(ok, got, "" if ok else f"{got!r} != {ref!r}")


# --- dispatch -----------------------------------------------------------------------------------

CHECKERS = ("number", "order", "text")


def checker_of(task) -> str:
  """The checker a task needs: ``meta["checker"]`` if set; else ``"number"`` for arithmetic,
  ``"order"`` for planning, and for other kinds ``"number"`` when the reference answer is
  numeric, else ``"text"``."""
  name = task.meta.get("checker") if task.meta else None
  if name is not None:
    if name not in CHECKERS:
      raise ValueError(f"task meta['checker'] must be one of {list(CHECKERS)}; got {name!r}.")
    return name
  if task.kind == "arithmetic":
    return "number"
  if task.kind == "planning":
    return "order"
  try:
    reference_number(task.answer)
    return "number"
  except ValueError:
    return "text"


def check(task, text: str) -> Verdict:
  """Check a response to ``task`` with the checker :func:`checker_of` names.

  Raises:
    ValueError: a planning task without ``meta["items"]`` / ``meta["constraints"]``.
  """
  name = checker_of(task)
  if name == "number":
    return check_number(text, task.answer)
  if name == "order":
    for field in ("items", "constraints"):
      if field not in task.meta:
        raise ValueError(
          f"an order task needs meta[{field!r}]; task {task.question[:40]!r} has none."
        )
    return check_order(text, task.meta["items"], task.meta["constraints"])
  return check_text(text, task.answer)


def canonical_answer(task, text: str) -> Optional[str]:
  """The extracted answer's canonical key (for majority votes), ``None`` if nothing extracted."""
  return check(task, text).answer
