"""Fuzzing the .nfg reader: random and mutated files never escape as anything but ValueError,
never take a second, and whenever pygambit reads a file whose game dice_jax can hold, dice_jax
reads the same game (payoffs entry by entry, labels)."""

import io
import re
import time

import jax.numpy as jnp
import numpy as np
import pygambit
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dice_jax.games import NormalFormGame, parse_nfg, to_nfg
from dice_jax.games.nfg.lexer import MAX_RATIONAL_DIGITS, Lexer
from dice_jax.testing import gambit_payoffs
from tests.fuzz.budget import STATS, examples, temp_file, time_limit

SEEDS = [
  'NFG 1 R "Selten" { "Player 1" "Player 2" } { 3 2 }\n1 1 0 2 0 2 1 1 0 3 2 0\n',
  'NFG 1 R "c" { "1" "2" }\n{ { "a" "b" }\n{ "c" "d" }\n}\n\n3 2 0 0 0 0 2 2\n',
  'NFG 1 D "o" { "A" "B" } { { "x" "y" } { "z" } } "note"\n{ { "" 1, 2 } { "q" 3/4 -1.5e2 } }\n2 0\n',
  'NFG 1 R "3p" { "A" "B" "C" } { 2 1 2 } "" 1 2 3 4 5 6 7 8 9 10 11 12',
  'NFG 1 R "e" { "\\"q\\"" "" } { { "a" "a" } { "b" } } .5 - 1e-3 2E2 1/3 -0',
]
TOKENS = [
  "NFG",
  "1",
  "R",
  "D",
  '"x"',
  '""',
  '"\\""',
  "{",
  "}",
  ",",
  "2",
  "0",
  "-",
  ".",
  "1e",
  "1e-",
  "1/0",
  "1/",
  "+3",
  "3.5",
  "-2/3",
  "1e308",
  "9e999",
  '"',
  "\\",
  " ",
  "\n",
  "\t",
  "\r",
  "\v",
  "\x00",
  "é",
  "e",
  "/",
  "{ 2 2 }",
  '{ "a" "b" }',
  '{ "" 1, 2 }',
]
WS = [" ", "\n", "\t", "\r\n", "\f", ""]


@st.composite
def mutated(draw):
  text = draw(st.sampled_from(SEEDS))
  for _ in range(draw(st.integers(0, 4))):
    i = draw(st.integers(0, len(text)))
    j = draw(st.integers(i, min(len(text), i + 6)))
    edit = draw(st.sampled_from(["space", "digit", "delete", "insert", "replace", "duplicate"]))
    if edit == "space":  # usually harmless: between tokens, or inside a label
      text = text[:i] + draw(st.sampled_from(WS)) + text[i:]
    elif edit == "digit":  # usually harmless: a payoff or label changes
      text = text[:i] + draw(st.sampled_from("0123456789")) + text[i:]
    elif edit == "delete":
      text = text[:i] + text[j:]
    elif edit == "insert":
      text = text[:i] + draw(st.sampled_from(WS)) + draw(st.sampled_from(TOKENS)) + text[i:]
    elif edit == "replace":
      text = text[:i] + draw(st.text(min_size=0, max_size=3)) + text[j:]
    else:
      text = text[:j] + text[i:j] + text[j:]
  return text


token_soup = st.lists(st.tuples(st.sampled_from(WS), st.sampled_from(TOKENS)), max_size=40).map(
  lambda parts: "".join(w + t for w, t in parts)
)
files = st.one_of(
  mutated(),
  mutated(),
  mutated(),
  token_soup,
  st.text(max_size=200),
  st.just("NFG 1 R ").flatmap(lambda h: token_soup.map(lambda t: h + t)),
)


def read(text):
  start = time.thread_time()
  try:
    with time_limit(10, "parse_nfg"):  # a hang fails the case instead of stalling the suite
      result = parse_nfg(text, dtype=jnp.float64, with_info=True, source="fuzz.nfg")
    STATS[".nfg texts read as games"] += 1
  except ValueError as e:
    assert str(e).startswith("fuzz.nfg: malformed .nfg at line "), str(e)
    STATS[".nfg texts refused with file and line"] += 1
    result = None
  seconds = time.thread_time() - start
  STATS["max CPU seconds per .nfg text"] = max(
    STATS["max CPU seconds per .nfg text"], round(seconds, 3)
  )
  assert seconds < 3.0, f"{seconds:.2f} s CPU for {text[:200]!r}"
  return result


def gambit_can_read_quickly(text):
  # Gambit multiplies by 10 once per exponent unit and per digit: keep its work small.
  return not re.search(r"[eE]-?[0-9]{5}|[0-9]{400}", text)


def gambit_payoffs_or_none(g):
  """pygambit's payoffs, or None where pygambit cannot give them as numbers (texts like '1e-'
  that its C++ reader accepts) or dice_jax cannot hold them (beyond float64)."""
  try:
    payoffs = gambit_payoffs(g)
  except (ValueError, ArithmeticError):  # includes decimal.InvalidOperation
    return None
  return payoffs if all(np.all(np.isfinite(u)) for u in payoffs) else None


