"""Gambit .nfg files: every file is read as pygambit reads it (pygambit is the referee in each
test: payoff tensors entry by entry, title, comment, player and strategy labels); files that
pygambit refuses are refused with file and line; dice_jax's files are read back by pygambit."""

import dataclasses
import io
import itertools
import os
import pathlib
import re
import textwrap
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pygambit
import pytest

import dice_jax as dj
from dice_jax.games import parse_nfg, to_nfg
from dice_jax.games import random as rg
from dice_jax.testing import gambit_payoffs
from tests.fuzz.budget import read_in_fresh_process

HEAD = 'NFG 1 R "x" { "a" "b" } '


def gambit_view(g):
  """What pygambit makes of a game: title, comment, labels, payoffs."""
  return dict(
    title=g.title,
    comment=g.description,
    players=tuple(p.label for p in g.players),
    strategies=tuple(tuple(s.label for s in p.strategies) for p in g.players),
    payoffs=gambit_payoffs(g),
  )


def dice_view(text, **kwargs):
  game, info = parse_nfg(text, dtype=jnp.float64, with_info=True, **kwargs)
  return dict(
    title=info.title,
    comment=info.comment,
    players=info.players,
    strategies=info.strategies,
    payoffs=[np.asarray(u) for u in game.payoffs],
  )


def assert_same_game(ours, theirs):
  for key in ("title", "comment", "players", "strategies"):
    assert ours[key] == theirs[key], key
  assert len(ours["payoffs"]) == len(theirs["payoffs"])
  for u, v in zip(ours["payoffs"], theirs["payoffs"]):
    assert u.dtype == np.float64 and u.shape == v.shape
    np.testing.assert_array_equal(u, v)


def assert_read_as_gambit_reads(text):
  theirs = gambit_view(pygambit.read_nfg(io.StringIO(text)))
  ours = dice_view(text)
  assert_same_game(ours, theirs)
  return ours


# -- files pygambit writes, in each of its formats ---------------------------------------------


def random_table(shape, seed, names=True):
  """A pygambit table game with decimal, rational and integer payoffs and its own labels."""
  rng = np.random.default_rng(seed)
  arrays = [np.round(rng.uniform(-5, 5, size=shape), 3) for _ in shape]
  g = pygambit.Game.new_table(list(shape), title=f"table {shape}")
  for prof in itertools.product(*map(range, shape)):
    for i, p in enumerate(g.players):
      x = arrays[i][prof]
      g[prof][p] = Fraction(int(x * 7), 3) if (sum(prof) + i) % 3 == 0 else str(x)
  if names:
    for i, p in enumerate(g.players):
      p.label = f'player "{i}"'
      for k, s in enumerate(p.strategies):
        s.label = f"s{i}.{k}"
  g.description = "written by pygambit"
  return g


def random_tree(seed):
  """A pygambit extensive game with a chance move: its .nfg is Gambit's payoff version with
  strategy *names* (the shape of issue #17) and rational expected payoffs."""
  rng = np.random.default_rng(seed)
  g = pygambit.Game.new_tree(players=["Ann", "Bob"], title=f"tree {seed}")
  g.append_move(g.root, g.players.chance, ["H", "T"])
  g.set_chance_probs(g.root.infoset, [Fraction(1, 3), Fraction(2, 3)])
  heads, tails = list(g.root.children)
  g.append_move(heads, "Ann", ["a", "b"])
  g.append_move(tails, "Ann", ["c", "d", "e"])
  for node in (heads, tails):
    for child in node.children:
      g.append_move(child, "Bob", ["x", "y"])
      for leaf in child.children:
        pay = [int(v) for v in rng.integers(-9, 10, size=2)]
        g.set_outcome(leaf, g.add_outcome(f"o{len(g.outcomes)}", pay))
  return g


GAMBIT_WRITTEN = {
  "table_2x2": lambda: random_table((2, 2), 0),
  "table_3x4": lambda: random_table((3, 4), 1),
  "table_2x3x4": lambda: random_table((2, 3, 4), 2),
  "table_2x2x3x2_default_labels": lambda: random_table((2, 2, 3, 2), 3, names=False),
  "from_arrays": lambda: pygambit.Game.from_arrays(
    [[1, 0.1], [-3, 2]], [[0, 1], [2, 1]], title="from_arrays"
  ),
  "tree_with_chance_1": lambda: random_tree(1),
  "tree_with_chance_2": lambda: random_tree(2),
}


@pytest.mark.parametrize("make", GAMBIT_WRITTEN.values(), ids=GAMBIT_WRITTEN.keys())
def test_files_pygambit_writes_are_read_identically(make):
  assert_read_as_gambit_reads(make().to_nfg())


