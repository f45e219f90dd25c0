"""Read Gambit ``.nfg`` files exactly as Gambit (pygambit 16.7) reads them.

The grammar is Gambit's own (``ParseNfgHeader``, ``BuildNfg`` in ``src/games/file.cc``; the
documentation pages ``doc/formats.nfgpay.rst`` and ``doc/formats.nfgout.rst``); tokens are
Gambit's (:mod:`dice_jax.games.nfg.lexer`)::

    NFG 1 R|D "title" { "player" ... }
    { n_1 ... n_N }  |  { { "strategy" ... } ... { "strategy" ... } }     (counts or names)
    ["comment"]
    payoff body:   u_1 ... u_N  for every pure profile                      (numbers only)
    outcome body:  { { "name" u_1 [,] ... u_N [,] } ... }  then one outcome index per profile

Which body follows is decided by its first token (``{``: outcomes; a number: payoffs), not by
the form of the strategy block, so all four combinations are read. Pure profiles run with
player 1's strategy varying fastest. Outcome index 0 is the null outcome (every payoff 0).
Player and strategy labels are made unique and nonempty as Gambit does
(:func:`~dice_jax.games.nfg.labels.normalize_labels`).

Resource limits, each checked before the memory it guards is allocated, so that no file is
slow to refuse (a bad file of 1 MB is refused within a second of CPU, measured in
tests/test_nfg.py; a good one of 1 MB is read in about 0.1 to 0.3 s):

* the file: at most :data:`MAX_FILE_BYTES` bytes, UTF-8 text (checked before parsing);
* players: at most :data:`MAX_PLAYERS` (one array axis each), checked before the strategies;
* strategy counts: above a 32-bit int they are refused, as Gambit's ``std::stoi`` refuses them
  (so is the 60-byte header ``{ 1000000000000 2 }``); then they are checked against the
  file's actual size before any label is made: a payoff body needs ``N * prod(n_i)`` number
  tokens and an outcome body ``prod(n_i)`` indices, each at least one character, so larger
  counts cannot be filled by the characters that remain (``{ 50000 100000 }`` before a short
  body is refused at once);
* the payoff tensors: at most :data:`MAX_PAYOFF_ENTRIES` entries ``N * prod(n_i)``;
* numbers: a value beyond the range of the game's dtype is refused (``1e400`` in float64,
  ``1e39`` in float32); exponents cost nothing (``1e999999999`` is refused as out of range
  at once, ``1e-999999999`` is 0); a rational ``a/b`` may have at most
  :data:`~dice_jax.games.nfg.lexer.MAX_RATIONAL_DIGITS` digits in ``a`` and in ``b``.

Where dice_jax refuses a file that pygambit reads, it is for one of those limits or because
the game is outside dice_jax's model: fewer than 2 players, a payoff outside the dtype's range
(pygambit keeps exact rationals), or text that is not UTF-8 (pygambit keeps the bytes). Every
refusal is a ``ValueError`` naming the file and line. dice_jax reads some files that pygambit
16.7 refuses or cannot convert: labels that are not printable ASCII with single inner spaces
(its ``IsValidLabel``), and number texts its C++ reader accepts but its Python layer cannot
convert (``.``, ``-``, ``1e-``: the C++ values 0, 0, 1).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import os
import re
from typing import List, Optional, Tuple, Union

import jax.numpy as jnp
import numpy as np

from dice_jax.games.nfg.labels import normalize_labels
from dice_jax.games.nfg.lexer import (
  NUMBER,
  STRING,
  Lexer,
  Token,
  describe,
  number_value,
  stoi,
  unescape,
)
from dice_jax.games.normal_form import NormalFormGame

#: Largest file :func:`read_nfg` opens (bytes).
MAX_FILE_BYTES = 256 * 2**20
#: Most players: a payoff tensor has one axis per player, and NumPy arrays at most 64.
MAX_PLAYERS = 64
#: Largest number of payoff entries ``N * prod(n_i)`` (1 GiB as float64).
MAX_PAYOFF_ENTRIES = 2**27

_WS = r"[ \t\n\v\f\r]*"
_BODY = re.compile(r"(?:" + _WS + NUMBER + r")*")  # number tokens (and whitespace) only
_NUM = re.compile(NUMBER)
_STRING = re.compile(STRING)
_LABELS = re.compile(r"\{((?:" + _WS + STRING + r")*)")
_SPACE = re.compile(r"[ \t\n\v\f\r]")
_NOT_NUMERIC = re.compile(r"[^0-9.+\-/eE \t\n\v\f\r]")  # cannot occur in a number or space
_DOT_EXPONENT = re.compile(r"(?:^|[ \t\n\v\f\r])\.[0-9]*[eE]")  # '.5e3' is '.5' and 'e3'
_BLOCK = 1 << 16


@functools.lru_cache(maxsize=64)
def _outcome(n: int) -> str:
  """One well-formed outcome ``{ "name" u_1 [,] ... u_n [,] }`` of an ``n``-player game."""
  return (
    _WS
    + r"\{"
    + _WS
    + STRING
    + r"(?:"
    + _WS
    + NUMBER
    + r"(?:"
    + _WS
    + r",)?){"
    + str(n)
    + "}"
    + _WS
    + r"\}"
  )


@functools.lru_cache(maxsize=64)
def _outcomes(n: int) -> re.Pattern:
  return re.compile(r"(?:" + _outcome(n) + r")*")


class _Payoffs:
  """Reads payoff tokens as floats of ``dtype``'s range (Gambit's values, lexer.number_value)."""

  def __init__(self, dtype: np.dtype):
    info = jnp.finfo(dtype)
    # |x| < limit  <=>  x rounds to a finite value of dtype (halfway above max rounds to inf).
    self.limit = float(info.max) + 0.5 * float(info.eps) * 2.0 ** (int(info.maxexp) - 1)
    self.dtype = dtype
    self.exact = functools.lru_cache(maxsize=4096)(self._exact)

  def fast(self, words: List[str], block: str) -> Optional[np.ndarray]:
    """float() of each word, where that is Gambit's value (no '+', no '.5e3'); None otherwise."""
    if block:  # words = block.split(): each word one token unless a '.5e3' is in there
      if "+" in block or _DOT_EXPONENT.search(block):
        return None
    elif any("+" in w for w in words):  # words are tokens
      return None
    try:
      vals = np.array(list(map(float, words)), dtype=np.float64) + 0.0
    except ValueError:
      return None
    return vals if bool(np.all(np.abs(vals) < self.limit)) else None

  def _exact(self, word: str) -> Tuple[Optional[float], str]:
    if word[-1] in "eE":
      return None, "a number with an exponent 'e' but no sign or digit after it"
    try:
      x = number_value(word)
    except OverflowError as e:
      return None, str(e)
    if x is None:
      return None, "which is not a number Gambit reads (no '+' sign, no zero denominator)"
    if not abs(x) < self.limit:
      return None, f"outside the range of {self.dtype}"
    return x, ""


