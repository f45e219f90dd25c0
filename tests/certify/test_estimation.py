"""QRE estimation vs pygambit.qre.logit_estimate."""

import jax
import numpy as np
import pytest

import dice_jax as dj
from dice_jax.certify.estimation import estimate
from dice_jax.testing import gambit_logit_qre, to_gambit

pygambit = pytest.importorskip("pygambit")


def _gambit_estimate(game, counts):
  g = to_gambit(game)
  prof = g.mixed_strategy_profile(rational=False)
  for p, c in zip(g.players, counts):
    for s, v in zip(p.strategies, c):
      prof[s] = float(v)
  res = pygambit.qre.logit_estimate(prof)
  return float(res.lam), float(res.log_like)


def test_same_lambda_as_gambit():
  game = dj.games.random.uniform(jax.random.PRNGKey(4), (3, 3))
  lam0 = 2.0
  x = gambit_logit_qre(game, lam0)  # data generated at one lambda (Gambit's own QRE)
  rng = np.random.default_rng(0)
  datasets = {
    "expected counts": [1000 * p for p in x],
    "multinomial counts": [rng.multinomial(200, p).astype(float) for p in x],
  }
  for name, counts in datasets.items():
    ours = estimate(game, counts)
    lam_g, ll_g = _gambit_estimate(game, counts)
    print(
      f"{name}: dice_jax lambda {float(ours.lam[0]):.10f}, Gambit {lam_g:.10f}, "
      f"difference {abs(float(ours.lam[0]) - lam_g):.2e}"
    )
    assert bool(ours.converged)
    assert abs(float(ours.lam[0]) - lam_g) <= 1e-4
    # Gambit's log-likelihood includes no multinomial constant either: the same number
    assert float(ours.log_likelihood) == pytest.approx(ll_g, rel=1e-6)
  assert abs(float(estimate(game, datasets["expected counts"]).lam[0]) - lam0) <= 1e-6


@pytest.mark.parametrize(
  "kwargs,name",
  [
    (dict(counts=[np.ones(3)]), "counts"),
    (dict(counts=[np.ones(2), np.ones(3)]), r"counts\[0\]"),
    (dict(counts=[-np.ones(3), np.ones(3)]), r"counts\[0\]"),
    (dict(counts=[np.array([1.0, np.nan, 1.0]), np.ones(3)]), r"counts\[0\]"),
    (dict(counts=[np.zeros(3), np.zeros(3)]), "counts"),
    (dict(counts=[np.ones(3), np.ones(3)], temperature=0.0), "temperature"),
  ],
)
def test_bad_input(kwargs, name):
  game = dj.games.random.uniform(jax.random.PRNGKey(4), (3, 3))
  with pytest.raises(ValueError, match=name):
    estimate(game, **kwargs)