def test_pygambit_writes_both_body_versions():
  """The table above covers both of pygambit's .nfg outputs (else the test proves less)."""
  assert parse_version(random_table((2, 2), 0).to_nfg()) == "outcome"
  assert parse_version(random_tree(1).to_nfg()) == "payoff"


def parse_version(text):
  from dice_jax.games.nfg.lexer import Lexer

  lx, depth, closed = Lexer(text, "x"), 0, 0
  while True:  # the token after the strategy block (and optional comment) decides the version
    tok = lx.next()
    depth += tok.kind == "lbrace"
    if tok.kind == "rbrace":
      depth -= 1
      closed += depth == 0
    if closed == 2:
      tok = lx.next()
      if tok.kind == "text":
        tok = lx.next()
      return "outcome" if tok.kind == "lbrace" else "payoff"


def pygambit_catalog_files():
  root = pathlib.Path(pygambit.__file__).parent / "catalog_data"
  return sorted(root.rglob("*.nfg")), sorted(root.rglob("*.efg"))


@pytest.mark.skipif(
  not os.environ.get("DICE_JAX_GAMBIT_GAMES"),
  reason="set DICE_JAX_GAMBIT_GAMES to a folder of .nfg files (e.g. a Gambit "
  "checkout) to compare them all with pygambit",
)
def test_every_nfg_file_in_a_folder_reads_identically():
  """Opt-in: every ``.nfg`` under ``$DICE_JAX_GAMBIT_GAMES`` that pygambit reads is read
  identically (60 of 60 in gambitproject/gambit at 8883f75: catalog, contrib/games, tests, doc)."""
  paths = sorted(pathlib.Path(os.environ["DICE_JAX_GAMBIT_GAMES"]).rglob("*.nfg"))
  assert paths
  for path in paths:
    try:
      pygambit.read_nfg(str(path))
    except ValueError:
      continue
    assert_read_as_gambit_reads(path.read_text())


@pytest.mark.skipif(not pygambit_catalog_files()[0], reason="pygambit ships no catalog")
def test_pygambit_catalog_reads_identically():
  """Gambit's game catalog as installed with pygambit: its .nfg files, and the strategic form
  pygambit writes for each of its .efg games (payoff version with strategy names)."""
  nfgs, efgs = pygambit_catalog_files()
  for path in nfgs:
    assert_read_as_gambit_reads(path.read_text())
  read = 0
  for path in efgs:
    g = pygambit.read_efg(str(path))
    if len(g.players) < 2:  # one-player decision problems: not a dice_jax game
      continue
    assert_read_as_gambit_reads(g.to_nfg())
    read += 1
  assert len(nfgs) >= 5 and read >= 20


# -- every syntax variant of Gambit's format, hand-written -------------------------------------

