"""Bad input raises ValueError naming the argument, before any compilation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dice_jax as dj
from dice_jax.games import random as rg
from dice_jax.solvers import _solve as solve_module


@pytest.fixture
def no_compilation():
  before = solve_module._solve_jit._cache_size()
  yield
  assert solve_module._solve_jit._cache_size() == before, "work started before the error"


def test_inconsistent_payoff_shapes(no_compilation):
  with pytest.raises(ValueError, match=r"payoffs\[1\] has shape \(3, 2\)"):
    dj.NormalFormGame.from_arrays(np.zeros((2, 3)), np.zeros((3, 2)))


def test_too_few_axes(no_compilation):
  with pytest.raises(ValueError, match=r"payoffs\[0\] has 1 axes"):
    dj.NormalFormGame.from_arrays(np.zeros(3), np.zeros(3))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_payoffs(bad, no_compilation):
  u = np.zeros((2, 2))
  u[1, 0] = bad
  with pytest.raises(ValueError, match=r"payoffs\[1\] must be finite.*index \(1, 0\)"):
    dj.NormalFormGame.from_arrays(np.ones((2, 2)), u)


@pytest.mark.parametrize(
  "tau,match",
  [
    (0.0, r"temperature must be > 0"),
    (-1.0, r"temperature must be > 0"),
    (np.nan, r"temperature must be finite"),
    ([0.5, 0.5, 0.5], r"temperature has shape \(3,\).*2 players"),
    ([0.5, -0.1], r"temperature must be > 0.*index \(1,\)"),
  ],
)
def test_bad_temperatures(tau, match, no_compilation):
  with pytest.raises(ValueError, match=match):
    dj.solve(dj.games.matching_pennies(), tau)


@pytest.mark.parametrize(
  "ref,match",
  [
    ((np.array([0.5, 0.6]), np.array([0.5, 0.5])), r"reference\[0\] must be a probability"),
    ((np.array([1.0, 0.0]), np.array([0.5, 0.5])), r"reference\[0\] must be > 0"),
    ((np.array([0.5, 0.5]),), r"reference must hold one distribution per player \(2\)"),
    (
      (np.array([0.5, 0.5]), np.array([0.2, 0.3, 0.5])),
      r"reference\[1\] must be a distribution over 2 actions.*got shape \(3,\)",
    ),
  ],
)
def test_reference_not_a_distribution(ref, match, no_compilation):
  with pytest.raises(ValueError, match=match):
    dj.solve(dj.games.matching_pennies(), 0.5, reference=ref)


def test_mismatched_batch_shapes(no_compilation):
  g = rg.uniform(jax.random.PRNGKey(0), (2, 2), batch_shape=(3,))
  with pytest.raises(ValueError, match=r"temperature has shape \(4, 2\).*batch shape \(3,\)"):
    dj.solve(g, jnp.ones((4, 2)))
  with pytest.raises(ValueError, match=r"init\[0\] has shape \(5, 2\)"):
    dj.solve(g, 0.5, init=(jnp.full((5, 2), 0.5), jnp.full((3, 2), 0.5)))


@pytest.mark.parametrize(
  "kwargs,match",
  [
    (dict(method="newton"), r"method must be one of"),
    (dict(tol=-1.0), r"tol must be a finite number > 0"),
    (dict(max_steps=0), r"max_steps must be an integer in \[1, 2147483647\]"),
  ],
)
def test_bad_options(kwargs, match, no_compilation):
  with pytest.raises(ValueError, match=match):
    dj.solve(dj.games.matching_pennies(), 0.5, **kwargs)


def test_not_a_game(no_compilation):
  with pytest.raises(ValueError, match=r"game must implement the Game protocol"):
    dj.solve(np.zeros((2, 2)), 0.5)


# --- Issue #12: types before values, shapes before broadcasting, the argument named. ----------


@pytest.mark.parametrize(
  "kwargs,error,match",
  [
    (dict(tol="1e-8"), TypeError, r"^tol must be a real number; got str '1e-8'"),
    (
      dict(tol=np.array([1e-8, 1e-8])),
      TypeError,
      r"^tol must be a scalar; got an array of shape \(2,\)",
    ),
    (dict(tol=1e-8j), TypeError, r"^tol must be real"),
    (dict(tol=True), TypeError, r"^tol must be a real number; got bool"),
    (
      dict(tol=10**400),
      ValueError,
      r"^tol must be a finite number > 0; got an integer of 1329 bits",
    ),
    (dict(max_steps=float("nan")), ValueError, r"^max_steps must be an integer; got nan"),
    (dict(max_steps=2**31), ValueError, r"^max_steps must be an integer in \[1, 2147483647\]"),
    (dict(max_steps="100"), TypeError, r"^max_steps must be a real number"),
    (dict(reference=0.5), TypeError, r"^reference must hold one distribution per player"),
    (dict(reference="uniform"), TypeError, r"^reference must hold one distribution per player"),
    (dict(init=[None, None]), TypeError, r"^init\[0\] must be real numbers.*got None"),
    (dict(init=[["a", "b"], [0.5, 0.5]]), TypeError, r"^init\[0\]\[0\] must be a number; got str"),
  ],
)
def test_options_of_the_wrong_kind_are_named(kwargs, error, match, no_compilation):
  with pytest.raises(error, match=match):
    dj.solve(dj.games.matching_pennies(), 0.5, **kwargs)


@pytest.mark.parametrize(
  "tau,error,match",
  [
    (None, TypeError, r"^temperature must be real numbers.*got None"),
    ("0.5", TypeError, r"^temperature must be real numbers.*got str"),
    (0.5 + 0j, TypeError, r"^temperature must be real; got complex"),
    ([[0.5], [0.5, 0.5]], ValueError, r"^temperature must be a rectangular array"),
  ],
)
def test_temperature_of_the_wrong_kind(tau, error, match, no_compilation):
  with pytest.raises(error, match=match):
    dj.solve(dj.games.matching_pennies(), tau)


def test_length_one_reference_is_not_broadcast_over_three_actions(no_compilation):
  """Before: ``([1.0], [1.0])`` passed the sum-to-1 check and became uniform over 3 actions."""
  game = dj.games.rock_paper_scissors()
  with pytest.raises(ValueError, match=r"^reference\[0\] must be a distribution over 3 actions"):
    dj.solve(game, 0.5, reference=([1.0], [1.0]))
  with pytest.raises(ValueError, match=r"^init\[1\] must be a distribution over 3 actions"):
    dj.solve(game, 0.5, init=(np.full(3, 1 / 3), [1.0]))


def test_complex_payoffs_are_rejected(no_compilation):
  """Before: the imaginary part was dropped with a warning and the game reported converged."""
  a = np.array([[1 + 1j, 0], [0, 1]])
  with pytest.raises(TypeError, match=r"^payoffs\[0\] must be real; got complex"):
    dj.NormalFormGame.from_arrays(a, -a)


@pytest.mark.parametrize(
  "payoff,error,match",
  [
    ("1", TypeError, r"payoffs\[0\].*must be a number; got str"),
    (None, TypeError, r"payoffs\[0\].*must be a number; got None"),
    (10**400, TypeError, r"payoffs\[0\].*too large for float64"),
  ],
)
def test_non_numeric_payoff_entries(payoff, error, match):
  with pytest.raises(error, match=match):
    dj.NormalFormGame.from_arrays([[payoff, 0], [0, 1]], [[0, 0], [0, 0]])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_directly_built_game_with_nonfinite_payoffs_is_rejected_by_solve(bad, no_compilation):
  """Before: ``NormalFormGame(payoffs=...)`` skipped from_arrays' checks and ended ``nonfinite``."""
  u = jnp.array([[1.0, 0.0], [0.0, bad]])
  game = dj.NormalFormGame(payoffs=(u, -u))
  with pytest.raises(ValueError, match=r"^game\.payoffs\[0\] must be finite.*index \(1, 1\)"):
    dj.solve(game, 0.5)