@settings(max_examples=examples(40, 2000))
@given(files)
def test_any_text_is_a_game_or_a_value_error_without_runaway_work(text):
  result = read(text)
  if result is not None:
    game, info = result
    assert isinstance(game, NormalFormGame) and len(info.players) == game.num_players
    assert all(np.all(np.isfinite(np.asarray(u))) for u in game.payoffs)
  if not text.isascii() or not gambit_can_read_quickly(text):
    return
  try:
    g = pygambit.read_nfg(io.StringIO(text))
  except ValueError:
    return
  if len(g.players) < 2 or any(len(w) > MAX_RATIONAL_DIGITS for w in re.findall(r"[0-9]+", text)):
    return  # outside dice_jax's model or limits (tested in tests/test_nfg.py)
  payoffs = gambit_payoffs_or_none(g)
  if payoffs is None:
    return
  assert result is not None, f"pygambit reads {text!r}; dice_jax refused it"
  STATS[".nfg texts pygambit reads, compared entry by entry"] += 1
  game, info = result
  assert info.players == tuple(p.label for p in g.players)
  assert info.strategies == tuple(tuple(s.label for s in p.strategies) for p in g.players)
  assert info.title == g.title and info.comment == g.description
  for u, v in zip(game.payoffs, payoffs):
    np.testing.assert_array_equal(np.asarray(u), v)


@settings(max_examples=examples(20, 1000))
@given(st.binary(max_size=200), st.sampled_from(SEEDS))
def test_any_bytes_in_a_file_are_a_game_or_a_value_error(data, seed):
  from dice_jax import read_nfg

  with temp_file(seed.encode()[: len(seed) // 2] + data, suffix=".nfg") as path:
    start = time.thread_time()
    try:
      with time_limit(10, "read_nfg"):
        read_nfg(path)
    except ValueError as e:
      assert str(e).startswith(f"{path}: "), str(e)
    assert time.thread_time() - start < 3.0  # runaway-work guard, not a speed target


def gambit_string(text):
  """Transcription of the string branch of Gambit's GameFileLexer::GetNextToken (file.cc):
  ``(label, end)`` for ``text`` starting with '"', or None when the string is not closed."""
  out, last, i = [], False, 1
  while i < len(text):
    a = text[i]
    if a == '"' and not last:
      return "".join(out), i + 1
    if last and a == '"':
      out.append('"')
    elif last:
      out.append("\\" + a)
    elif a != "\\":
      out.append(a)
    last = a == "\\"
    i += 1
  return None


@settings(max_examples=examples(30, 1000))
@given(st.text(alphabet='ab\\" \n', max_size=30))
def test_quoted_strings_are_cut_and_unescaped_as_gambit_does(content):
  text = '"' + content
  expected = gambit_string(text)
  lexer = Lexer(text, "s.nfg")
  if expected is None:
    with pytest.raises(ValueError, match="a quoted string is not closed"):
      lexer.next()
  else:
    tok = lexer.next()
    assert (tok.kind, tok.text, lexer.pos) == ("text", *expected)


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
label = st.from_regex(r"[!-~]([!-~]| [!-~]){0,6}", fullmatch=True)  # pygambit's IsValidLabel


@settings(max_examples=examples(20, 1000))
@given(
  st.lists(st.integers(1, 3), min_size=2, max_size=3),
  st.data(),
  st.sampled_from(["payoff", "outcome"]),
)
def test_written_files_are_read_back_by_pygambit_bit_for_bit(shape, data, version):
  """Any float64 payoffs (subnormal, huge, negative zero) and any labels the writer accepts:
  pygambit reads the file back to the same game."""
  n = len(shape)
  payoffs = [
    np.array(
      data.draw(st.lists(finite, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    ).reshape(shape)
    for _ in range(n)
  ]
  game = NormalFormGame.from_arrays(payoffs, dtype=jnp.float64)
  players = data.draw(st.lists(label, min_size=n, max_size=n, unique=True))
  strategies = [data.draw(st.lists(label, min_size=c, max_size=c, unique=True)) for c in shape]
  try:
    text = to_nfg(game, version=version, players=players, strategies=strategies, title="t")
  except ValueError as e:  # a label Gambit's quoting cannot hold, or pygambit cannot apply
    assert "cannot be written in Gambit's quoting" in str(e) or "a later entry" in str(e)
    return
  g = pygambit.read_nfg(io.StringIO(text))
  assert [p.label for p in g.players] == players
  assert [[s.label for s in p.strategies] for p in g.players] == [list(s) for s in strategies]
  for u, v in zip(gambit_payoffs(g), payoffs):
    np.testing.assert_array_equal(u, v)
  STATS[".nfg files written and read back by pygambit"] += 1
