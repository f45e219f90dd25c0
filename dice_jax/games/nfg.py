"""Gambit ``.nfg`` strategic-form files: read (payoff and outcome versions) and write.

Format (Gambit documentation, "The strategic game (.nfg) file format"): a header
``NFG 1 R "title" { "player" ... }``, then either

* *payoff version*: ``{ n_1 ... n_N }``, an optional comment string, and the payoffs of every
  player for each pure profile, profiles ordered with player 1's strategy varying fastest; or
* *outcome version*: ``{ { "s11" "s12" ... } { "s21" ... } ... }``, an optional comment, a
  list of outcomes ``{ "name" u_1, ..., u_N }``, and one outcome index per pure profile
  (same order; 1-based, 0 = the null outcome with zero payoffs).

Numbers may be integers, decimals (``1.5``, ``-2e-3``) or rationals (``3/4``).
"""
from __future__ import annotations

import dataclasses
import math
import os
import re
from fractions import Fraction
from typing import List, Optional, Tuple, Union

import numpy as np

from dice_jax.games.normal_form import NormalFormGame

_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([{},])|([^\s{},"]+))', re.S)


@dataclasses.dataclass(frozen=True)
class NfgInfo:
  """Labels carried by an ``.nfg`` file."""

  title: str
  players: Tuple[str, ...]
  strategies: Tuple[Tuple[str, ...], ...]
  comment: str = ""


class _Tokens:

  def __init__(self, text: str, source: str):
    self.source = source
    self.items: List[Tuple[str, str, int]] = []  # (kind, value, line)
    pos = 0
    text = text.rstrip()
    while pos < len(text):
      m = _TOKEN.match(text, pos)
      if m is None or m.end() == pos:
        self.fail(f"unexpected character {text[pos]!r}", text.count("\n", 0, pos) + 1)
      line = text.count("\n", 0, m.start()) + 1
      if m.group(1) is not None:
        self.items.append(("str", m.group(1).replace('\\"', '"'), line))
      elif m.group(2) is not None:
        if m.group(2) != ",":
          self.items.append(("sym", m.group(2), line))
      else:
        self.items.append(("word", m.group(3), line))
      pos = m.end()
    self.i = 0

  def fail(self, what: str, line: Optional[int] = None):
    if line is None:
      line = self.items[min(self.i, len(self.items) - 1)][2] if self.items else 1
    raise ValueError(f"{self.source}: malformed .nfg at line {line}: {what}.")

  def peek(self):
    return self.items[self.i] if self.i < len(self.items) else ("eof", "", 0)

  def next(self, kind=None, value=None, what=""):
    tok = self.peek()
    if tok[0] == "eof":
      self.fail(f"unexpected end of file, expected {what or value or kind}")
    if (kind and tok[0] != kind) or (value and tok[1] != value):
      self.fail(f"expected {what or value or kind}, found {tok[1]!r}")
    self.i += 1
    return tok[1]

  def number(self, what: str) -> Fraction:
    word = self.next("word", what=what)
    try:
      return Fraction(word)
    except (ValueError, ZeroDivisionError):
      self.i -= 1
      self.fail(f"expected a number for {what}, found {word!r}")

  def integer(self, what: str) -> int:
    word = self.next("word", what=what)
    if not re.fullmatch(r"\d+", word):
      self.i -= 1
      self.fail(f"expected a non-negative integer for {what}, found {word!r}")
    return int(word)

  def strings_in_braces(self, what: str) -> List[str]:
    self.next("sym", "{", what=f"'{{' opening {what}")
    out = []
    while self.peek()[0] == "str":
      out.append(self.next("str"))
    self.next("sym", "}", what=f"'}}' closing {what}")
    return out


def parse_nfg(text: str, *, dtype=None, source: str = "<string>", with_info: bool = False
              ) -> Union[NormalFormGame, Tuple[NormalFormGame, NfgInfo]]:
  """Parse the text of an ``.nfg`` file (see the module docstring).

  Raises:
    ValueError: naming ``source`` and the line, for any malformed content.
  """
  tk = _Tokens(text, source)
  tk.next("word", "NFG", what="the 'NFG' header")
  if tk.next("word", what="the version") != "1":
    tk.i -= 1
    tk.fail("only version 1 is supported")
  if tk.next("word", what="'R' or 'D'") not in ("R", "D"):
    tk.i -= 1
    tk.fail("expected 'R' or 'D' after the version")
  title = tk.next("str", what="the game title (a quoted string)")
  players = tk.strings_in_braces("the player names")
  n = len(players)
  if n < 2:
    tk.fail(f"a game needs at least 2 players; found {n}")
  tk.next("sym", "{", what="'{' opening the strategy counts or names")
  outcome_version = tk.peek() == ("sym", "{", tk.peek()[2])
  if outcome_version:
    tk.i -= 1
    tk.next("sym", "{")
    strategies = [tk.strings_in_braces(f"the strategies of player {i + 1}") for i in range(n)]
    tk.next("sym", "}", what="'}' closing the strategy lists")
    counts = [len(s) for s in strategies]
  else:
    counts = [tk.integer(f"the strategy count of player {i + 1}") for i in range(n)]
    tk.next("sym", "}", what=f"'}}' closing the {n} strategy counts")
    strategies = [[str(k + 1) for k in range(c)] for c in counts]
  if any(c < 1 for c in counts):
    tk.fail(f"every player needs at least one strategy; counts {counts}")
  comment = tk.next("str") if tk.peek()[0] == "str" else ""
  size = math.prod(counts)
  payoffs = np.zeros((n, size), dtype=np.float64)
  if outcome_version:
    tk.next("sym", "{", what="'{' opening the outcome list")
    outcomes = []
    while tk.peek()[1] == "{" and tk.peek()[0] == "sym":
      tk.next("sym", "{")
      tk.next("str", what="the outcome name (a quoted string)")
      outcomes.append([float(tk.number(f"outcome {len(outcomes) + 1}'s payoff to player {i + 1}"))
                       for i in range(n)])
      tk.next("sym", "}", what=f"'}}' closing outcome {len(outcomes)} ({n} payoffs)")
    tk.next("sym", "}", what="'}' closing the outcome list")
    for p in range(size):
      k = tk.integer(f"the outcome of pure profile {p + 1} of {size}")
      if k > len(outcomes):
        tk.i -= 1
        tk.fail(f"outcome index {k} for pure profile {p + 1}, but only {len(outcomes)} outcomes")
      if k:
        payoffs[:, p] = outcomes[k - 1]
  else:
    for p in range(size):
      for i in range(n):
        payoffs[i, p] = float(tk.number(f"payoff of player {i + 1} at pure profile {p + 1} of {size}"))
  if tk.peek()[0] != "eof":
    tk.fail(f"unexpected {tk.peek()[1]!r} after the {size} pure profiles")
  # Player 1 varies fastest: Fortran order over (n_1, ..., n_N).
  arrays = [payoffs[i].reshape(counts, order="F") for i in range(n)]
  game = NormalFormGame.from_arrays(arrays, dtype=dtype)
  if with_info:
    return game, NfgInfo(title, tuple(players), tuple(tuple(s) for s in strategies), comment)
  return game


def read_nfg(path: Union[str, os.PathLike], *, dtype=None, with_info: bool = False):
  """Read a Gambit ``.nfg`` file; see :func:`parse_nfg`."""
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise ValueError(f"path {path!r} is not a file.")
  with open(path, encoding="utf-8") as f:
    return parse_nfg(f.read(), dtype=dtype, source=path, with_info=with_info)


def _quote(s: str) -> str:
  return '"' + s.replace('"', '\\"') + '"'


def to_nfg(game: NormalFormGame, *, title: str = "dice_jax game",
           players: Optional[List[str]] = None) -> str:
  """The payoff-version ``.nfg`` text of one (unbatched) game; floats written exactly
  (shortest round-trip decimal)."""
  if game.batch_shape:
    raise ValueError(f"game must be a single game to write as .nfg; it has batch shape "
                     f"{game.batch_shape}.")
  n, counts = game.num_players, game.num_actions
  players = players or [f"Player {i + 1}" for i in range(n)]
  if len(players) != n:
    raise ValueError(f"players must name {n} players; got {len(players)}.")
  flat = np.stack([np.asarray(u, dtype=np.float64).reshape(-1, order="F") for u in game.payoffs])
  body = "\n".join(" ".join(repr(float(x)) for x in flat[:, p]) for p in range(flat.shape[1]))
  header = (f"NFG 1 R {_quote(title)} {{ {' '.join(map(_quote, players))} }} "
            f"{{ {' '.join(map(str, counts))} }}")
  return f"{header}\n\n{body}\n"


def write_nfg(game: NormalFormGame, path: Union[str, os.PathLike], **kwargs) -> None:
  """Write one game as a payoff-version ``.nfg`` file (see :func:`to_nfg`)."""
  with open(os.fspath(path), "w", encoding="utf-8") as f:
    f.write(to_nfg(game, **kwargs))
