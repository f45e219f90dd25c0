"""Run a per-shard function over equal shards of the prompts, on one device or over a mesh, with
the same result bit for bit.

``over_prompt_shards(fn, shared, split)`` cuts every leaf of ``split`` (leading axis: prompts,
or prompt-major rows ``P·K``) into ``S`` equal contiguous shards, evaluates ``fn(shared, shard)
-> (summed, stacked)`` on each, and returns the shards' ``summed`` parts added in shard order,
``((s_0 + s_1) + s_2) + ...``, and their ``stacked`` parts concatenated along axis 0.

* On one device (``mesh=None``) the shards run one after another (``lax.map``: one compiled
  body with the shard's shapes).
* Over a ``mesh`` (``S`` = its device count) each device runs ``fn`` on its own shard
  (``jax.shard_map``), the ``summed`` parts are gathered (``lax.all_gather``) and every device
  adds them in the same fixed order.

Why not let XLA's SPMD partitioner split the batch: its cross-device all-reduce sums in an
order of its choosing, and XLA CPU rounds a matrix product over a shard's rows differently from
the product over all rows, so a data-parallel step equalled the one-device step only to float32
round-off. Here the one-device path with ``num_shards = S`` evaluates *the same per-shard
program* on the same shapes and adds the partial results in the same order as the mesh path,
so the two agree bit for bit (tests/ft/test_data_parallel.py, 2 and 4 forced host devices,
XLA's default optimisation: measured, not an XLA contract).
"""

from __future__ import annotations

import functools
import operator
from typing import Any, Callable, Optional

import jax
from jax.sharding import Mesh, PartitionSpec


def shard_count(leading: int, *, mesh: Optional[Mesh], num_shards: Optional[int]) -> int:
  """The number of shards ``S``: ``mesh.size`` with a mesh, else ``num_shards`` (default 1).

  Raises:
    ValueError: ``num_shards`` is not a positive integer, or differs from ``mesh.size`` with a
      mesh; ``leading`` (the prompts) does not split evenly into ``S`` shards.
  """
  if num_shards is not None and (
    isinstance(num_shards, bool) or not isinstance(num_shards, int) or num_shards < 1
  ):
    raise ValueError(f"num_shards: expected a positive integer, got {num_shards!r}.")
  if mesh is not None:
    if num_shards is not None and num_shards != mesh.size:
      raise ValueError(
        f"num_shards: {num_shards} differs from the mesh's {mesh.size} devices (one shard per"
        " device; leave num_shards unset with a mesh)."
      )
    shards, where = mesh.size, f"the mesh's {mesh.size} devices"
  else:
    shards, where = num_shards or 1, f"{num_shards or 1} shards (num_shards)"
  if leading % shards:
    raise ValueError(f"batch: {leading} prompts do not split evenly over {where}.")
  return shards


def _add_in_order(stacked):
  """``((x[0] + x[1]) + x[2]) + ...`` for every leaf: one fixed order of IEEE additions."""
  return jax.tree_util.tree_map(
    lambda x: functools.reduce(operator.add, [x[i] for i in range(x.shape[0])]), stacked
  )


def over_prompt_shards(
  fn: Callable[[Any, Any], tuple[Any, Any]],
  shared: Any,
  split: Any,
  *,
  num_shards: int,
  mesh: Optional[Mesh] = None,
):
  """``(sum of summed, concatenation of stacked)`` of ``fn(shared, shard)`` over the shards.

  Args:
    fn: ``(shared, shard) -> (summed, stacked)``, traceable, no collectives. ``summed`` is a
      pytree added over the shards in shard order; ``stacked`` a pytree whose leaves have the
      shard's leading axis, concatenated over the shards.
    shared: the pytree every shard sees whole (model parameters); replicated over a mesh.
    split: the pytree cut into ``num_shards`` equal contiguous shards along every leaf's
      leading axis (the caller checks divisibility: :func:`shard_count`).
    num_shards: ``S``; with a ``mesh`` it must be ``mesh.size``.
    mesh: run shard ``i`` on the mesh's ``i``-th device (along all its axes, row-major);
      ``None`` runs the shards one after another on the current device.

  Call it inside ``jax.jit`` (the mesh and ``fn`` are static). With ``num_shards == 1`` and no
  mesh it is exactly ``fn(shared, split)``.
  """
  if mesh is None:
    if num_shards == 1:
      return fn(shared, split)
    cut = jax.tree_util.tree_map(lambda x: x.reshape(num_shards, -1, *x.shape[1:]), split)
    summed, stacked = jax.lax.map(lambda shard: fn(shared, shard), cut)
    return _add_in_order(summed), jax.tree_util.tree_map(
      lambda x: x.reshape(-1, *x.shape[2:]), stacked
    )

  axes = tuple(mesh.axis_names)

  def body(shared, shard):
    summed, stacked = fn(shared, shard)
    # every device gathers all shards' partial sums [S, ...] and adds them in shard order
    return _add_in_order(jax.lax.all_gather(summed, axes)), stacked

  # check_vma=False: gradients taken inside ``fn`` with respect to the replicated ``shared`` stay
  # the shard's own (with the check on, JAX would insert its own psum in the transpose)
  return jax.shard_map(
    body,
    mesh=mesh,
    in_specs=(PartitionSpec(), PartitionSpec(axes)),
    out_specs=(PartitionSpec(), PartitionSpec(axes)),
    check_vma=False,
  )(shared, split)
