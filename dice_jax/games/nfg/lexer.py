"""Gambit's savefile lexer, token for token, and its two readings of a number token.

This is a transcription of ``GameFileLexer::GetNextToken`` in Gambit's ``src/games/file.cc``
(pygambit 16.7), so that dice_jax splits every file into the same tokens as Gambit does:

* whitespace is the six ASCII characters of C ``isspace`` (space, ``\\t \\n \\v \\f \\r``);
* ``{``, ``}`` and ``,`` are tokens of their own;
* a *number* starts with a digit, ``+``, ``-`` or ``.``: a sign or digit, digits, then
  optionally ``.`` digits [``e``/``E``, one of ``+ - 0-9``, digits], or ``/`` digits, or
  ``e``/``E``, one of ``+ - 0-9``, digits; or ``.`` digits. The token ends where this pattern
  ends, so ``1-2`` is two numbers and ``1.2.3`` is ``1.2`` and ``.3``. An ``e`` not followed by a
  sign or digit is an error;
* a *text* is a double-quoted string that ends at the first ``"`` not preceded by a backslash;
  in its content ``\\"`` stands for ``"`` and a backslash followed by any other character is kept
  with it (Gambit keeps ``\\x`` as the two characters, and a backslash also escapes the next
  character when it is itself escaped);
* anything else runs to the next whitespace and is a *symbol* (``NFG``, ``R``, ``D``).

A number token then has two readings, both Gambit's:

* as a **value** (``lexical_cast<Rational>`` in ``src/core/rational.cc``): ``-``? digits, then
  ``/`` digits, or ``.`` digits [``e`` ``-``? digits], or ``e`` ``-``? digits. Empty digit runs
  count as 0 (``.``, ``-`` and ``-/5`` are 0; ``1e-`` is 1); a ``+`` anywhere is rejected; a zero
  denominator is rejected. dice_jax converts the exact rational to the nearest float64
  (``float(str)`` and ``float(Fraction)`` both round correctly), so it agrees with
  ``float(pygambit's Rational)``;
* as a **count or index** (C++ ``std::stoi``): the leading ``[+-]?digits`` of the token, the rest
  ignored (so ``2.0`` and ``2/3`` count as 2); no leading digits, or a value outside a 32-bit int,
  is rejected.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import NamedTuple, Optional

WHITESPACE = " \t\n\v\f\r"
_WS = r"[ \t\n\v\f\r]"

# One number token, exactly as the lexer cuts it (atomic: no backtracking into a shorter token).
NUMBER = (
  r"(?>[0-9+\-][0-9]*(?:\.[0-9]*(?:[eE][+\-0-9]?[0-9]*)?|/[0-9]*|[eE][+\-0-9]?[0-9]*)?"
  r"|\.[0-9]*)"
)

# One quoted string: it ends at the first '"' not preceded by a backslash (possessive: no
# backtracking, so an unclosed string costs one scan).
STRING = r'"(?:[^"\\]++|(?>\\+)[\s\S])*+"'

_TOKEN = re.compile(
  _WS + r"*(?:(?P<lbrace>\{)|(?P<rbrace>\})|(?P<comma>,)|(?P<number>" + NUMBER + r")"
  r"|(?P<text>" + STRING + r')|(?P<open>")|(?P<symbol>[^ \t\n\v\f\r]+))'
)

# The value grammar of lexical_cast<Rational> (after the lexer has cut the token).
_VALUE = re.compile(r"(-?)([0-9]*)(?:/([0-9]*)|\.([0-9]*)(?:[eE](-?)([0-9]*))?|[eE](-?)([0-9]*))?")
_STOI = re.compile(r"[+-]?[0-9]+")
INT_MAX = 2**31 - 1

#: Longest run of digits in the numerator or denominator of a rational token (``a/b``):
#: Python's own limit for converting digits to an integer.
MAX_RATIONAL_DIGITS = 4300


class Token(NamedTuple):
  kind: str  # lbrace, rbrace, comma, number, text, symbol, eof
  text: str  # the token as written (for text: the decoded content)
  start: int  # offset in the file's text


def unescape(content: str) -> str:
  """The label Gambit reads from the content of a quoted string (see the module docstring)."""
  if "\\" not in content:
    return content
  out, escaped = [], False
  for a in content:
    if escaped:
      out.append('"' if a == '"' else "\\" + a)
    elif a != "\\":
      out.append(a)
    escaped = a == "\\"
  return "".join(out)


class Lexer:
  """Tokens of one file's text, read one at a time from ``pos``; ``fail`` raises the error."""

  def __init__(self, text: str, source: str):
    self.text, self.source, self.pos = text, source, 0

  def line(self, offset: int) -> int:
    return self.text.count("\n", 0, offset) + 1

  def fail(self, what: str, offset: Optional[int] = None):
    offset = self.pos if offset is None else offset
    raise ValueError(f"{self.source}: malformed .nfg at line {self.line(offset)}: {what}.")

  def next(self) -> Token:
    m = _TOKEN.match(self.text, self.pos)
    if m is None:  # only whitespace is left
      self.pos = len(self.text)
      return Token("eof", "", self.pos)
    kind, start = m.lastgroup, m.start(m.lastgroup)
    if kind == "open":
      self.fail("a quoted string is not closed before the end of the file", start)
    self.pos = m.end()
    word = m.group(kind)
    if kind == "text":
      return Token(kind, unescape(word[1:-1]), start)
    if kind == "number" and word[-1] in "eE":
      self.fail(f"number {word!r} has an exponent 'e' without a sign or digit after it", start)
    return Token(kind, word, start)


