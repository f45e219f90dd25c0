"""XLA:CPU settings dice_jax needs, applied when ``dice_jax`` is imported.

**The hang.** On a CPU with few cores (reproduced on 2), jaxlib 0.10.2's thunk runtime can
deadlock in a batched ``lax.while_loop`` whose body is large: every thread parks idle, the
caller waits in ``block_until_ready`` forever. dice_jax hit it with ``Continuation`` (the path
follower ``method="auto"`` falls back to) on 900 random 10x10 games at once and on 24 Markov
games with 20 states; smaller batches of the same programs finish. The trigger is XLA's
*concurrency-optimised* HLO scheduler, which orders independent operations so that the thunk
executor runs them in parallel; with ``--xla_cpu_enable_concurrency_optimized_scheduler=false``
every one of those programs finishes (``--xla_cpu_multi_thread_eigen=false`` does not help).
Related reports: openxla/xla#33048 ("WhileThunk may block in async mode"),
PyAutoLabs/PyAutoFit#1528 (vmap graphs wedging XLA:CPU's thread pool).

:func:`apply` puts that flag at the front of ``XLA_FLAGS`` (XLA stops reading the variable at
its first token without ``--``, so the front is the one place it is always read), unless the
variable already sets the flag (the user's choice wins) or ``DICE_JAX_KEEP_XLA_FLAGS=1``. XLA
reads ``XLA_FLAGS`` when JAX creates its first backend, so this works when ``dice_jax`` is
imported before the first JAX computation; otherwise :func:`apply` warns. The flag only
changes the order of operations in a compiled program, never its results. It affects every
JAX program of the process, not only dice_jax's; set ``DICE_JAX_KEEP_XLA_FLAGS=1`` to opt out.
"""

from __future__ import annotations

import os
import warnings

#: The flag that avoids the XLA:CPU while-loop deadlock (see the module docstring).
FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler=false"
_NAME = FLAG.split("=")[0]


def flags_with_workaround(flags: str) -> str:
  """``flags`` (an ``XLA_FLAGS`` value) with :data:`FLAG` in front, unchanged if it already
  sets the flag."""
  if any(t.split("=")[0] == _NAME for t in flags.split()):
    return flags
  return f"{FLAG} {flags}".strip()


def backends_initialized() -> bool:
  """Whether JAX has created its backends (after which ``XLA_FLAGS`` is no longer read)."""
  try:
    from jax._src import xla_bridge  # noqa: PLC0415  (no public API says this)

    return bool(xla_bridge.backends_are_initialized())
  except (ImportError, AttributeError):  # a JAX without it: assume not yet
    return False


def apply() -> bool:
  """Put :data:`FLAG` into ``XLA_FLAGS`` for this process; ``True`` if it is in effect or will
  be (see the module docstring)."""
  if os.environ.get("DICE_JAX_KEEP_XLA_FLAGS") == "1":
    return False
  old = os.environ.get("XLA_FLAGS", "")
  new = flags_with_workaround(old)
  if new == old:
    return True
  if backends_initialized():
    warnings.warn(
      "dice_jax was imported after JAX created its backends, so the XLA:CPU flag "
      f"{FLAG} (it avoids a deadlock of large batched while-loops on CPU; see "
      "dice_jax.xla_workarounds) is not in effect. Import dice_jax first, or set it in "
      "XLA_FLAGS yourself.",
      RuntimeWarning,
      stacklevel=3,
    )
    return False
  os.environ["XLA_FLAGS"] = new
  return True