VARIANTS = {
  "payoff_counts": """NFG 1 R "Selten (IJGT, 75), Figure 2, normal form"
        { "Player 1" "Player 2" } { 3 2 }

        1 1 0 2 0 2 1 1 0 3 2 0
        """,
  "payoff_names_issue17": """NFG 1 R "Two person 2x2 coordination game" { "Player 1" "Player 2" }

        { { "1" "2" }
        { "1" "2" }
        }

        3 2 0 0 0 0 2 2
        """,
  "payoff_names_comment": """NFG 1 R "t" { "A" "B" } { { "U" "D" } { "L" "M" "R" } } "a comment"
        1 2 3 4 5 6 7 8 9 10 11 12""",
  "payoff_counts_comment": 'NFG 1 R "t" { "A" "B" } { 2 2 } "comment" 1 2 3 4 5 6 7 8',
  "outcome_names": """NFG 1 R "Selten (IJGT, 75), Figure 2, normal form" { "Player 1" "Player 2" }

        {
        { "1" "2" "3" }
        { "1" "2" }
        }

        {
        { "" 1, 1 }
        { "" 0, 2 }
        { "" 0, 2 }
        { "" 1, 1 }
        { "" 0, 3 }
        { "" 2, 0 }
        }
        1 2 3 4 5 6
        """,
  "outcome_counts": 'NFG 1 R "t" { "A" "B" } { 2 2 } { { "x" 1 2 } { "y" 3 4 } } 1 2 2 1',
  "outcome_comment": (
    'NFG 1 R "t" { "A" "B" } { { "a" "b" } { "c" } } "the comment"\n{ { "x" 1, 2 } } 1 1'
  ),
  "header_D": 'NFG 1 D "t" { "A" "B" } { 2 1 } 2.000000 1.000000 -1.500000 0.000000',
  "three_players": (
    'NFG 1 R "t" { "A" "B" "C" } { 2 2 2 }\n' + " ".join(str(k) for k in range(24))
  ),
  "numbers_decimal_exponent": (
    'NFG 1 R "t" { "A" "B" } { 3 3 }\n'
    "1 -2 1.5 -2.25 5. .5 -.5 0.1 1e3 2E-2 1.5e-3 -1.e2 1e-0 7E5 "
    "123456789012345678901234567890 1e-400 0.30000000000000004 1e308"
  ),
  "numbers_rational": (
    'NFG 1 R "t" { "A" "B" } { 2 2 }\n'
    "3/4 -1/2 0/5 1/3 22/7 -355/113 100/10 10000000000000000000001/3"
  ),
  "numbers_adjacent": 'NFG 1 R "t" { "A" "B" } { 2 2 } 1-2 1.2.3 4/5 6-7-8',
  "numbers_zeros": 'NFG 1 R "t" { "A" "B" } { 2 2 } 0 -0 -0.0 .0 0/7 -0/3 0e5 0.0e-3',
  "outcome_commas": (
    'NFG 1 R "t" { "A" "B" } { 2 2 }\n'
    '{ { "a" 1, 2 } { "b" 3 4 } { "c" 5,6 } { "d" 7, 8, } { "e" 9 ,10 } }\n'
    "1 2 3 4"
  ),
  "outcome_commas_three_players": (
    'NFG 1 R "t" { "A" "B" "C" } { 1 2 1 }\n{ { "a" 1, 2, 3 } { "b" 4 5, 6 } } 2 1'
  ),
  "outcome_names_repeated_and_empty": (
    'NFG 1 R "t" { "A" "B" } { 2 2 }\n{ { "" 1 2 } { "" 3 4 } { "o" 5 6 } { "o" 7 8 } } 1 2 3 4'
  ),
  "outcome_null_index_0": 'NFG 1 R "t" { "A" "B" } { 2 2 } { { "x" 1 2 } } 0 1 0 1',
  "outcome_index_stoi_forms": (
    'NFG 1 R "t" { "A" "B" } { 2 2 }\n{ { "x" 1 2 } { "y" 3 4 } } 1.0 +2 2/3 1e5'
  ),
  "count_stoi_forms": 'NFG 1 R "t" { "A" "B" } { 2.0 +1 } 1 2 3 4',
  "count_stoi_rational": 'NFG 1 R "t" { "A" "B" } { 2/3 1e9 } 1 2 3 4',
  "names_escaped_quotes": (
    'NFG 1 R "say \\"hi\\"" { "the \\"first\\"" "B" }\n'
    '{ { "a \\"b\\" c" "{ braces }" } { "x, y" "\\"" } }\n'
    '"a \\"quoted\\" comment" 1 2 3 4 5 6 7 8'
  ),
  "names_backslashes": (
    'NFG 1 R "a\\b" { "c:\\\\dir" "B\\\\\\"" } { { "\\n" "s" } { "t" } }\n1 2 3 4'
  ),
  "names_empty_and_repeated": (
    'NFG 1 R "" { "" "" } { { "a" "a" "a_1" } { "" "b" } }\n' + " ".join(["1"] * 12)
  ),
  "names_multiline_and_spaces": (
    'NFG 1 R "two\nlines  and\ttabs " { "a b c" "B!~" }\n'
    '{ { "x = {1, 2}" } { "#$%&\'()*+,-./:;<=>?@[]^_`|" } }\n'
    '"multi\nline\ncomment" 1 2'
  ),
  "whitespace_none_needed": 'NFG 1 R "t"{"A""B"}{{"a""b"}{"c"}}"c"{{"x"1,2}{"y"3 4}}1 2',
  "whitespace_tabs_crlf_vt_ff": 'NFG\t1\r\nR\v"t"\f{ "A"\t"B" }\r\n{ 2\f2 }\r\n1\t2\v3\f4\r5 6 7 8\r\n',
  "whitespace_one_token_per_line": "\n".join(
    'NFG 1 R "t" { "A" "B" } { 2 1 } { { "x" 1 2 } } 1 0'.split()
  )
  + "\n\n",
  "four_players_outcomes": (
    'NFG 1 R "t" { "1" "2" "3" "4" } { { "a" "b" } { "c" "d" } '
    '{ "e" "f" } { "g" "h" } } ""\n{\n'
    + "\n".join(f'{{ "" {k}, {-k}, {k / 4}, {k % 3} }}' for k in range(1, 17))
    + "\n}\n"
    + " ".join(str(k) for k in range(16, 0, -1))
  ),
}


@pytest.mark.parametrize("text", VARIANTS.values(), ids=VARIANTS.keys())
def test_syntax_variants_read_as_pygambit_reads_them(text):
  assert_read_as_gambit_reads(textwrap.dedent(text))


