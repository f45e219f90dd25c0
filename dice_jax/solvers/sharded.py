"""Solve a batch of games sharded over devices (``jax.sharding.Mesh`` + ``shard_map``)."""

from __future__ import annotations

import functools
from typing import Optional

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from dice_jax.solvers._solve import prepare, solve_batch
from dice_jax.solvers.solution import Solution


def default_mesh(axis_name: str = "batch") -> Mesh:
  """A 1-D mesh over every device of the process (all hosts' devices after
  ``jax.distributed.initialize()``)."""
  return Mesh(np.array(jax.devices()), (axis_name,))


@functools.partial(jax.jit, static_argnames=("mesh", "axis_name", "history_length", "local"))
def _sharded(
  solver,
  game,
  temperature,
  log_reference,
  logits,
  tol,
  max_steps,
  *,
  mesh,
  axis_name,
  history_length,
  local,
):
  batched = P(axis_name)
  fn = functools.partial(solve_batch, history_length=history_length, batch_shape=(local,))
  return jax.shard_map(
    fn,
    mesh=mesh,
    in_specs=(P(), batched, batched, batched, batched, P(), P()),
    out_specs=batched,
    check_vma=False,
  )(solver, game, temperature, log_reference, logits, tol, max_steps)


def solve_sharded(
  game, temperature, *, mesh: Optional[Mesh] = None, axis_name: str = "batch", **kwargs
) -> Solution:
  """:func:`dice_jax.solve` with the batch axis split over the devices of ``mesh``.

  Each device runs the same chunked, vmapped solver loop on its own slice of the batch
  (``jax.shard_map``), so devices never synchronise inside the loop and every game's result is
  bit-for-bit what one device computes for it. The batch is padded to a multiple of the device
  count with copies of its last game (dropped from the result). Multi-host: call
  ``jax.distributed.initialize()`` in every process first; the default mesh then spans all
  hosts' devices, every process passes the same whole batch (each solves only its devices'
  slice), and the result comes back replicated to every process (tests/test_multihost.py runs
  two processes on loopback).

  Args:
    game: a game with exactly one batch axis.
    temperature: as for :func:`dice_jax.solve`.
    mesh: a 1-D ``Mesh`` (default :func:`default_mesh`).
    axis_name: the mesh axis the batch is split over.
    **kwargs: ``method``, ``reference``, ``init``, ``tol``, ``max_steps``, ``history`` as for
      :func:`dice_jax.solve` (validated the same way, before any compilation).
  """
  args, static = prepare(game, temperature, **kwargs)
  batch = static["batch_shape"]
  if len(batch) != 1:
    raise ValueError(f"game must have exactly one batch axis to shard; it has batch shape {batch}.")
  mesh = mesh or default_mesh(axis_name)
  if axis_name not in mesh.axis_names:
    raise ValueError(f"axis_name {axis_name!r} is not an axis of mesh {mesh.axis_names}.")
  devices = mesh.shape[axis_name]
  size = batch[0]
  padded = -(-size // devices) * devices
  pad = lambda x: np.concatenate([np.asarray(x), np.repeat(np.asarray(x)[-1:], padded - size, 0)])
  solver, g, t, lr, lg, tol, max_steps = args
  sharding = NamedSharding(mesh, P(axis_name))
  put = lambda tree: jax.tree_util.tree_map(lambda x: jax.device_put(pad(x), sharding), tree)
  sol = _sharded(
    solver,
    put(g),
    put(t),
    put(lr),
    put(lg),
    tol,
    max_steps,
    mesh=mesh,
    axis_name=axis_name,
    history_length=static["history_length"],
    local=padded // devices,
  )
  return jax.tree_util.tree_map(lambda x: x[:size], sol)
