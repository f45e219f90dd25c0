"""Markov game files under mutation: every file is a game or a ValueError/TypeError that names
the file, read within the documented limits; no input of <= 1 MB takes a second to reject."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dice_jax.markov.io import game_from_dict, read_game
from tests.fuzz.budget import STATS, call, examples, read_in_fresh_process, temp_file, time_limit
from tests.fuzz.markov_files import mutated
from tests.fuzz.values import json_values


@settings(max_examples=examples(60, 2000))
@given(data=mutated())
def test_mutated_game_files(data):
  with temp_file(json.dumps(data).encode()) as path, time_limit(10, "read_game"):
    result, err = call(read_game, path)
  if err is not None:
    assert path in str(err), f"the message does not name the file: {err}"
  else:
    game, convention = result
    STATS["mutated Markov files accepted"] += 1
    assert convention in ("own", "zero_sum", "logit")
    for leaf in (
      game.transitions,
      game.gamma,
      game.temperature,
      game.initial,
      *game.rewards,
      *game.log_reference,
    ):
      assert np.all(np.isfinite(np.asarray(leaf)))


@settings(max_examples=examples(40, 1000))
@given(data=json_values)
def test_any_json_value(data):
  with time_limit(10, "game_from_dict"):
    call(game_from_dict, data)


@settings(max_examples=examples(30, 1000))
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes(raw):
  with temp_file(raw) as path, time_limit(10, "read_game"):
    _, err = call(read_game, path)
  assert err is not None and path in str(err)


PATHOLOGICAL = {
  "deep nesting": b"[" * 1_000_000,
  "deep objects": b'{"a":' * 200_000,
  "unterminated escapes": b'"' + b'\\"' * 499_999,
  "many quotes": b'"a",' * 250_000,
  "huge exponent": b'{"gamma": 1e999999999' + b"9" * 999_000 + b"}",
  "long integer": b'{"gamma": ' + b"9" * 999_000 + b"}",
  "many numbers": b'{"gamma": [' + b"1.5," * 249_000 + b"1]}",
  "wide transitions": b'{"gamma": 0.5, "transitions": [' + b"[1.0]," * 160_000 + b"[1.0]]}",
}


def test_pathological_megabyte_files_are_rejected_without_runaway_work(tmp_path):
  paths = {}
  for name, raw in PATHOLOGICAL.items():
    assert len(raw) <= 1_000_010, name
    paths[name] = str(tmp_path / (name.replace(" ", "_") + ".json"))
    with open(paths[name], "wb") as f:
      f.write(raw)
  results = read_in_fresh_process("dice_jax.markov.io:read_game", list(paths.values()))
  for name, path in paths.items():
    error, message, seconds = results[path]
    assert error in ("ValueError", "TypeError") and path in message, (name, error, message)
    # A guard against super-linear work (a 10^9-digit integer, a quadratic scan: minutes), not
    # a speed target; the measured worst case goes to the fuzz statistics.
    assert seconds < 3.0, f"{name}: {seconds:.2f} s"
    STATS["max CPU seconds to reject a 1 MB Markov file"] = max(
      STATS["max CPU seconds to reject a 1 MB Markov file"], round(seconds, 3)
    )