def test_variants_mean_what_gambit_documents():
  """Independent of pygambit: the orderings, the null outcome and the number forms."""
  sel = dice_view(VARIANTS["payoff_counts"])
  # profiles (1,1) (2,1) (3,1) (1,2) ...: player 1's strategy varies fastest
  np.testing.assert_array_equal(sel["payoffs"][0], [[1, 1], [0, 0], [0, 2]])
  np.testing.assert_array_equal(sel["payoffs"][1], [[1, 1], [2, 3], [2, 0]])
  assert dice_view(VARIANTS["outcome_names"])["payoffs"][1].tolist() == sel["payoffs"][1].tolist()
  null = dice_view(VARIANTS["outcome_null_index_0"])["payoffs"]
  np.testing.assert_array_equal(null[0], [[0, 0], [1, 1]])
  num = dice_view(VARIANTS["numbers_rational"])["payoffs"]
  assert (
    num[0][0, 0] == 0.75 and num[1][0, 0] == -0.5 and num[1][0, 1] == float(Fraction(-355, 113))
  )
  zeros = dice_view(VARIANTS["numbers_zeros"])["payoffs"]
  assert all(np.all(z == 0) and not np.any(np.signbit(z)) for z in zeros)


def test_number_forms_gambit_reads_but_pygambit_cannot_convert():
  """Gambit's C++ reader (lexical_cast<Rational>) accepts these tokens; pygambit reads the file
  but raises converting the payoff text to a Python number. dice_jax gives the C++ values:
  empty digit runs are 0 and an exponent with no digits is 0."""
  text = HEAD + "{ 4 2 }\n. 5. - -. -/5 1e- 1.e- 2.5e- 3 4 -1e- 5.E-0 .0 -.25 -0/1 7"
  pygambit.read_nfg(io.StringIO(text))  # the C++ reader accepts the file
  with pytest.raises(Exception):  # noqa: B017 - ValueError or decimal.InvalidOperation
    pygambit.read_nfg(io.StringIO(text)).to_arrays()
  ours = dice_view(text)["payoffs"]
  np.testing.assert_array_equal(ours[0].T.ravel(), [0, 0, 0, 1, 3, -1, 0, 0])
  np.testing.assert_array_equal(ours[1].T.ravel(), [5, 0, 1, 2.5, 4, 5, -0.25, 7])
  names = dice_view(VARIANTS["names_empty_and_repeated"])
  assert names["players"] == ("_1", "_2")
  assert names["strategies"] == (("a_2", "a_3", "a_1"), ("_1", "b"))


@pytest.mark.parametrize(
  "players,strategy",
  [
    ('"Ève" "Zoë"', '"haut"'),
    ('" padded" "B"', '"x"'),
    ('"A" "B"', '"two  spaces"'),
    ('"A" "B"', '"tab\there"'),
    ('"A" "B"', '"new\nline"'),
    ('"A " "B"', '"x"'),
  ],
)
def test_labels_pygambit_16_7_refuses_are_kept(players, strategy):
  """pygambit 16.7 refuses labels that are not printable ASCII with single inner spaces
  (``IsValidLabel``, src/games/game.h); dice_jax reads them as written."""
  text = f'NFG 1 R "t" {{ {players} }} {{ {{ {strategy} "b" }} {{ "c" }} }} 1 2 3 4'
  with pytest.raises(ValueError, match="Invalid label"):
    pygambit.read_nfg(io.StringIO(text))
  game, info = parse_nfg(text, with_info=True)
  assert info.players == tuple(re.findall(r'"([^"]*)"', players))
  assert info.strategies[0][0] == re.findall(r'"([^"]*)"', strategy)[0]
  np.testing.assert_array_equal(np.asarray(game.payoffs[1]), [[2], [4]])


@pytest.mark.parametrize(
  "players,strategies,profiles",
  [
    ('"2" "1"', '{ "a" } { "b" }', 1),
    ('"a" "b"', '{ "2" "1" } { "x" }', 2),
    ('"a" "b"', '{ "3" "x" "y" } { "x" }', 3),
  ],
)
def test_numeric_labels_pygambit_16_7_cannot_apply_are_read(players, strategies, profiles):
  """pygambit 16.7 labels the entries "1", "2", ... first and then relabels them in order, so it
  refuses a label that a later entry still holds; the format allows it, and dice_jax reads it."""
  text = f'NFG 1 R "t" {{ {players} }} {{ {strategies} }} ' + " ".join(["1"] * 2 * profiles)
  with pytest.raises(ValueError, match="must be unique"):
    pygambit.read_nfg(io.StringIO(text))
  _, info = parse_nfg(text, with_info=True)
  assert info.players == tuple(re.findall(r'"([^"]*)"', players))
  assert info.strategies[0] == tuple(re.findall(r'"([^"]*)"', strategies.split("}")[0]))


# -- files Gambit refuses, and the limits of dice_jax ------------------------------------------