def test_astype_that_overflows_is_rejected(no_compilation):
  """Before: ``from_arrays(1e300).astype(float32)`` held inf and the solve ended ``nonfinite``."""
  game = dj.NormalFormGame.from_arrays(
    np.array([[1e300, 0], [0, 1]]), np.zeros((2, 2)), dtype=jnp.float64
  )
  with pytest.raises(
    ValueError, match=r"^payoffs\[0\] holds 1e\+300 .* beyond the largest float32"
  ):
    game.astype(jnp.float32)
  with pytest.raises(ValueError, match=r"^payoffs\[0\] holds 1e\+300"):
    dj.NormalFormGame.from_arrays(
      np.array([[1e300, 0], [0, 1]]), np.zeros((2, 2)), dtype=jnp.float32
    )
  cast = dj.NormalFormGame(payoffs=tuple(u.astype(jnp.float32) for u in game.payoffs))
  with pytest.raises(ValueError, match=r"^game\.payoffs\[0\] must be finite"):
    dj.solve(cast, 0.5)


def test_reference_entry_that_is_zero_in_float32_is_rejected(no_compilation):
  """1e-50 passes a float64 check but is 0 in float32, where its log is -inf."""
  game = dj.games.matching_pennies(dtype=jnp.float32)
  ref = (np.array([1e-50, 1.0]), np.array([0.5, 0.5]))
  with pytest.raises(
    ValueError, match=r"^reference\[0\] holds 1e-50 at index \(0,\), which is 0 in float32"
  ):
    dj.solve(game, 0.5, reference=ref)


