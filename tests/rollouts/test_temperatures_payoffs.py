"""The shared per-state temperatures and token-cost payoffs (dice_jax.rollouts)."""

import numpy as np
import pytest

from dice_jax.rollouts.payoffs import charged_costs, token_cost_payoffs, token_costs
from dice_jax.rollouts.temperatures import (
  annealed_temperatures,
  role_state_temperatures,
  state_temperatures,
)


def test_state_temperatures_forms_and_errors_name_the_state():
  states = ["easy", "hard", "easy"]
  np.testing.assert_array_equal(state_temperatures(0.5, states), [0.5, 0.5, 0.5])
  np.testing.assert_array_equal(
    state_temperatures({"easy": 1.0, "hard": 2.0}, states), [1.0, 2.0, 1.0]
  )
  np.testing.assert_array_equal(state_temperatures(lambda s: len(s) / 4, states), [1.0, 1.0, 1.0])
  with pytest.raises(ValueError, match=r"tau gives no temperature for state\(s\) \['hard'\]"):
    state_temperatures({"easy": 1.0}, states, name="tau")
  with pytest.raises(ValueError, match=r"temperature\['hard'\] must be > 0"):
    state_temperatures({"easy": 1.0, "hard": -1.0}, states)
  with pytest.raises(ValueError, match=r"temperature\['easy'\] must be one number"):
    state_temperatures({"easy": [1.0, 2.0], "hard": 1.0}, states)
  with pytest.raises(ValueError, match=r"temperature\['easy'\] must be one number"):
    state_temperatures({"easy": "1.0", "hard": 1.0}, states)
  with pytest.raises(ValueError, match=r"temperature\('easy'\) raised ZeroDivisionError"):
    state_temperatures(lambda s: 1 / 0, states)
  for bad in (None, "0.5", complex(1, 1), [0.5, 0.5]):
    with pytest.raises(ValueError, match="temperature"):
      state_temperatures(bad, states)
  with pytest.raises(ValueError, match="^temperature must be a number"):
    state_temperatures(True, states)  # a boolean is not a temperature
  with pytest.raises(ValueError, match=r"^temperature\['hard'\] must be a number"):
    state_temperatures({"easy": 1.0, "hard": True}, states)


def test_role_state_temperatures_broadcast_and_shapes():
  np.testing.assert_array_equal(role_state_temperatures(0.7, 2, 3), np.full((2, 3), 0.7))
  np.testing.assert_array_equal(role_state_temperatures([1, 2, 3], 2, 3), [[1, 2, 3]] * 2)
  with pytest.raises(ValueError, match=r"got shape \(2,\)"):
    role_state_temperatures([1, 2], 2, 3)
  with pytest.raises(ValueError, match="final_temperature must be > 0"):
    role_state_temperatures([[1, 2, 0]] * 2, 2, 3, name="final_temperature")


def test_annealed_temperatures_is_the_documented_schedule():
  start, end = np.array([[1.0, 2.0], [1.0, 2.0]]), np.array([[0.1, 0.2], [0.1, 0.2]])
  got = annealed_temperatures(start, end, np.array([0.5, 3.0]), floor=np.array([0.9, 0.0]))
  # state 0: 0.1 + 0.9 * 0.5 = 0.55 -> floored to 0.9; 0.2 + 1.8 * 0.5 = 1.1
  # state 1: uncertainty clipped to 1 -> the start temperatures
  np.testing.assert_allclose(got, [[0.9, 1.1], [1.0, 2.0]])


def test_token_cost_payoffs_team_and_own_by_hand():
  success = np.array([[0.5, 1.0]])  # [1 state, 2 joint actions] (one role axis)
  tokens = np.array([[[10.0, 20.0], [0.0, 4.0]]])  # [..., N=2]
  cost = token_costs([0.01, 0.1], 2)
  team = token_cost_payoffs(success, tokens, cost, "team")
  own = token_cost_payoffs(success, tokens, cost, "own")
  # team: both pay 0.01*10 + 0.1*20 = 2.1 (first action), 0.4 (second)
  np.testing.assert_allclose(team, [[[0.5 - 2.1, 1.0 - 0.4]], [[0.5 - 2.1, 1.0 - 0.4]]])
  np.testing.assert_allclose(own, [[[0.5 - 0.1, 1.0]], [[0.5 - 2.0, 1.0 - 0.4]]])
  np.testing.assert_allclose(charged_costs(tokens, cost, "own"), [[[0.1, 2.0], [0.0, 0.4]]])
  np.testing.assert_array_equal(token_costs(0.5, 3), [0.5, 0.5, 0.5])
  for bad, match in [
    (-1.0, r"token_cost\[0\] must be >= 0"),
    ([0.1, float("nan")], r"token_cost\[1\] must be finite"),
    ([0.1], "one cost per agent"),
    ("0.1", "token_cost must be a number"),
    (True, "token_cost must be a number"),
    ([0.1, False], "token_cost must be a number"),
    (None, "token_cost"),
  ]:
    with pytest.raises(ValueError, match=match):
      token_costs(bad, 2)
  with pytest.raises(ValueError, match="sharing"):
    charged_costs(tokens, cost, "both")