def describe(tok: Token) -> str:
  """How an error message shows a token."""
  if tok.kind == "eof":
    return "the end of the file"
  if tok.kind == "text":
    return "a quoted string" if len(tok.text) > 40 else f"the string {tok.text!r}"
  word = tok.text if len(tok.text) <= 40 else tok.text[:37] + "..."
  return repr(word)


def number_value(word: str) -> Optional[float]:
  """Gambit's value of a number token as the nearest float64 (``inf`` beyond its range).

  Returns ``None`` when Gambit rejects the token (a ``+`` sign, a zero denominator); raises
  ``OverflowError`` naming the limit for a rational with more than
  :data:`MAX_RATIONAL_DIGITS` digits in a part.
  """
  m = _VALUE.fullmatch(word)
  if m is None:  # a '+' (the only character the lexer admits that lexical_cast refuses)
    return None
  sign, whole, den, frac, esign1, exp1, esign2, exp2 = m.groups()
  if den is not None:
    if max(len(whole), len(den)) > MAX_RATIONAL_DIGITS:
      raise OverflowError(
        f"a rational with more than {MAX_RATIONAL_DIGITS} digits in its "
        "numerator or denominator (the reader's limit)"
      )
    if not den.strip("0"):
      return None
    return float(Fraction(int(sign + (whole or "0")), int(den))) + 0.0
  esign, exp = (esign1, exp1) if frac is not None else (esign2, exp2)
  # + 0.0: Gambit's numbers are rationals, which have no negative zero.
  return float(f"{sign}{whole or '0'}.{frac or '0'}e{esign or ''}{exp or '0'}") + 0.0


def stoi(word: str) -> Optional[int]:
  """C++ ``std::stoi`` of a number token: its leading ``[+-]?digits``; None if it has none or
  the value does not fit a 32-bit int (where ``stoi`` throws)."""
  m = _STOI.match(word)
  if m is None:
    return None
  digits = m.group().lstrip("+-").lstrip("0") or "0"
  if len(digits) > 10:
    return None
  value = -int(digits) if m.group()[0] == "-" else int(digits)
  return value if -INT_MAX - 1 <= value <= INT_MAX else None
