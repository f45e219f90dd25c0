"""Gambit .nfg files: pygambit-written files read back exactly; ours read by pygambit."""
import jax
import numpy as np
import pygambit
import pytest

import dice_jax as dj
from dice_jax.games import random as rg
from dice_jax.testing import to_gambit


def gambit_arrays(g):
  return [np.asarray(a, dtype=float) for a in g.to_arrays()]


@pytest.mark.parametrize("shape", [(2, 2), (3, 4), (2, 3, 4), (2, 2, 3, 2)])
def test_files_written_by_pygambit_read_back_identically(tmp_path, shape):
  rng = np.random.default_rng(len(shape))
  arrays = [np.round(rng.uniform(-5, 5, size=shape), 3) for _ in shape]
  arrays[0].flat[0] = 0.1  # a decimal that is not a binary fraction
  path = tmp_path / "game.nfg"
  path.write_text(pygambit.Game.from_arrays(*arrays, title="from gambit").to_nfg())
  game, info = dj.read_nfg(path, with_info=True)
  assert info.title == "from gambit" and len(info.players) == len(shape)
  for ours, theirs in zip(game.payoffs, arrays):
    np.testing.assert_array_equal(np.asarray(ours), theirs)


@pytest.mark.parametrize("shape", [(2, 2), (4, 3), (2, 3, 2)])
def test_our_files_are_read_by_pygambit(tmp_path, shape):
  game = rg.uniform(jax.random.PRNGKey(len(shape)), shape)
  path = tmp_path / "ours.nfg"
  dj.write_nfg(game, path, title='a "quoted" title')
  g = pygambit.read_nfg(str(path))
  assert g.title == 'a "quoted" title'
  for theirs, ours in zip(gambit_arrays(g), game.payoffs):
    np.testing.assert_array_equal(theirs, np.asarray(ours))  # exact: repr round-trips
  np.testing.assert_array_equal(gambit_arrays(to_gambit(game))[0], np.asarray(game.payoffs[0]))


OUTCOME_VERSION = '''NFG 1 R "Two person 2 x 2 game with unique mixed equilibrium"
{ "Player 1" "Player 2" }

{ { "1" "2" }
{ "left" "right" }
}
"a comment"

{
{ "" 2, 0 }
{ "" 0, 1 }
{ "x" 0 1/2 }
{ "" 1.5e0, 0 }
}
1 2 3 4
'''


def test_outcome_version(tmp_path):
  path = tmp_path / "outcome.nfg"
  path.write_text(OUTCOME_VERSION)
  game, info = dj.read_nfg(path, with_info=True)
  assert info.strategies[1] == ("left", "right") and info.comment == "a comment"
  # profiles in order (1,1) (2,1) (1,2) (2,2): player 1 varies fastest
  np.testing.assert_array_equal(game.payoffs[0], [[2, 0], [0, 1.5]])
  np.testing.assert_array_equal(game.payoffs[1], [[0, 0.5], [1, 0]])
  g = pygambit.read_nfg(str(path))
  for theirs, ours in zip(gambit_arrays(g), game.payoffs):
    np.testing.assert_array_equal(theirs, np.asarray(ours))


def test_outcome_zero_is_the_null_outcome():
  text = OUTCOME_VERSION.replace("1 2 3 4", "1 0 3 0")
  game = dj.games.parse_nfg(text)
  np.testing.assert_array_equal(game.payoffs[0], [[2, 0], [0, 0]])


@pytest.mark.parametrize("text,match", [
    ("", r"unexpected end of file, expected the 'NFG' header"),
    ('EFG 2 R "x" { "a" "b" } { 2 2 }', r"expected the 'NFG' header, found 'EFG'"),
    ('NFG 1 R "x" { "a" } { 2 }\n1 2', r"at least 2 players"),
    ('NFG 1 R "x" { "a" "b" } { 2 2 }\n1 2 3 4 5 6 7', r"end of file, expected .*payoff of player 2 at pure profile 4 of 4"),
    ('NFG 1 R "x" { "a" "b" } { 2 2 }\n1 2 3 4 5 6 7 8 9', r"unexpected '9' after the 4 pure profiles"),
    ('NFG 1 R "x" { "a" "b" } { 2 2 }\n1 2 3 four 5 6 7 8', r"line 2: expected a number for payoff of player 2 at pure profile 2"),
    ('NFG 1 R "x" { "a" "b" } { 2 x }\n1 2', r"strategy count of player 2"),
    ('NFG 1 R "x" { "a" "b" } { { "1" "2" } { "1" } }\n{ { "" 1 2 } }\n1 3', r"outcome index 3 for pure profile 2, but only 1 outcomes"),
    ('NFG 1 R "x" { "a" "b" } { 2 2 }\n1 2 3 nan 5 6 7 8', r"expected a number for payoff of player 2 at pure profile 2 of 4, found 'nan'"),
])
def test_malformed_files_raise_naming_the_file(tmp_path, text, match):
  path = tmp_path / "bad.nfg"
  path.write_text(text)
  with pytest.raises(ValueError, match=match) as e:
    dj.read_nfg(path)
  assert str(e.value).startswith(f"{path}: malformed .nfg")


def test_missing_file():
  with pytest.raises(ValueError, match=r"path '/no/such.nfg' is not a file"):
    dj.read_nfg("/no/such.nfg")


def test_batched_game_cannot_be_written(tmp_path):
  g = rg.uniform(jax.random.PRNGKey(0), (2, 2), batch_shape=(3,))
  with pytest.raises(ValueError, match=r"game must be a single game"):
    dj.write_nfg(g, tmp_path / "x.nfg")