REFUSED_BY_BOTH = [
  ("", r"line 1: unexpected end of file, expected the 'NFG' header"),
  ('EFG 2 R "x" { "a" "b" } { 2 2 }', r"expected the 'NFG' header, found 'EFG'"),
  ('NFG 2 R "x" { "a" "b" } { 2 2 }', r"expected the version '1'"),
  ('NFG 1 Q "x" { "a" "b" } { 2 2 }', r"expected 'R' or 'D' after the version, found 'Q'"),
  ('NFG 1 R"x" { "a" "b" } { 2 2 }', r"expected 'R' or 'D'.*found 'R\"x\"'"),
  ('NFG 1 R x { "a" "b" } { 2 2 }', r"expected the game title"),
  ('NFG 1 R "x { "a" "b" } { 2 2 }', r"expected '\{' opening the player names"),
  ('NFG 1 R "x" { "a" "b" { 2 2 }', r"a player name .* or '\}' closing"),
  (
    'NFG 1 R "x" { "a" "b" } { 2 2 }\n1 2 3 4 5 6 7',
    r"line 2: unexpected end of file, expected the payoff of player 2 at pure profile 4 of 4",
  ),
  ('NFG 1 R "x" { "a" "b" } { 2 2 }\n1 2 3 4 5 6 7 8 9', r"line 2: found '9' after the 8"),
  (
    'NFG 1 R "x" { "a" "b" } { 2 2 }\n1 2 3 four 5 6 7 8',
    r"line 2: expected the payoff of player 2 at pure profile 2 of 4, found 'four'",
  ),
  (HEAD + "{ 2 x }\n1 2", r"the strategy count of player 2, found 'x'"),
  (HEAD + "{ 2 .5 }\n1 2", r"strategy count of player 2 is '.5', not an integer"),
  (HEAD + "{ 2 3000000000 }\n1 2", r"strategy count of player 2 is '3000000000'"),
  (HEAD + "{ 2 2 }\n1 2 3 nan 5 6 7 8", r"pure profile 2 of 4, found 'nan'"),
  (HEAD + "{ 2 2 }\n1, 2 3 4 5 6 7 8", r"found ','"),
  (HEAD + "{ 2 2 }\n1 2 +3 4 5 6 7 8", r"player 1 at pure profile 2 of 4 is '\+3', which is not a"),
  (HEAD + "{ 2 2 }\n1 2 3 4 1e+3 6 7 8", r"'1e\+3', which is not a number Gambit reads"),
  (HEAD + "{ 2 2 }\n1 2 3 4 5 6 7 1/0", r"'1/0', which is not a number Gambit reads"),
  (HEAD + "{ 2 2 }\n1 2 3 4 5 6 7 1/", r"'1/', which is not a number"),
  (
    HEAD + "{ 2 2 }\n1 2 3 4\n5 6 7 1ex",
    r"line 3: the payoff of player 2 at pure profile 4 of 4 is '1e', a number with an "
    r"exponent 'e' but no sign or digit after it",
  ),
  (HEAD + '{ 2 2 }\n1 2 3 4 5 6 7 8 "x"', r"found the string 'x' after the 8"),
  (HEAD + "{ 2 2 }\n1 2 3 4 5 6 7 8 {", r"found '\{' after the 8"),
  (HEAD + '{ 2 2 } "unclosed\n1 2 3 4', r"line 1: a quoted string is not closed"),
  (
    HEAD + '{ 2 2 } "c" "d" 1 2 3 4 5 6 7 8',
    r"expected '\{' opening the outcome list, or the "
    r"first payoff, found the string 'd'",
  ),
  (
    HEAD + '{ { "1" "2" } { "1" } }\n{ { "" 1 2 } }\n1 3',
    r"line 3: the outcome index of pure profile 2 of 2 is '3', while the file defines "
    r"outcomes 1 to 1 \(0 is the null outcome\)",
  ),
  (HEAD + '{ 2 1 } { { "" 1 2 } } 1 -1', r"index of pure profile 2 of 2 is '-1'"),
  (HEAD + '{ 2 1 } { { "" 1 2 } } 1 .', r"index of pure profile 2 of 2 is '.'"),
  (
    HEAD + '{ 2 1 } { { "" 1 2 } } 1',
    r"unexpected end of file, expected the outcome index of "
    r"pure profile 2",
  ),
  (HEAD + '{ 2 1 } { { "" 1 2 } } 1 1 1', r"found '1' after the 2 entries"),
  (HEAD + '{ 2 1 } { { "" 1 2 3 } } 1 1', r"'\}' closing outcome 1 after its 2 payoffs"),
  (HEAD + '{ 2 1 } { { "" 1 } } 1 1', r"outcome 1's payoff to player 2, found '\}'"),
  (HEAD + "{ 2 1 } { { 1 2 } } 1 1", r"the name of outcome 1 \(a quoted string\), found '1'"),
  (HEAD + '{ 2 1 } { { "" 1,, 2 } } 1 1', r"outcome 1's payoff to player 2, found ','"),
  (HEAD + '{ 2 1 } { { "" 1 +2 } } 1 1', r"outcome 1's payoff to player 2 is '\+2'"),
  (HEAD + '{ 2 1 } { { "" 1 2 } 1 1', r"'\{' opening an outcome or '\}' closing the outcome list"),
  (HEAD + '{ { "1" "2" } { "1" } { "1" } }', r"closing the strategy lists of the 2 players"),
  (HEAD + '{ { "1" "2" } }', r"opening the strategy names of player 2, found '\}'"),
  (HEAD + "{ 2 0 }\n{ }", r"player 2 has no strategies \(count 0\)"),
  (HEAD + "{ 2 -3 }\n{ }", r"player 2 has no strategies \(count -3\)"),
  (HEAD + '{ { "1" } { } }\n{ } ', r"player 2 has no strategies"),
  (HEAD + "{ 2 2 }\n1 2 3 4 5 6 7 4/5/6", r"found '/6' after the 8 entries"),
  (HEAD + "{ 2 2 }\n1 2 3 4 5 6 .5e3", r"expected .*found 'e3'"),
]


