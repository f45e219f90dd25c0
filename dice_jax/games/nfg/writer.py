"""Write games as Gambit ``.nfg`` files that pygambit reads back to the same game.

Both versions of the format (see :mod:`dice_jax.games.nfg.reader`):

* ``version="payoff"``: the payoffs of every pure profile, player 1's strategy varying fastest;
  the strategies as counts ``{ 2 3 }`` unless names are given;
* ``version="outcome"``: one outcome per distinct nonzero payoff vector, named ``"1"``, ``"2"``,
  ..., and one outcome index per profile (0, Gambit's null outcome, where every payoff is 0).

Payoffs are written as the shortest decimal that rounds back to the same float64 (Python's
``repr``), with no ``+`` in exponents (Gambit refuses ``1e+16``), so a float64 game is read back
bit for bit. Labels must be ones pygambit keeps as they are: unique within their list and
nonempty (Gambit renames others, :func:`~dice_jax.games.nfg.labels.normalize_labels`), printable
ASCII with single spaces and none at either end (pygambit 16.7 refuses others), and
not the number of a later entry of their list (pygambit 16.7 sets labels one by one over the
defaults ``"1"``, ``"2"``, ... and refuses ``{ "2" "1" }``), and representable in Gambit's
quoting (title and comment too, which must also be ASCII), in which ``\\"`` is a quote and a backslash followed by any
other character stands for itself -- so a label may not end with a backslash, hold two in a row,
or a backslash before a quote.
"""

from __future__ import annotations

import os
import re
from typing import Optional, Sequence, Union

import numpy as np

from dice_jax.games.nfg.lexer import unescape
from dice_jax.games.normal_form import NormalFormGame


# Gambit's IsValidLabel (src/games/game.h, pygambit 16.7), nonempty.
_VALID_LABEL = re.compile(r"[!-~](?:[!-~]| (?! ))*(?<! )")


def _quote(text: str, what: str) -> str:
  if not isinstance(text, str):
    raise TypeError(f"{what} must be a str; got {type(text).__name__}.")
  if not text.isascii():
    raise ValueError(
      f"{what} {text!r} is not ASCII; pygambit 16.7 gives its labels and titles as ASCII only."
    )
  body = text.replace('"', '\\"')
  if body.endswith("\\") or unescape(body) != text:
    raise ValueError(
      f"{what} {text!r} cannot be written in Gambit's quoting (a backslash at the "
      "end, two in a row, or one before a quote)."
    )
  return f'"{body}"'


def _labels(names: Sequence[str], count: int, what: str) -> list:
  names = list(names)
  if len(names) != count:
    raise ValueError(f"{what} must hold {count} labels; got {len(names)}.")
  seen = set()
  for k, name in enumerate(names):
    if not isinstance(name, str):
      raise TypeError(f"{what}[{k}] must be a str; got {type(name).__name__}.")
    if name in seen or not _VALID_LABEL.fullmatch(name):
      raise ValueError(
        f"{what}[{k}] is {name!r}: labels must be unique within their list, "
        "nonempty, printable ASCII, with single spaces and none at either end "
        "(else pygambit renames or refuses them)."
      )
    if name.isdigit() and str(int(name)) == name and k + 1 < int(name) <= count:
      raise ValueError(
        f"{what}[{k}] is {name!r}, the number of a later entry: pygambit 16.7 "
        "relabels the entries in order from '1', '2', ... and refuses a label "
        "still held by a later entry."
      )
    seen.add(name)
  return [_quote(name, f"{what}[{k}]") for k, name in enumerate(names)]


def _number(x: float) -> str:
  return repr(float(x)).replace("e+", "e")


def to_nfg(
  game: NormalFormGame,
  *,
  title: str = "dice_jax game",
  players: Optional[Sequence[str]] = None,
  strategies: Optional[Sequence[Sequence[str]]] = None,
  comment: str = "",
  version: str = "payoff",
) -> str:
  """The ``.nfg`` text of one (unbatched) game.

  Args:
    game: a single :class:`NormalFormGame` (no batch axes).
    title, comment: the file's title and comment.
    players: one label per player (default ``"Player 1"``, ...).
    strategies: one list of labels per player (default: counts in the payoff version, ``"1"``,
      ``"2"``, ... in the outcome version, the labels Gambit gives counts).
    version: ``"payoff"`` or ``"outcome"``.

  The fields of an :class:`~dice_jax.games.nfg.reader.NfgInfo` are these keywords, so
  ``to_nfg(game, **dataclasses.asdict(info))`` writes a game back with the labels it was read
  with.

  Raises:
    ValueError: a batched game, an unknown version, or labels of the wrong number or that
      Gambit would not keep (see the module docstring).
  """
  if game.batch_shape:
    raise ValueError(
      f"game must be a single game to write as .nfg; it has batch shape {game.batch_shape}."
    )
  if version not in ("payoff", "outcome"):
    raise ValueError(f"version must be 'payoff' or 'outcome'; got {version!r}.")
  n, counts = game.num_players, tuple(game.num_actions)
  players = _labels(players or [f"Player {i + 1}" for i in range(n)], n, "players")
  if strategies is None and version == "outcome":
    strategies = [[str(k + 1) for k in range(c)] for c in counts]
  if strategies is None:
    block = "{ " + " ".join(map(str, counts)) + " }"
  else:
    if len(strategies) != n:
      raise ValueError(f"strategies must hold one list per player ({n}); got {len(strategies)}.")
    block = (
      "{ "
      + "\n".join(
        "{ " + " ".join(_labels(s, c, f"strategies[{i}]")) + " }"
        for i, (s, c) in enumerate(zip(strategies, counts))
      )
      + "\n}"
    )
  lines = [f"NFG 1 R {_quote(title, 'title')} {{ {' '.join(players)} }}", "", block]
  if comment:
    lines.append(_quote(comment, "comment"))
  lines.append("")
  # One row per pure profile, player 1 varying fastest (Fortran order over the action axes).
  rows = np.stack(
    [np.asarray(u, dtype=np.float64).reshape(-1, order="F") for u in game.payoffs], axis=1
  )
  if not np.all(np.isfinite(rows)):
    raise ValueError("game has non-finite payoffs, which .nfg cannot hold.")
  if version == "payoff":
    lines += [" ".join(map(_number, row)) for row in rows.tolist()]
  else:
    index, outcomes = [], {}
    for row in map(tuple, rows.tolist()):
      if not any(row):
        index.append(0)
      else:
        index.append(outcomes.setdefault(row, len(outcomes) + 1))
    lines.append("{")
    lines += [f'{{ "{k}" {", ".join(map(_number, row))} }}' for row, k in outcomes.items()]
    lines += ["}", " ".join(map(str, index))]
  return "\n".join(lines) + "\n"


def write_nfg(game: NormalFormGame, path: Union[str, os.PathLike], **kwargs) -> None:
  """Write one game as an ``.nfg`` file (UTF-8); the keywords are those of :func:`to_nfg`."""
  text = to_nfg(game, **kwargs)
  with open(os.fspath(path), "w", encoding="utf-8") as f:
    f.write(text)
