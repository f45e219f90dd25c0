"""A batch sharded over 4 (forced host) devices gives exactly the single-device results."""

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow  # the slow tier (pyproject.toml): run with -m slow

SCRIPT = textwrap.dedent("""
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    import dice_jax as dj
    from jax.sharding import PartitionSpec as P
    assert jax.device_count() == 4, jax.devices()
    for method in ["mirror", "continuation"]:
        g = dj.games.random.uniform(jax.random.PRNGKey(0), (5, 4), batch_shape=(10,))  # 10 = 4*3 - 2: padded
        tau = np.linspace(0.2, 1.0, 10)[:, None]
        one = dj.solve(g, tau, method=method, tol=1e-11)
        many = dj.solve_sharded(g, tau, method=method, tol=1e-11)
        for a, b in zip(one.logits, many.logits):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        np.testing.assert_array_equal(np.asarray(one.steps), np.asarray(many.steps))
        np.testing.assert_array_equal(np.asarray(one.result), np.asarray(many.result))
    # the inputs really are split: each device holds 3 of the 12 padded games
    mesh = dj.solvers.default_mesh()
    x = jax.device_put(np.zeros((12, 2)), jax.sharding.NamedSharding(mesh, P("batch")))
    assert sorted(s.data.shape[0] for s in x.addressable_shards) == [3, 3, 3, 3]
    try:
        dj.solve_sharded(dj.games.random.uniform(jax.random.PRNGKey(1), (2, 2), batch_shape=(2, 3)), 0.5)
    except ValueError as e:
        assert "exactly one batch axis" in str(e)
    else:
        raise AssertionError("2 batch axes accepted")
    print("SHARDED-OK")
""")


def test_sharded_solve_equals_single_device():
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
  out = subprocess.run(
    [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600
  )
  assert out.returncode == 0, out.stderr[-3000:]
  assert "SHARDED-OK" in out.stdout
