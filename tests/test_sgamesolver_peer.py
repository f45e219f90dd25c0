"""The sgamesolver comparison's own pieces, without sgamesolver (it lives in its own virtualenv,
see benchmarks/sgamesolver_peer.py): the game file round trip, the lambda -> temperature
mapping, and the claim that sgamesolver's QRE equations hold at dice_jax's ``logit`` solution
for the arrays the driver hands to ``sgamesolver.SGame``."""

import numpy as np
import pytest

from benchmarks import sgamesolver_peer as peer
from benchmarks.sgamesolver_driver import sgame_arguments
from dice_jax.markov import solve_markov

pytestmark = pytest.mark.slow  # the slow tier, with the other benchmarks' tests (pyproject.toml)


def test_game_file_round_trip_and_missing_array(tmp_path):
  games = peer.random_games(1, 2, 3)
  path = str(tmp_path / "g.npz")
  peer.write_games(path, games)
  back = peer.read_games(path)
  for a, b in zip(games, back):
    np.testing.assert_array_equal(a, b)
  np.testing.assert_allclose(games.transitions.sum(-1), 1.0, atol=1e-12)
  np.savez(str(tmp_path / "bad.npz"), transitions=games.transitions)
  with pytest.raises(ValueError, match=r"bad\.npz.*missing arrays \['rewards', 'gamma', 'lam'\]"):
    peer.read_games(str(tmp_path / "bad.npz"))


def sgamesolver_h(payoff_matrices, transition_matrices, delta, lam, sigma):
  """sgamesolver's QRE homotopy function (``QRE_np.H`` of sgamesolver 1.0.2, two players):
  ``beta_i(s,a) - beta_i(s,0) - lam (u~_i(s,a) - u~_i(s,0))`` and ``V_i(s) - sum_a sigma u~``,
  with ``u~ = u + delta phi V`` and V the values of ``sigma`` (``SGame.get_values``)."""
  u = np.stack(payoff_matrices)  # [s, p, a1, a2]
  phi = np.stack(transition_matrices)  # [s, a1, a2, s']
  joint = sigma[0][:, :, None] * sigma[1][:, None, :]
  p_sigma = np.einsum("sabt,sab->st", phi, joint)
  r_sigma = np.einsum("spab,sab->sp", u, joint)
  v = np.linalg.solve(np.eye(len(u)) - delta * p_sigma, r_sigma)  # [s, p]
  u_tilde = u + delta * np.einsum("sabt,tp->spab", phi, v)
  eu = [
    np.einsum("sab,sb->sa", u_tilde[:, 0], sigma[1]),
    np.einsum("sab,sa->sb", u_tilde[:, 1], sigma[0]),
  ]
  h_strat = [
    np.log(sg[:, 1:]) - np.log(sg[:, :1]) - lam * (e[:, 1:] - e[:, :1]) for sg, e in zip(sigma, eu)
  ]
  h_val = np.stack([np.sum(sg * e, -1) for sg, e in zip(sigma, eu)], -1) - v
  return max(float(np.abs(h).max()) for h in [*h_strat, h_val])


def test_sgamesolver_equations_hold_at_the_logit_solution_not_the_own_one():
  games = peer.random_games(2, 2, 4, lambdas=(0.5, 3.0))
  for g in range(2):
    game = peer.markov_game(games, g)
    np.testing.assert_array_equal(np.asarray(game.temperature), 1.0 / games.lam[g])
    args = sgame_arguments(games.transitions[g], games.rewards[g])
    h = {}
    for convention in ("logit", "own"):
      sol = solve_markov(game, convention=convention, method="continuation", tol=1e-11)
      assert sol.result_names().item() == "converged"
      sigma = [np.asarray(p) for p in sol.probabilities]
      h[convention] = sgamesolver_h(*args, games.gamma[g], games.lam[g], sigma)
      res = peer.logit_residual(
        peer.GameSet(*(np.asarray(x)[g : g + 1] for x in games)), tuple(s[None] for s in sigma)
      )
      assert (res[0] <= 1e-10) == (convention == "logit"), (convention, res)
    assert h["logit"] <= 1e-9, h
    assert h["own"] >= 1e-4, h  # the entropy term in the values moves the equilibrium


def test_policy_difference_keeps_failed_games_visible():
  a = (np.zeros((2, 3, 2)), np.zeros((2, 3, 3)))
  b = (np.zeros((2, 3, 2)), np.full((2, 3, 3), np.nan))
  b[1][0] = 0.25
  d = peer.policy_difference(a, b)
  assert d[0] == 0.25 and np.isnan(d[1])