# --- Markov games (MarkovGame.from_arrays and solve_markov) ---------------------------------


def _markov_parts(actions=(3, 3), states=2):
  p = np.full((states, *actions, states), 1.0 / states)
  r = [np.zeros((states, *actions)) for _ in actions]
  return p, r


def test_markov_length_one_initial_and_reference_are_rejected():
  """Before: ``initial=[1.0]`` became [1, 1] and each reference [1, 1, 1], changing the values
  by tau log 3 / (1 - gamma) with no error."""
  p, r = _markov_parts()
  with pytest.raises(ValueError, match=r"^initial must be a distribution over 2 states"):
    dj.markov.MarkovGame.from_arrays(p, r, 0.9, temperature=1.0, initial=[1.0])
  with pytest.raises(ValueError, match=r"^reference\[0\] must be a distribution over 3 actions"):
    dj.markov.MarkovGame.from_arrays(p, r, 0.9, temperature=1.0, reference=[[1.0], [1.0]])


@pytest.mark.parametrize(
  "kwargs,error,match",
  [
    (dict(gamma="0.9"), TypeError, r"^gamma must be real numbers.*got str"),
    (dict(temperature=None), TypeError, r"^temperature must be real numbers.*got None"),
    (dict(reference=0.5), TypeError, r"^reference must hold one distribution per agent"),
    (dict(rewards=5), ValueError, r"^rewards must hold one array per agent"),
    (dict(transitions=np.full((2, 3, 3, 2), 0.5) + 0j), TypeError, r"^transitions must be real"),
  ],
)
def test_markov_arguments_of_the_wrong_kind(kwargs, error, match):
  p, r = _markov_parts()
  args = dict(transitions=p, rewards=r, gamma=0.9, temperature=1.0)
  args.update(kwargs)
  with pytest.raises(error, match=match):
    dj.markov.MarkovGame.from_arrays(
      args.pop("transitions"), args.pop("rewards"), args.pop("gamma"), **args
    )


@pytest.mark.parametrize(
  "kwargs,error,match",
  [
    (dict(tol="1e-8"), TypeError, r"^tol must be a real number"),
    (dict(max_steps=float("nan")), ValueError, r"^max_steps must be an integer; got nan"),
    (dict(max_steps=2**31), ValueError, r"^max_steps must be an integer in"),
    (dict(init=0.5), TypeError, r"^init must hold one distribution per agent"),
    (dict(init=[[1.0], [1.0]]), ValueError, r"^init\[0\] must be a distribution over 3 actions"),
  ],
)
def test_solve_markov_options_are_named(kwargs, error, match):
  p, r = _markov_parts()
  game = dj.markov.MarkovGame.from_arrays(p, r, 0.9, temperature=1.0)
  with pytest.raises(error, match=match):
    dj.markov.solve_markov(game, **kwargs)
