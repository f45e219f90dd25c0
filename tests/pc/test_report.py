"""report: PNGs from a results folder written by the harness."""

import os

import numpy as np
import pytest

from dice_jax.pc.policies import policies as P
from dice_jax.pc.harness.loop import compare, run
from dice_jax.pc.report.plots import report
from dice_jax.pc.environments.synthetic import oscillation_suite


@pytest.mark.slow
def test_report_writes_the_three_pngs(tmp_path):
  env = oscillation_suite()
  ref = [np.array([0.6, 0.2, 0.2])] * 2
  compare(
    env,
    {"dice-pc": P.DICEPC(0.7, reference=ref), "best-response": "best-response"},
    rounds=10,
    batch_size=16,
    seed=0,
    out_dir=str(tmp_path),
    monotonicity=False,
  )
  run(env, P.BestOfN(n=2), rounds=10, batch_size=16, seed=0, out_dir=str(tmp_path / "bon"))
  paths = report(str(tmp_path), window=3)
  assert [os.path.basename(p) for p in paths] == ["frontier.png", "regret.png", "oscillation.png"]
  for p in paths:
    with open(p, "rb") as f:
      assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(p) > 5_000


def test_report_rejects_a_folder_without_runs(tmp_path):
  with pytest.raises(ValueError, match="folder"):
    report(str(tmp_path / "missing"))
  with pytest.raises(ValueError, match="summary.json"):
    report(str(tmp_path))