@pytest.mark.parametrize("text,match", REFUSED_BY_BOTH)
def test_files_gambit_refuses_are_refused_with_file_and_line(tmp_path, text, match):
  path = tmp_path / "bad.nfg"
  path.write_text(text)
  with pytest.raises(ValueError):
    pygambit.read_nfg(str(path))
  with pytest.raises(ValueError, match=match) as e:
    dj.read_nfg(path)
  assert str(e.value).startswith(f"{path}: malformed .nfg at line ")


BEYOND_DICE_JAX = [  # pygambit reads these; dice_jax's model or limits cannot hold them
  ('NFG 1 R "x" { "a" } { 2 }\n1 2', r"the file names 1 player; dice_jax games have at least 2"),
  ('NFG 1 R "x" { } { }\n{ } 0', r"the file names 0 players"),
  (
    'NFG 1 R "x" { ' + '"p" ' * 65 + "} { " + "1 " * 65 + "}\n" + "0 " * 65,
    r"line 1: the file names 65 players; .* at most 64 axes",
  ),
  (
    HEAD + "{ 1 1 }\n1e400 0",
    r"the payoff of player 1 at pure profile 1 of 1 is '1e400', "
    r"outside the range of float64",
  ),
  (HEAD + '{ 1 1 }\n{ { "" 0 -1e309 } } 1', r"outcome 1's payoff to player 2 is '-1e309', outside"),
  (
    HEAD + "{ 1 1 }\n0 " + "1" * 4400 + "/3",
    r"player 2 at pure profile 1 of 1 is '1{37}\.\.\.', a rational with more than 4300 ",
  ),
]


@pytest.mark.parametrize("text,match", BEYOND_DICE_JAX)
def test_what_dice_jax_cannot_hold_is_refused_with_file_and_line(tmp_path, text, match):
  path = tmp_path / "big.nfg"
  path.write_text(text)
  pygambit.read_nfg(str(path))  # the referee reads it
  with pytest.raises(ValueError, match=match) as e:
    dj.read_nfg(path)
  assert str(e.value).startswith(f"{path}: malformed .nfg at line ")


def test_payoffs_must_fit_the_dtype():
  text = HEAD + "{ 1 1 }\n1e38 3.5e38"
  assert parse_nfg(text, dtype=jnp.float64).payoffs[1].item() == 3.5e38
  with pytest.raises(
    ValueError,
    match=r"player 2 at pure profile 1 of 1 is '3.5e38', outside "
    r"the range of float32",
  ):
    parse_nfg(text, dtype=jnp.float32)
  # just below the float32 overflow threshold rounds to the largest float32, as casting does
  edge = float(jnp.finfo(jnp.float32).max)
  text = HEAD + f"{{ 1 1 }} {edge * (1 + 2**-25):.17g} 0".replace("e+", "e")
  assert parse_nfg(text, dtype=jnp.float32).payoffs[0].item() == edge
  with pytest.raises(ValueError, match=r"outside the range of float32"):
    parse_nfg(
      HEAD + f"{{ 1 1 }} {edge * (1 + 2**-24):.17g} 0".replace("e+", "e"), dtype=jnp.float32
    )
  with pytest.raises(ValueError, match=r"dtype must be a floating-point dtype; got int32"):
    parse_nfg(text, dtype=jnp.int32)


def test_non_utf8_file_names_file_and_line(tmp_path):
  path = tmp_path / "latin1.nfg"
  path.write_bytes('NFG 1 R "x" { "a" "b" }\n{ { "caf\xe9" } { "1" } } 1 2'.encode("latin-1"))
  with pytest.raises(
    ValueError,
    match=rf"^{path}: malformed .nfg at line 2: byte 0xe9 at "
    r"offset 32 is not UTF-8 text\.$",
  ):
    dj.read_nfg(path)


