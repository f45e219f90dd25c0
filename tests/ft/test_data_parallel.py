"""A data-parallel DICE-FT step over a mesh of 2 or 4 devices equals the one-device step with the
same prompt shards bit for bit, and the plain one-shard step to float32 round-off.

The mesh step (``ft_steps(..., mesh=mesh)``) runs the per-shard loss and gradient on each device
(``jax.shard_map``) and adds the shards' gradients in shard order; the one-device step with
``num_shards=devices`` runs the same per-shard program on the same shapes one shard after the
other and adds in the same order, so the reference log-probabilities, the metrics, the
log-probabilities after training and every adapter matrix after 3 steps are equal
(``np.array_equal``). With 4 devices (one prompt each) the order of the 4 additions matters in
float32; with 2, ``a + b == b + a``. The one-shard step differs by round-off only: XLA CPU
rounds a matrix product over a shard's rows differently from the product over all rows.

Runs in a subprocess with ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` (the device
count is fixed when JAX starts; the rest of the suite runs on one device).
"""

import pytest
import json
import os
import subprocess
import sys
import textwrap

import numpy as np

pytestmark = pytest.mark.slow  # the slow tier (pyproject.toml): run with -m slow

SCRIPT = textwrap.dedent("""
    import json
    import jax, jax.numpy as jnp, numpy as np, optax
    from flax import nnx
    from jax.sharding import Mesh
    from dice_jax.ft import (ft_steps, log_policy, make_candidate_batch, make_ft_optimizer, replicate_model,
                             shared_lora_agents)
    from dice_jax.llm import LMConfig, RopeConfig, build_model

    ND = jax.device_count()
    cfg = LMConfig(family="llama", model_type="llama", vocab_size=61, hidden_size=32,
                   intermediate_size=48, num_layers=2, num_heads=4, num_kv_heads=2, head_dim=8,
                   max_position_embeddings=64, norm_eps=1e-5, rope=RopeConfig(theta=5e4))
    mesh = Mesh(np.array(jax.devices()), ("data",))
    rs = np.random.RandomState(0)
    prompts = [rs.randint(3, 61, size=n).tolist() for n in (5, 7, 3, 6)]
    cands = [[rs.randint(3, 61, size=rs.randint(1, 6)).tolist() for _ in range(3)] for _ in prompts]
    target = jax.nn.log_softmax(jnp.asarray(rs.normal(size=(4, 3)), jnp.float32), -1)
    tau = jnp.full((4,), 0.1, jnp.float32)
    batch = make_candidate_batch(prompts, cands, length=16, window=6, share_prompts=True)
    out = {}
    for name, kw in (("one", {}), ("sharded", dict(num_shards=ND)), ("two", dict(mesh=mesh))):
      model = build_model(cfg, rngs=nnx.Rngs(0))
      if name == "two":
        replicate_model(model, mesh)
      (model,) = shared_lora_agents(model, 1, rank=2, alpha=4.0, seed=0)
      ref = log_policy(model, batch, adapters=False, **kw)
      opt = make_ft_optimizer(model, optax.sgd(0.5))
      before = [np.asarray(x) for x in jax.tree_util.tree_leaves(nnx.state(model, nnx.LoRAParam))]
      m = ft_steps(model, opt, batch, target, ref, tau, num_steps=3, **kw)
      leaves = jax.tree_util.tree_leaves(nnx.state(model, nnx.LoRAParam))
      out[name] = {
          "metrics": {k: np.asarray(v).item() for k, v in m.items()},
          "ref": np.asarray(ref).tolist(), "after": np.asarray(log_policy(model, batch, **kw)).tolist(),
          "lora": [np.asarray(x).ravel().tolist() for x in leaves],
          "moved": [float(np.abs(np.asarray(a) - b).max()) for a, b in zip(leaves, before)],
          "devices": len(leaves[0].sharding.device_set)}
    out["errors"] = []
    for kw in (dict(mesh=mesh), dict(num_shards=2), dict(mesh=mesh, num_shards=1)):
      try:
        ft_steps(model, opt, make_candidate_batch(prompts[:3], cands[:3]), target[:3], ref[:3],
                 tau[:3], num_steps=1, **kw)
      except ValueError as e:
        out["errors"].append(str(e))
    print("RESULT " + json.dumps(out))
""")


@pytest.mark.parametrize("devices", [2, 4])  # 4: one prompt per device, 4 gradients summed
def test_data_parallel_ft_step_equals_one_device_bit_for_bit(devices):
  flags = os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={devices}"
  flags = flags.strip()
  # XLA's default optimisation, as users run it: with the suite's
  # JAX_DISABLE_MOST_OPTIMIZATIONS=1 (tests/conftest.py) 2 devices are still equal but 4 differ
  # after 3 steps in the compiled loop (measured: adapters by up to 2.4e-6, loss 1e-6 of 6.3;
  # one step per call is equal)
  env = {k: v for k, v in os.environ.items() if k != "JAX_DISABLE_MOST_OPTIMIZATIONS"}
  env.update(XLA_FLAGS=flags, JAX_PLATFORMS="cpu")
  proc = subprocess.run(
    [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=900
  )
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][0][7:])
  mesh_err, shards_err, count_err = out["errors"]
  assert (
    "batch" in mesh_err and "do not split evenly" in mesh_err and f"{devices} devices" in mesh_err
  )
  assert (
    "batch" in shards_err and "do not split evenly" in shards_err and "num_shards" in shards_err
  )
  assert "num_shards" in count_err and "differs" in count_err
  one, sharded, two = out["one"], out["sharded"], out["two"]
  assert (one["devices"], sharded["devices"], two["devices"]) == (1, 1, devices)
  # the mesh step against the one-device step with the same shards: every bit
  assert np.array_equal(np.array(two["ref"]), np.array(sharded["ref"]))  # forward, shard by shard
  assert np.array_equal(np.array(two["after"]), np.array(sharded["after"]))  # after 3 steps
  assert two["metrics"] == sharded["metrics"]  # loss, KL to reference, entropy, ..., skipped
  assert len(two["lora"]) == len(sharded["lora"]) == 8  # A and B of 4 adapted matrices
  for a, b in zip(sharded["lora"], two["lora"]):
    assert np.array_equal(np.array(a), np.array(b))
  # the sharded step against the plain one-shard step: the same mathematics, other round-off
  # (measured, 2 / 4 shards: log-probabilities 1.9e-6 of 19 before, 1.3e-5 / 1.4e-5 of 12 after;
  # adapters within 1.5e-6 / 2.3e-6 of scale 1.1 after 3 SGD steps; loss 1.4e-6 of 6.3)
  np.testing.assert_allclose(np.array(sharded["ref"]), np.array(one["ref"]), rtol=2e-5, atol=1e-6)
  for a, b in zip(one["lora"], sharded["lora"]):
    a, b = np.array(a), np.array(b)
    assert np.abs(b - a).max() <= 2e-5 * np.abs(a).max(), (np.abs(b - a).max(), np.abs(a).max())
  assert abs(one["metrics"]["loss"] - sharded["metrics"]["loss"]) <= 1e-4 * one["metrics"]["loss"]
  assert one["metrics"]["skipped"] == sharded["metrics"]["skipped"] == 0
  assert min(one["moved"]) > 0 and max(one["moved"]) > 1e-3  # every adapter matrix moved