class _Indices:
  """Reads outcome indices as Gambit does (``std::stoi``), each in ``0 .. last``."""

  def __init__(self, last: int):
    self.last = last

  def fast(self, words: List[str], block: str) -> Optional[np.ndarray]:
    try:
      index = np.array(list(map(int, words)), dtype=np.int64)
    except (ValueError, OverflowError):
      return None
    return index if bool(np.all((index >= 0) & (index <= self.last))) else None

  def exact(self, word: str) -> Tuple[Optional[int], str]:
    k = stoi(word)
    if k is None or not 0 <= k <= self.last:
      return None, f"while the file defines outcomes 1 to {self.last} (0 is the null outcome)"
    return k, ""


@dataclasses.dataclass(frozen=True)
class NfgInfo:
  """Labels carried by an ``.nfg`` file (players and strategies as Gambit labels them)."""

  title: str
  players: Tuple[str, ...]
  strategies: Tuple[Tuple[str, ...], ...]
  comment: str = ""


def _float_dtype(dtype) -> np.dtype:
  target = np.dtype(dtype if dtype is not None else jnp.result_type(float))
  if not jnp.issubdtype(target, jnp.floating):
    raise ValueError(f"dtype must be a floating-point dtype; got {target}.")
  return target


class _Parser:
  """Gambit's recursive descent over one file: ``tok`` is the current token."""

  def __init__(self, text: str, source: str, dtype: np.dtype):
    self.lx = Lexer(text, source)
    self.text = text
    self.payoffs = _Payoffs(dtype)
    self.tok = Token("eof", "", 0)

  def advance(self) -> Token:
    self.tok = self.lx.next()
    return self.tok

  def fail(self, what: str, offset=None):
    self.lx.fail(what, self.tok.start if offset is None else offset)

  def unexpected(self, what: str):
    if self.tok.kind == "eof":
      self.fail(f"unexpected end of file, expected {what}")
    self.fail(f"expected {what}, found {describe(self.tok)}")

  def expect(self, kind: str, what: str) -> Token:
    if self.tok.kind != kind:
      self.unexpected(what)
    return self.tok

  # -- numbers ---------------------------------------------------------------------------------

  def value(self, word: str, offset: int, what: str) -> float:
    """Gambit's value of one number token, as a float that fits the dtype; raises otherwise."""
    x, reason = self.payoffs.exact(word)
    if reason:
      self.fail(f"{what} is {describe(Token('number', word, 0))}, {reason}", offset)
    return x

  def numbers(self, count: int, conv, what) -> np.ndarray:
    """The values of the next ``count`` number tokens (from the current token on), which must
    end the file; ``conv`` reads them (:class:`_Payoffs`, :class:`_Indices`), ``what(k)``
    describes the ``k``-th.

    The text is read in blocks of about 64 kB cut at whitespace. A block of plain numbers is
    split and converted in C (``str.split``, ``float``/``int``); any other block is cut into
    Gambit's tokens by one regular expression (:data:`_BODY`), and only a block holding an
    error is looked at token by token, so a bad body is refused in time linear in its length.
    """
    text, n = self.text, len(self.text)
    pos, k, parts = self.tok.start, 0, []
    while pos < n:
      end = min(n, pos + _BLOCK)
      if end < n:
        m = _SPACE.search(text, end)
        end = m.start() if m else n
      vals = None
      if _NOT_NUMERIC.search(text, pos, end) is None:
        block = text[pos:end]
        words = block.split()  # the block holds only Gambit's six whitespace characters
        if k + len(words) <= count:
          vals = conv.fast(words, block)
      if vals is None:
        vals = self.tokens(pos, end, k, count, conv, what)
      parts.append(vals)
      k += len(vals)
      pos = end
    if k < count:
      self.lx.pos = n
      self.advance()
      self.unexpected(what(k))
    return np.concatenate(parts) if parts else np.zeros(0)

  def tokens(self, pos: int, end: int, k: int, count: int, conv, what) -> np.ndarray:
    """Gambit's tokens of the block ``[pos, end)`` read one by one; raises at the first error."""
    text = self.text
    stop = _BODY.match(text, pos, end).end()
    words = _NUM.findall(text, pos, stop)
    offset = lambda j: next(itertools.islice(_NUM.finditer(text, pos, stop), j, None)).start()
    take = min(len(words), count - k)
    vals = conv.fast(words[:take], "")
    if vals is None:
      vals = []
      for j, word in enumerate(words[:take]):
        x, reason = conv.exact(word)
        if reason:
          self.fail(f"{what(k + j)} is {describe(Token('number', word, 0))}, {reason}", offset(j))
        vals.append(x)
    if take < len(words):
      self.fail(
        f"found {describe(Token('number', words[take], 0))} after the {count} entries "
        "of the body, where the file should end",
        offset(take),
      )
    self.lx.pos = stop
    tok = self.advance()
    if tok.kind != "eof" and tok.start < end:
      if k + take == count:
        self.fail(
          f"found {describe(tok)} after the {count} entries of the body, where the file should end"
        )
      self.unexpected(what(k + take))
    return np.asarray(vals)

  # -- the file --------------------------------------------------------------------------------

  def header(self):
    tok = self.advance()
    if tok.kind != "symbol" or tok.text != "NFG":
      self.unexpected("the 'NFG' header")
    tok = self.advance()
    if tok.kind != "number" or tok.text != "1":
      self.unexpected("the version '1' after 'NFG' (only version 1 exists)")
    tok = self.advance()
    if tok.kind != "symbol" or tok.text not in ("R", "D"):
      self.unexpected("'R' or 'D' after the version")
    self.advance()
    title = self.expect("text", "the game title (a quoted string)").text
    self.advance()
    self.expect("lbrace", "'{' opening the player names")
    players = self.labels("player name")
    n = len(players)
    if n < 2:
      self.fail(f"the file names {n} player{'s' * (n != 1)}; dice_jax games have at least 2")
    if n > MAX_PLAYERS:
      self.fail(
        f"the file names {n} players; a dice_jax payoff tensor has one axis per player "
        f"and arrays have at most {MAX_PLAYERS} axes"
      )
    self.advance()
    self.expect("lbrace", "'{' opening the strategy counts or the strategy name lists")
    if self.advance().kind == "lbrace":
      strategies = []
      for i in range(n):
        self.expect("lbrace", f"'{{' opening the strategy names of player {i + 1}")
        names = self.labels(f"strategy name of player {i + 1}")
        if not names:
          self.fail(f"player {i + 1} has no strategies")
        strategies.append(names)
        self.advance()
      counts = [len(s) for s in strategies]
      self.expect("rbrace", f"'}}' closing the strategy lists of the {n} players")
    else:
      strategies, counts = None, []
      for i in range(n):
        tok = self.expect("number", f"the strategy count of player {i + 1}")
        c = stoi(tok.text)
        if c is None:
          self.fail(
            f"the strategy count of player {i + 1} is {describe(tok)}, not an integer "
            "Gambit reads (a 32-bit int)"
          )
        if c < 1:
          self.fail(f"player {i + 1} has no strategies (count {tok.text})")
        counts.append(c)
        self.advance()
      self.expect("rbrace", f"'}}' closing the {n} strategy counts")
    self.advance()
    comment = ""
    if self.tok.kind == "text":
      comment = self.tok.text
      self.advance()
    return title, players, counts, strategies, comment

  def size(self, counts: List[int], per_profile: int) -> int:
    """Number of pure profiles, checked against the characters left and the entry limit before
    anything of that size is allocated."""
    room = len(self.text) - self.tok.start
    size = 1
    for c in counts:
      size *= c
      if size * per_profile > room or size * len(counts) > MAX_PAYOFF_ENTRIES:
        break
    need = size * per_profile
    shape = " x ".join(map(str, counts)) if len(counts) <= 8 else f"{len(counts)} players'"
    if need > room:
      kind = "payoffs" if per_profile > 1 else "outcome indices"
      self.fail(
        f"the strategy counts ({shape}) call for at least {need} {kind} "
        f"but only {room} characters follow; counts that large cannot be right"
      )
    if size * len(counts) > MAX_PAYOFF_ENTRIES:
      self.fail(
        f"the strategy counts ({shape}) make more than {MAX_PAYOFF_ENTRIES} payoff "
        "entries, the reader's limit"
      )
    return size

  def payoff_body(self, n: int, size: int) -> np.ndarray:
    what = lambda k: f"the payoff of player {k % n + 1} at pure profile {k // n + 1} of {size}"
    return self.numbers(n * size, self.payoffs, what).reshape(size, n).T

  def outcome(self, k: int, n: int) -> List[float]:
    """One outcome ``{ "name" u_1 [,] ... u_N [,] }``, token by token (``tok`` is its '{')."""
    self.advance()
    self.expect("text", f"the name of outcome {k} (a quoted string)")
    row = []
    for i in range(n):
      what = f"outcome {k}'s payoff to player {i + 1}"
      tok = self.advance() if i == 0 else self.tok
      self.expect("number", what)
      row.append(self.value(tok.text, tok.start, what))
      if self.advance().kind == "comma":
        self.advance()
    self.expect("rbrace", f"'}}' closing outcome {k} after its {n} payoffs")
    self.advance()
    return row

  def outcome_list(self, n: int) -> np.ndarray:
    """The outcome list, the null outcome first. Well-formed outcomes are matched by one regular
    expression and their payoffs converted in bulk; the rest, token by token."""
    self.advance()
    start = self.tok.start
    stop = _outcomes(n).match(self.text, start).end()
    rows = [np.zeros((1, n))]
    if stop > start:
      bare = _STRING.sub('""', self.text[start:stop])  # no '{' or digits inside names now
      words = _NUM.findall(bare)
      vals = self.payoffs.fast(words, "")
      if vals is None:
        vals = []
        for j, word in enumerate(words):
          x, reason = self.payoffs.exact(word)
          if reason:  # read that outcome token by token, which raises naming the line
            outcomes = re.compile(_outcome(n)).finditer(self.text, start, stop)
            self.lx.pos = next(itertools.islice(outcomes, j // n, None)).start()
            self.advance()
            self.outcome(j // n + 1, n)
          vals.append(x)
      rows.append(np.asarray(vals).reshape(-1, n))
      self.lx.pos = stop
      self.advance()
    k = sum(len(r) for r in rows)
    while self.tok.kind == "lbrace":
      rows.append(np.asarray([self.outcome(k, n)]))
      k += 1
    self.expect("rbrace", "'{' opening an outcome or '}' closing the outcome list")
    self.advance()
    return np.concatenate(rows)

  def outcome_body(self, n: int, size: int) -> np.ndarray:
    table = self.outcome_list(n)
    what = lambda k: f"the outcome index of pure profile {k + 1} of {size}"
    index = self.numbers(size, _Indices(len(table) - 1), what)
    return table[index].T

  def labels(self, what: str) -> List[str]:
    """A list ``{ "label" ... }`` (``tok`` is its '{'), matched by one regular expression."""
    m = _LABELS.match(self.text, self.tok.start)
    self.lx.pos = m.end()
    self.advance()
    self.expect("rbrace", f"a {what} (a quoted string) or '}}' closing the {what}s")
    return [unescape(word[1:-1]) for word in _STRING.findall(m.group(1))]

  def parse(self):
    title, players, counts, strategies, comment = self.header()
    n = len(players)
    if self.tok.kind == "lbrace":
      size = self.size(counts, 1)
    elif self.tok.kind == "number":
      size = self.size(counts, n)
    else:
      self.unexpected("'{' opening the outcome list, or the first payoff")
    if strategies is None:
      strategies = [[str(k + 1) for k in range(c)] for c in counts]
    payoffs = self.outcome_body(n, size) if self.tok.kind == "lbrace" else self.payoff_body(n, size)
    info = NfgInfo(
      title,
      tuple(normalize_labels(players)),
      tuple(tuple(normalize_labels(s)) for s in strategies),
      comment,
    )
    # Player 1 varies fastest: Fortran order over (n_1, ..., n_N).
    return [payoffs[i].reshape(counts, order="F") for i in range(n)], info


def parse_nfg(
  text: str, *, dtype=None, source: str = "<string>", with_info: bool = False
) -> Union[NormalFormGame, Tuple[NormalFormGame, NfgInfo]]:
  """Parse the text of an ``.nfg`` file, as Gambit does (see the module docstring).

  Args:
    text: the file's content.
    dtype: the game's floating dtype (default: JAX's default float); payoffs beyond its range
      are refused, naming the line.
    source: the name that error messages give (the path, for :func:`read_nfg`).
    with_info: also return the :class:`NfgInfo` (title, player and strategy labels, comment).

  Returns:
    The :class:`~dice_jax.games.normal_form.NormalFormGame`, or ``(game, info)``.

  Raises:
    ValueError: ``"{source}: malformed .nfg at line L: ..."`` for any content Gambit refuses or
      that breaks a resource limit of the module docstring.

  Example::

    >>> g = parse_nfg('NFG 1 R "PD" { "A" "B" } { 2 2 } 3 3 5 0 0 5 1 1')
    >>> g.payoffs[0].tolist()
    [[3.0, 0.0], [5.0, 1.0]]
  """
  if not isinstance(text, str):
    raise TypeError(f"text must be a str; got {type(text).__name__}.")
  if len(text) > MAX_FILE_BYTES:
    raise ValueError(
      f"{source}: .nfg text of {len(text)} characters is over the reader's limit "
      f"of {MAX_FILE_BYTES}."
    )
  arrays, info = _Parser(text, source, _float_dtype(dtype)).parse()
  game = NormalFormGame.from_arrays(arrays, dtype=dtype)
  return (game, info) if with_info else game


def read_nfg(path: Union[str, os.PathLike], *, dtype=None, with_info: bool = False):
  """Read a Gambit ``.nfg`` file (UTF-8, at most :data:`MAX_FILE_BYTES`); see :func:`parse_nfg`.

  Raises:
    ValueError: ``path`` is not a file, cannot be read, is too large or is not UTF-8 text
      (naming the line of the first bad byte), or its content is refused by :func:`parse_nfg`.
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise ValueError(f"path {path!r} is not a file.")
  size = os.path.getsize(path)
  if size > MAX_FILE_BYTES:
    raise ValueError(
      f"{path}: the file has {size} bytes, over the .nfg reader's limit of {MAX_FILE_BYTES}."
    )
  try:
    with open(path, "rb") as f:
      data = f.read(MAX_FILE_BYTES + 1)
  except OSError as e:
    raise ValueError(f"{path}: cannot be read: {e.strerror or e}.") from None
  try:
    text = data.decode("utf-8")
  except UnicodeDecodeError as e:
    line = data.count(b"\n", 0, e.start) + 1
    raise ValueError(
      f"{path}: malformed .nfg at line {line}: byte {data[e.start]:#04x} at "
      f"offset {e.start} is not UTF-8 text."
    ) from None
  return parse_nfg(text, dtype=dtype, source=path, with_info=with_info)