def test_missing_file():
  with pytest.raises(ValueError, match=r"path '/no/such.nfg' is not a file"):
    dj.read_nfg("/no/such.nfg")


@pytest.mark.skipif(not os.path.isfile("/proc/self/mem"), reason="needs Linux /proc")
def test_unreadable_file_is_a_value_error():
  with pytest.raises(ValueError, match=r"^/proc/self/mem: cannot be read: "):
    dj.read_nfg("/proc/self/mem")  # a regular file whose read fails (EIO)


# -- hostile input: refused fast (each case in a subprocess under a timeout) --------------------

HOSTILE = {
  # Issue #12: built a string per strategy and hung with memory growing.
  "header_1e12_strategies": HEAD + "{ 1000000000000 2 }\n",
  # Issue #12: Fraction('1e999999999') builds a 10^9-digit integer.
  "exponent_1e999999999": HEAD + "{ 1 1 }\n1e999999999 0",
  "outcome_exponent_1e999999999": HEAD + '{ { "1" } { "1" } } { { "" 1e999999999 0 } } 1',
  "payoff_1e400_overflow": HEAD + "{ 2 1 }\n1 1e400 0 0",
  "counts_50000_100000": HEAD + "{ 50000 100000 }\n1 2 3 4",
  "names_then_huge_count": HEAD + "{ 2147483647 2147483647 }\n" + "0 " * 1000,
  "one_mb_of_dots_one_short": HEAD + "{ 500 1000 }\n" + "." * 999_999,
  "one_mb_of_dots_one_extra": HEAD + "{ 500 998 }\n" + "." * 998_001,  # '.' is Gambit's 0
  "one_mb_of_numbers_bad_last": HEAD + "{ 500 500 }\n" + "1 " * 499_999 + "x",
  "one_mb_outcomes_bad_index": (
    HEAD + "{ 100 1000 } {\n" + '{ "" 1 2 }\n' * 40_000 + "}\n" + "1 " * 99_999 + "40001"
  ),
  "one_mb_strategy_names_bad_end": HEAD + "{ { " + '"" ' * 330_000 + '} { "x" } } 1',
  "one_mb_unclosed_string": HEAD + '{ 2 2 } "' + '\\"' * 500_000,
  "non_utf8": b'NFG 1 R "x" { "a" "b" } { 1 1 } 1 \xff',
}


@pytest.fixture(scope="module")
def hostile_results(tmp_path_factory):
  """``{name: (error, message, CPU seconds)}``: each hostile file read by ``dj.read_nfg`` in a
  fresh process, a case without an answer within 10 s recorded as hung
  (:func:`tests.fuzz.budget.read_in_fresh_process`)."""
  folder = tmp_path_factory.mktemp("hostile")
  paths = {}
  for name, content in HOSTILE.items():
    paths[name] = str(folder / f"{name}.nfg")
    pathlib.Path(paths[name]).write_bytes(
      content if isinstance(content, bytes) else content.encode()
    )
  results = read_in_fresh_process("dice_jax:read_nfg", list(paths.values()))
  return {name: results[path] for name, path in paths.items()}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_file_is_refused_without_runaway_work(hostile_results, name):
  error, message, seconds = hostile_results[name]
  assert error == "ValueError", (error, message)
  assert message.startswith(f"{pathlib.Path(message.split(':')[0])}") and "/" + name in message
  assert "line" in message
  # A guard against super-linear work (the hazards this list holds took minutes or never ended
  # before the limits), not a speed target: 0.5 s here for the worst 1 MB case, 1.0 s on a
  # loaded CI machine, so the bound leaves room for a slow machine.
  assert seconds < 5.0, f"{name} took {seconds:.2f} s to refuse"


# -- dice_jax's files: read back by pygambit, and round trips ----------------------------------

LABELS = dict(
  title='a "quoted" title',
  players=["Row \\ er", 'Col "2"'],
  strategies=[["up", "down", "mid"], ["left", "right"]],
  comment="from dice_jax",
)


