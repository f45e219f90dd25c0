"""solve_sharded across two real processes (``jax.distributed`` on loopback, CPU collectives):
every game is bit-for-bit the one-process solve.

Two worker processes each own one CPU device; process 0 hosts the coordinator. Both build the
same batch and call ``dj.solve_sharded`` over the two-process mesh (each process holds and
solves half of the padded batch); both then read the whole result and compare it, game by game,
with ``dj.solve`` run by the same process on its own device alone.
"""

import pytest
import os
import socket
import subprocess
import sys
import textwrap

pytestmark = pytest.mark.slow  # the slow tier (pyproject.toml): run with -m slow

WORKER = textwrap.dedent("""
    import sys
    import jax
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=sys.argv[1], num_processes=2,
                               process_id=int(sys.argv[2]), local_device_ids=[0])
    import numpy as np
    from jax.sharding import PartitionSpec as P
    import dice_jax as dj
    assert jax.process_count() == 2 and jax.device_count() == 2 and jax.local_device_count() == 1
    g = dj.games.random.uniform(jax.random.PRNGKey(0), (5, 4), batch_shape=(7,))  # padded to 8
    tau = np.linspace(0.2, 1.0, 7)[:, None]
    mesh = dj.solvers.default_mesh()
    assert sorted(d.process_index for d in mesh.devices.flat) == [0, 1]  # the mesh spans both
    x = jax.device_put(np.zeros((8, 2)), jax.sharding.NamedSharding(mesh, P("batch")))
    assert [s.data.shape[0] for s in x.addressable_shards] == [4]  # each process holds half
    many = dj.solve_sharded(g, tau, mesh=mesh, tol=1e-11)
    assert many.steps.is_fully_replicated  # every process holds and reads the whole result
    one = dj.solve(g, tau, tol=1e-11)  # this process alone, on its own device
    for a, b in zip(one.logits, many.logits):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for f in ("steps", "result", "residual"):
        np.testing.assert_array_equal(np.asarray(getattr(one, f)), np.asarray(getattr(many, f)))
    assert np.all(np.asarray(one.converged))
    print(f"MULTIHOST-OK {jax.process_index()}")
""")


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_two_processes_match_one_process():
  address = f"127.0.0.1:{_free_port()}"
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  env.pop("XLA_FLAGS", None)  # one device per process
  procs = [
    subprocess.Popen(
      [sys.executable, "-c", WORKER, address, str(i)],
      env=env,
      stdout=subprocess.PIPE,
      stderr=subprocess.PIPE,
      text=True,
    )
    for i in range(2)
  ]
  outs = []
  try:
    for p in procs:
      outs.append(p.communicate(timeout=120))
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  for i, (p, (out, err)) in enumerate(zip(procs, outs)):
    assert p.returncode == 0, f"process {i}:\n{err[-3000:]}"
    assert f"MULTIHOST-OK {i}" in out, out
