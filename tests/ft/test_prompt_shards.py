"""``over_prompt_shards`` on one device: shards cut in order, partial sums added in shard order,
stacked parts concatenated back; ``shard_count`` rejects bad counts naming the argument. (The
mesh path against this one, bit for bit: tests/ft/test_data_parallel.py.)"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dice_jax.ft.policies.prompt_shards import over_prompt_shards, shard_count


def _fn(w, x):
  # summed: the shard's share of sum(tanh(x @ w)) and its gradient in w; stacked: rows of x @ w
  value, grad = jax.value_and_grad(lambda w: jnp.sum(jnp.tanh(x["a"] @ w)))(w)
  return (value, grad), (x["a"] @ w, x["b"] * 2.0)


@pytest.mark.parametrize("num_shards", [1, 2, 3, 6])
def test_shards_add_up_to_the_whole_batch(num_shards):
  rs = np.random.RandomState(0)
  w = jnp.asarray(rs.normal(size=(5, 4)), jnp.float32)
  x = {
    "a": jnp.asarray(rs.normal(size=(6, 5)), jnp.float32),
    "b": jnp.arange(6.0 * 2).reshape(6, 2),
  }
  run = jax.jit(lambda w, x: over_prompt_shards(_fn, w, x, num_shards=num_shards))
  (value, grad), (rows, b) = run(w, x)
  (value1, grad1), (rows1, _) = _fn(w, x)  # the closed form over the whole batch
  np.testing.assert_allclose(value, value1, rtol=1e-5)
  np.testing.assert_allclose(grad, grad1, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(rows, rows1, rtol=1e-5, atol=1e-6)
  assert np.array_equal(b, 2.0 * np.arange(12.0).reshape(6, 2))  # concatenated in shard order


def test_partial_sums_are_added_in_shard_order():
  # float32: (1e8 + 1) - 1e8 = 0 but (1e8 - 1e8) + 1 = 1: only the order 0, 1, 2 gives 0
  x = jnp.asarray([1e8, 1.0, -1e8], jnp.float32)
  run = jax.jit(lambda x: over_prompt_shards(lambda _, s: (s[0], s), (), x, num_shards=3))
  total, stacked = run(x)
  assert float(total) == 0.0 and np.array_equal(stacked, x)
  total, _ = jax.jit(lambda x: over_prompt_shards(lambda _, s: (s[0], s), (), x, num_shards=3))(
    x[jnp.asarray([0, 2, 1])]
  )
  assert float(total) == 1.0  # (1e8 - 1e8) + 1


def test_shard_count_checks_its_arguments():
  assert shard_count(6, mesh=None, num_shards=None) == 1
  assert shard_count(6, mesh=None, num_shards=3) == 3
  with pytest.raises(ValueError, match="batch: 6 prompts do not split evenly over 4 shards"):
    shard_count(6, mesh=None, num_shards=4)
  for bad in (0, -2, 1.5, True):
    with pytest.raises(ValueError, match="num_shards: expected a positive integer"):
      shard_count(6, mesh=None, num_shards=bad)
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))
  assert shard_count(5, mesh=mesh, num_shards=None) == 1
  with pytest.raises(ValueError, match="num_shards: 2 differs from the mesh's 1 devices"):
    shard_count(6, mesh=mesh, num_shards=2)