@pytest.mark.parametrize("version", ["payoff", "outcome"])
@pytest.mark.parametrize("labels", [{}, LABELS], ids=["default_labels", "own_labels"])
def test_dice_jax_to_pygambit_to_dice_jax(version, labels):
  key = jax.random.PRNGKey(7)
  game = rg.uniform(key, (3, 2), dtype=jnp.float64)
  payoffs = [np.asarray(u).copy() for u in game.payoffs]
  payoffs[0][1, 1], payoffs[1][1, 1] = 0.0, 0.0  # a null outcome in the outcome version
  payoffs[0][2, 0], payoffs[1][2, 0] = 1e16, -1e-300  # exponents Gambit must read
  payoffs[0][0, 1], payoffs[1][0, 1] = payoffs[0][0, 0], payoffs[1][0, 0]  # a shared outcome
  game = dj.NormalFormGame.from_arrays(payoffs, dtype=jnp.float64)
  text = to_nfg(game, version=version, **labels)
  assert parse_version(text) == version
  g = pygambit.read_nfg(io.StringIO(text))
  theirs = gambit_view(g)
  for u, v in zip(theirs["payoffs"], payoffs):
    np.testing.assert_array_equal(u, v)  # bit for bit: repr round-trips
  if labels:
    assert theirs["title"] == LABELS["title"] and theirs["comment"] == LABELS["comment"]
    assert list(theirs["players"]) == LABELS["players"]
    assert [list(s) for s in theirs["strategies"]] == LABELS["strategies"]
  assert_same_game(dice_view(text), theirs)
  back = g.to_nfg()  # pygambit's own writing of it (outcome version), read by dice_jax
  for u, v in zip(assert_read_as_gambit_reads(back)["payoffs"], payoffs):
    np.testing.assert_array_equal(u, v)
  _, info = parse_nfg(text, with_info=True)  # and dice_jax writes it again, labels kept
  again = to_nfg(game, version=version, **dataclasses.asdict(info))
  assert_same_game(dice_view(again), theirs)


def test_three_player_game_round_trip_both_versions():
  game = rg.uniform(jax.random.PRNGKey(3), (2, 3, 2), dtype=jnp.float64)
  for version in ("payoff", "outcome"):
    text = to_nfg(game, version=version)
    for u, v in zip(gambit_payoffs(pygambit.read_nfg(io.StringIO(text))), game.payoffs):
      np.testing.assert_array_equal(u, np.asarray(v))
    for u, v in zip(parse_nfg(text, dtype=jnp.float64).payoffs, game.payoffs):
      np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


@pytest.mark.parametrize(
  "kwargs,match",
  [
    (dict(players=["a", "a"]), r"players\[1\] is 'a': labels must be unique within their list"),
    (dict(players=["a", ""]), r"players\[1\] is ''"),
    (dict(players=["a"]), r"players must hold 2 labels; got 1"),
    (dict(strategies=[["x", "y"], ["x", "x"]]), r"strategies\[1\]\[1\] is 'x'"),
    (dict(strategies=[["x", "y"]]), r"strategies must hold one list per player \(2\); got 1"),
    (dict(players=["a\\", "b"]), r"players\[0\] 'a\\\\' cannot be written in Gambit's quoting"),
    (dict(title='a\\"b'), r"title 'a\\\\\"b' cannot be written"),
    (dict(players=[1, 2]), r"players\[0\] must be a str; got int"),
    (dict(version="tree"), r"version must be 'payoff' or 'outcome'; got 'tree'"),
    (dict(title="jeu à deux"), r"title 'jeu à deux' is not ASCII"),
    (dict(players=["2", "1"]), r"players\[0\] is '2', the number of a later entry"),
    (dict(strategies=[["x", "y"], ["2", "1"]]), r"strategies\[1\]\[0\] is '2', the number of"),
    (dict(players=["Ève", "b"]), r"players\[0\] is 'Ève': labels must be .* printable ASCII"),
  ],
)
def test_writer_refuses_labels_gambit_would_change(kwargs, match):
  with pytest.raises((ValueError, TypeError), match=match):
    to_nfg(dj.games.matching_pennies(), **kwargs)


def test_batched_game_cannot_be_written(tmp_path):
  g = rg.uniform(jax.random.PRNGKey(0), (2, 2), batch_shape=(3,))
  with pytest.raises(ValueError, match=r"game must be a single game"):
    dj.write_nfg(g, tmp_path / "x.nfg")


def test_write_nfg_file_is_read_by_pygambit(tmp_path):
  game = rg.uniform(jax.random.PRNGKey(1), (2, 3), dtype=jnp.float64)
  path = tmp_path / "ours.nfg"
  dj.write_nfg(game, path, title="file", version="outcome")
  for u, v in zip(gambit_payoffs(pygambit.read_nfg(str(path))), game.payoffs):
    np.testing.assert_array_equal(u, np.asarray(v))


# -- the command line prints the file's labels -------------------------------------------------


def test_cli_solve_prints_player_and_strategy_names_from_the_file(tmp_path, capsys):
  from dice_jax.cli import main  # noqa: PLC0415 - the command line, run in this process

  path = tmp_path / "bos.nfg"
  path.write_text(textwrap.dedent(VARIANTS["payoff_names_comment"]))
  assert main(["solve", str(path), "-t", "1"]) == 0
  lines = capsys.readouterr().out.splitlines()
  assert lines[0] == "A" and lines[1].split()[0] == "U" and lines[2].split()[0] == "D"
  assert lines[3] == "B" and [ln.split()[0] for ln in lines[4:7]] == ["L", "M", "R"]
