"""The Python API under malformed arguments: a result or a ValueError/TypeError naming the
argument, never another exception type, never a hang, never NaN in a returned profile."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import dice_jax as dj
from tests.fuzz.budget import STATS, call, examples, time_limit
from tests.fuzz.values import junk

ARGUMENTS = ("temperature", "tol", "max_steps", "reference", "init")


def _valid_solution(sol):
  for p in sol.probabilities:
    assert np.all(np.isfinite(np.asarray(p))), "NaN/inf in a returned profile"
  STATS["API solves that ran"] += 1


@pytest.mark.parametrize("argument", ARGUMENTS)
@settings(max_examples=examples(15, 500))
@given(value=junk)
def test_solve_argument(argument, value):
  game = dj.games.matching_pennies()
  kwargs = {"temperature": 0.5, argument: value}
  with time_limit(60, f"solve({argument}=...)"):
    sol, err = call(
      dj.solve, game, kwargs.pop("temperature"), max_steps=kwargs.pop("max_steps", 200), **kwargs
    )
  if err is not None:
    assert argument.split("_")[0] in str(err), f"message does not name {argument}: {err}"
  else:
    _valid_solution(sol)


@settings(max_examples=examples(15, 500))
@given(payoffs=junk, other=junk)
def test_normal_form_game_from_arrays(payoffs, other):
  with time_limit(10, "NormalFormGame.from_arrays"):
    game, err = call(dj.NormalFormGame.from_arrays, payoffs, other)
  if err is not None:
    assert "payoffs" in str(err), str(err)
  else:
    for u in game.payoffs:
      assert np.all(np.isfinite(np.asarray(u)))


MARKOV_ARGUMENTS = ("transitions", "rewards", "gamma", "temperature", "initial", "reference")


@pytest.mark.parametrize("argument", MARKOV_ARGUMENTS)
@settings(max_examples=examples(20, 400))
@given(value=junk)
def test_markov_game_from_arrays(argument, value):
  args = dict(
    transitions=np.full((2, 2, 3, 2), 0.5),
    rewards=[np.zeros((2, 2, 3))] * 2,
    gamma=0.9,
    temperature=1.0,
    initial=None,
    reference=None,
  )
  args[argument] = value
  with time_limit(10, f"MarkovGame.from_arrays({argument}=...)"):
    game, err = call(
      dj.markov.MarkovGame.from_arrays,
      args.pop("transitions"),
      args.pop("rewards"),
      args.pop("gamma"),
      **args,
    )
  if err is not None:
    assert argument in str(err) or argument.rstrip("s") in str(err), str(err)
  else:
    STATS["Markov games built from fuzzed input"] += 1


@pytest.mark.parametrize("argument", ("init", "tol", "max_steps", "convention", "method"))
@settings(max_examples=examples(6, 300))
@given(value=junk)
def test_solve_markov_argument(argument, value):
  game = dj.markov.MarkovGame.from_arrays(
    np.full((2, 2, 3, 2), 0.5), [np.eye(2, 3)[None].repeat(2, 0)] * 2, 0.5, temperature=1.0
  )
  kwargs = {"max_steps": 200, argument: value}
  with time_limit(60, f"solve_markov({argument}=...)"):
    sol, err = call(dj.markov.solve_markov, game, **kwargs)
  if err is None:
    _valid_solution(sol)
