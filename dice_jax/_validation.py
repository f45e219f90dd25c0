"""Host-side input checks shared by every public entry point.

Each check runs on concrete (non-traced) values before any compilation and raises an error whose
message starts with the argument's name (or, for files, the file, line and field path):

* ``TypeError`` when the *kind* of value is wrong: text, ``None``, a mapping, a complex or
  boolean number where a real number belongs; an array where a scalar belongs;
* ``ValueError`` when the kind is right but the value or shape is not: ragged nesting, wrong
  shape, NaN/inf, out of range, not a distribution, a number that overflows the dtype it will be
  used in.

Types are checked before values, and shapes before any broadcasting: a distribution must have
exactly as many entries as there are actions (a length-1 "distribution" is never stretched over
three actions). Under ``jax.jit`` the values are tracers; then only the static (shape) checks run
and the value checks are skipped.

Files (:func:`read_text`, :func:`load_json`) are read with limits checked before allocation: a
size limit in bytes, strict UTF-8, a nesting-depth limit, and JSON that rejects duplicate keys
and ``NaN``/``Infinity`` literals.
"""

from __future__ import annotations

import json
import math
import re
import numbers
import os
from typing import Any, List, Optional, Sequence, Tuple

import jax
import numpy as np

#: The largest step budget: the solvers count steps in int32.
MAX_STEPS = 2**31 - 1


def is_concrete(x: Any) -> bool:
  """True when ``x`` holds values (not a tracer), so value checks can run on the host."""
  return not isinstance(x, jax.core.Tracer)


def require_finite(name: str, x: Any) -> None:
  """Raise ``ValueError`` naming ``name`` if a concrete ``x`` has NaN or infinite entries."""
  if not is_concrete(x):
    return
  a = np.asarray(x)
  if a.size and not np.all(np.isfinite(a)):
    bad = np.argwhere(~np.isfinite(a))[0]
    raise ValueError(
      f"{name} must be finite; found {a[tuple(bad)]} at index {tuple(int(i) for i in bad)}."
    )


def require_positive(name: str, x: Any) -> None:
  """Raise ``ValueError`` naming ``name`` unless every entry of a concrete ``x`` is finite and > 0."""
  require_finite(name, x)
  if not is_concrete(x):
    return
  a = np.asarray(x)
  if a.size and not np.all(a > 0):
    bad = np.argwhere(~(a > 0))[0]
    raise ValueError(
      f"{name} must be > 0; found {a[tuple(bad)]} at index {tuple(int(i) for i in bad)}."
    )


def require_distribution(name: str, x: Any, *, atol: float = 1e-6, positive: bool = True) -> None:
  """Raise ``ValueError`` unless a concrete ``x`` is strictly positive (or, with
  ``positive=False``, finite) and sums to 1 on its last axis."""
  if positive:
    require_positive(name, x)
  else:
    require_finite(name, x)
  if not is_concrete(x):
    return
  a = np.asarray(x, dtype=np.float64)
  sums = a.sum(axis=-1)
  if not np.all(np.abs(sums - 1.0) <= atol * max(1, a.shape[-1])):
    worst = np.unravel_index(np.argmax(np.abs(sums - 1.0)), sums.shape)
    raise ValueError(
      f"{name} must be a probability distribution over its last axis (sum 1); "
      f"a row sums to {float(sums[worst]):.6g} at batch index {tuple(int(i) for i in worst)}."
    )


def broadcast_or_raise(
  name: str, shape: Sequence[int], target: Sequence[int], meaning: str
) -> None:
  """Raise ``ValueError`` unless ``shape`` broadcasts to ``target`` (described by ``meaning``)."""
  try:
    out = np.broadcast_shapes(tuple(shape), tuple(target))
  except ValueError:
    out = None
  if out != tuple(target):
    raise ValueError(
      f"{name} has shape {tuple(shape)}, which does not broadcast to {tuple(target)} ({meaning})."
    )


def game_and_temperature(game: Any, temperature: Any):
  """Check a game and its temperatures, the arguments every entry point shares.

  Returns:
    ``(num_actions, batch_shape, dtype, temperature)`` with ``temperature`` broadcast to
    ``(*batch, N)`` (a NumPy array on the host, or a JAX array when traced).

  Raises:
    TypeError: ``temperature`` is not real numbers.
    ValueError: ``game`` lacks the Game protocol or has NaN/inf payoffs; ``temperature`` is not
      finite, not > 0, overflows the game's dtype, or does not broadcast to ``(*batch, N)``.
  """
  import jax.numpy as jnp  # noqa: PLC0415 - keep this module importable without tracing cost

  if not all(hasattr(game, a) for a in ("num_actions", "utilities", "payoff_halfrange")):
    raise ValueError(
      f"game must implement the Game protocol (num_actions, utilities, "
      f"payoff_halfrange); got {type(game).__name__}."
    )
  n_actions = tuple(game.num_actions)
  n = len(n_actions)
  batch = tuple(getattr(game, "batch_shape", ()))
  dtype = getattr(game, "dtype", jnp.result_type(float))
  require_finite_game(game)
  temperature = real_array("temperature", temperature)
  require_positive("temperature", temperature)
  fits_dtype("temperature", temperature, dtype)
  broadcast_or_raise(
    "temperature", np.shape(temperature), (*batch, n), f"batch shape {batch} by {n} players"
  )
  if is_concrete(temperature):
    temperature = np.broadcast_to(np.asarray(temperature, dtype=dtype), (*batch, n))
    if np.any(temperature <= 0):
      raise ValueError(
        f"temperature has an entry that is 0 in {np.dtype(dtype).name} "
        "(too small for the game's dtype); temperatures must be > 0."
      )
  else:
    temperature = jnp.broadcast_to(jnp.asarray(temperature, dtype), (*batch, n))
  return n_actions, batch, dtype, temperature


# ---------------------------------------------------------------------------------------------
# Types before values: real numbers, scalars, step counts.


def _describe(x: Any) -> str:
  """A short description of a value's kind for messages (never its full contents)."""
  if x is None:
    return "None"
  if isinstance(x, (str, bytes)):
    text = x if len(x) <= 40 else x[:37] + "..."
    return f"{type(x).__name__} {text!r}"
  if isinstance(x, np.ndarray):
    return f"an array of dtype {x.dtype} and shape {x.shape}"
  return type(x).__name__


def _is_real_dtype(dtype, allow_bool: bool = True) -> bool:
  """Integer or floating (bfloat16 and the other ml_dtypes floats included), or bool."""
  import jax.numpy as jnp  # noqa: PLC0415

  return (
    np.dtype(dtype).kind in "iuf"
    or (allow_bool and np.dtype(dtype).kind == "b")
    or jnp.issubdtype(dtype, jnp.floating)
  )


def _leaf_problem(
  x: Any, allow_bool: bool, path: str = "", depth: int = 0
) -> Optional[Tuple[str, str]]:
  """``(path, what is wrong)`` for the first leaf of nested lists that is not a real number."""
  if depth > 64:
    return path, "nested more than 64 levels deep"
  if isinstance(x, (list, tuple)):
    for k, v in enumerate(x):
      bad = _leaf_problem(v, allow_bool, f"{path}[{k}]", depth + 1)
      if bad:
        return bad
    return None
  if isinstance(x, np.ndarray):
    if _is_real_dtype(x.dtype, allow_bool):
      return None
    if x.dtype.kind != "O":
      return path, f"must be real numbers; got {_describe(x)}"
    for idx, v in np.ndenumerate(x):
      bad = _leaf_problem(v, allow_bool, path + "".join(f"[{i}]" for i in idx), depth + 1)
      if bad:
        return bad
    return None
  if isinstance(x, (bool, np.bool_)):
    return None if allow_bool else (path, f"must be a number; got the boolean {x}")
  if isinstance(x, numbers.Complex) and not isinstance(x, numbers.Real):
    return path, f"must be real; got the complex number {x!r}"
  if isinstance(x, numbers.Integral):
    if int(x).bit_length() > 1023:
      return path, f"is an integer of {int(x).bit_length()} bits, too large for float64"
    return None
  if isinstance(x, numbers.Real):
    return None
  return path, f"must be a number; got {_describe(x)}"


def real_array(name: str, x: Any, *, allow_bool: bool = True) -> np.ndarray:
  """``x`` as a NumPy array of real numbers, or a ``TypeError``/``ValueError`` naming ``name``.

  Rejects text, ``None``, mappings, complex numbers, objects, ragged nesting and (with
  ``allow_bool=False``, as for JSON files) booleans. Integers too large for float64 are
  rejected. Integer and float dtypes are kept; an object array of Python numbers becomes float64.
  Tracers are returned unchanged.
  """
  if not is_concrete(x):
    return x
  if x is None or isinstance(x, (str, bytes, dict, set)):
    raise TypeError(
      f"{name} must be real numbers (an array, a nested list or a number); got {_describe(x)}."
    )
  if isinstance(x, (list, tuple)) and not allow_bool:
    bad = _leaf_problem(x, allow_bool)
    if bad:
      raise TypeError(f"{name}{bad[0]} {bad[1]}.")
  try:
    a = np.asarray(x)
  except (ValueError, TypeError, RecursionError) as e:
    raise ValueError(
      f"{name} must be a rectangular array of numbers (not ragged or nested "
      f"too deeply); {' '.join(str(e).split())[:120]}"
    ) from None
  if a.dtype.kind == "c":
    raise TypeError(f"{name} must be real; got complex values (dtype {a.dtype}).")
  if _is_real_dtype(a.dtype, allow_bool):
    return a
  bad = _leaf_problem(a if a.dtype.kind == "O" else x, allow_bool)
  if bad is None and a.dtype.kind == "O":  # Python ints beyond int64 but within float64
    return a.astype(np.float64)
  if bad is None:
    bad = ("", f"must be real numbers; got {_describe(a)}")
  raise TypeError(f"{name}{bad[0]} {bad[1]}.")


def real_scalar(name: str, x: Any) -> Any:
  """``x`` as a Python ``float``/``int`` if it is one real number (not bool, text, ``None``,
  complex or an array with axes); tracers pass through unchanged."""
  if not is_concrete(x):
    return x
  if isinstance(x, (bool, np.bool_)) or x is None or isinstance(x, (str, bytes)):
    raise TypeError(f"{name} must be a real number; got {_describe(x)}.")
  if isinstance(x, (np.ndarray, jax.Array)) or hasattr(x, "__array__"):
    a = np.asarray(x)
    if a.ndim:
      raise TypeError(f"{name} must be a scalar; got an array of shape {a.shape}.")
    if a.dtype.kind == "b" or not _is_real_dtype(a.dtype):
      raise TypeError(f"{name} must be a real number; got {_describe(a)}.")
    return float(a) if a.dtype.kind not in "iu" else int(a)
  if isinstance(x, numbers.Real):
    return x
  if isinstance(x, numbers.Complex):
    raise TypeError(f"{name} must be real; got the complex number {x!r}.")
  raise TypeError(f"{name} must be a real number; got {_describe(x)}.")


def positive_scalar(name: str, x: Any) -> Any:
  """A finite real number > 0 (``tol``, a step size); ``TypeError``/``ValueError`` naming ``name``."""
  v = real_scalar(name, x)
  if not is_concrete(v):
    return v
  if isinstance(v, int) and v.bit_length() > 1023:  # math.isfinite would raise OverflowError
    raise ValueError(
      f"{name} must be a finite number > 0; got an integer of {v.bit_length()} "
      "bits, beyond float64."
    )
  if not (math.isfinite(v) and v > 0):
    raise ValueError(f"{name} must be a finite number > 0; got {v!r}.")
  return v


def step_count(name: str, x: Any, *, limit: int = MAX_STEPS) -> int:
  """An integer in ``[1, limit]`` (default ``2**31 - 1``, the solvers' int32 step counter)."""
  v = real_scalar(name, x)
  if not is_concrete(v):
    return v
  if isinstance(v, float) and not (math.isfinite(v) and v == int(v)):
    raise ValueError(f"{name} must be an integer; got {v!r}.")
  if not 1 <= v <= limit:
    raise ValueError(
      f"{name} must be an integer in [1, {limit}]"
      f"{' (the solvers count steps in int32)' if limit == MAX_STEPS else ''}; "
      f"got {v!r}."
    )
  return int(v)


# ---------------------------------------------------------------------------------------------
# Dtypes: values checked in the precision they will be used in.


def fits_dtype(name: str, a: Any, dtype) -> None:
  """Raise ``ValueError`` if a finite concrete ``a`` overflows ``dtype`` (e.g. 1e300 in float32)."""
  if not is_concrete(a) or dtype is None or not np.issubdtype(np.dtype(dtype), np.floating):
    return
  a = np.asarray(a)
  if not a.size or a.dtype.kind not in "iuf":
    return
  top = float(np.finfo(np.dtype(dtype)).max)
  # Overflow exactly when the cast rounds to infinity: a value a hair above the largest finite
  # number still rounds down to it (IEEE round-to-nearest), as the cast in the solver would.
  with np.errstate(over="ignore"):
    over = ~np.isfinite(a.astype(np.float64).astype(np.dtype(dtype)))
  if np.any(over):
    bad = tuple(int(i) for i in np.argwhere(over)[0])
    raise ValueError(
      f"{name} holds {float(a[bad]):.6g} at index {bad}, beyond the largest "
      f"{np.dtype(dtype).name} ({top:.4g}); it would become infinite."
    )


def require_finite_game(game: Any, name: str = "game") -> None:
  """Raise ``ValueError`` naming the field if a concrete floating leaf of ``game`` has NaN/inf
  (a game built directly, or cast to a dtype it overflows)."""
  leaves, _ = jax.tree_util.tree_flatten_with_path(game)
  for path, leaf in leaves:
    if is_concrete(leaf) and hasattr(leaf, "dtype") and np.issubdtype(leaf.dtype, np.inexact):
      require_finite(name + jax.tree_util.keystr(path), leaf)


# ---------------------------------------------------------------------------------------------
# Shapes before broadcasting: distributions and per-player profiles.


def distribution(
  name: str,
  x: Any,
  size: int,
  lead: Sequence[int],
  *,
  dtype=None,
  strict: bool = True,
  atol: float = 1e-6,
  meaning: str = "actions",
):
  """Check one distribution (or a stack of them) over ``size`` outcomes; return it broadcast
  to ``(*lead, size)`` (float64 on the host, or the traced array).

  The last axis must have exactly ``size`` entries (never broadcast); leading axes broadcast to
  ``lead``. Entries must be finite, ``> 0`` in ``dtype`` when ``strict`` (a reference or an
  initial profile is used through its log), else ``>= 0``, and sum to 1.
  """
  import jax.numpy as jnp  # noqa: PLC0415

  a = real_array(name, x)
  shape = tuple(np.shape(a))
  if len(shape) < 1 or shape[-1] != size:
    got = "a scalar" if not shape else f"shape {shape}"
    raise ValueError(
      f"{name} must be a distribution over {size} {meaning} (its last axis must "
      f"have exactly {size} entries; it is not broadcast); got {got}."
    )
  broadcast_or_raise(name, shape, (*lead, size), f"{tuple(lead)} by {size} {meaning}")
  if not is_concrete(a):
    return jnp.broadcast_to(a, (*lead, size))
  a = a.astype(np.float64)
  require_finite(name, a)
  if strict:
    require_positive(name, a)
    if dtype is not None:
      tiny = np.asarray(a, dtype=np.dtype(dtype))
      if np.any(tiny <= 0):
        bad = tuple(int(i) for i in np.argwhere(tiny <= 0)[0])
        raise ValueError(
          f"{name} holds {a[bad]:.3g} at index {bad}, which is 0 in "
          f"{np.dtype(dtype).name}; entries must be > 0 in the dtype used."
        )
  elif np.any(a < 0):
    bad = tuple(int(i) for i in np.argwhere(a < 0)[0])
    raise ValueError(f"{name} must be non-negative; found {a[bad]!r} at index {bad}.")
  require_distribution(name, a, atol=atol, positive=strict)
  return np.broadcast_to(a, (*lead, size))


def per_player(name: str, value: Any, n: int, what: str = "player") -> List[Any]:
  """``value`` as a list of ``n`` items (one per player / agent), or an error naming ``name``."""
  if (
    value is None
    or isinstance(value, (str, bytes, dict, set, numbers.Number))
    or (isinstance(value, np.ndarray) and value.ndim == 0)
  ):
    raise TypeError(
      f"{name} must hold one distribution per {what} (a list of {n}); got {_describe(value)}."
    )
  try:
    items = list(value)
  except TypeError:
    raise TypeError(
      f"{name} must hold one distribution per {what} (a list of {n}); got {_describe(value)}."
    ) from None
  if len(items) != n:
    raise ValueError(f"{name} must hold one distribution per {what} ({n}); got {len(items)}.")
  return items


def profile(
  name: str,
  value: Any,
  n_actions: Sequence[int],
  lead: Sequence[int],
  *,
  dtype=None,
  what: str = "player",
) -> Tuple[Any, ...]:
  """One strictly positive distribution per player, each over its ``n_i`` actions and broadcast
  to ``(*lead, n_i)`` (see :func:`distribution`)."""
  items = per_player(name, value, len(n_actions), what)
  return tuple(
    distribution(f"{name}[{i}]", p, k, lead, dtype=dtype, meaning=f"actions of {what} {i}")
    for i, (p, k) in enumerate(zip(items, n_actions))
  )


# ---------------------------------------------------------------------------------------------
# Files: size, encoding, JSON.


def read_text(path: Any, *, what: str = "file", max_bytes: int) -> str:
  """The text of ``path`` as strict UTF-8, read only if it has at most ``max_bytes`` bytes.

  Raises:
    ValueError: naming the file: it cannot be opened, is larger than ``max_bytes``, or is not
      UTF-8 (with the line and the byte).
  """
  path = os.fspath(path)
  try:
    with open(path, "rb") as f:
      size = os.fstat(f.fileno()).st_size
      if size > max_bytes:
        raise ValueError(
          f"{path}: the {what} is {size:,} bytes; the limit is {max_bytes:,} "
          "bytes (pass a larger max_bytes to read it)."
        )
      data = f.read(max_bytes + 1)
  except OSError as e:
    raise ValueError(f"{path}: cannot read the {what}: {e.strerror or e}") from None
  if len(data) > max_bytes:
    raise ValueError(f"{path}: the {what} is larger than the limit of {max_bytes:,} bytes.")
  try:
    return data.decode("utf-8")
  except UnicodeDecodeError as e:
    line = data.count(b"\n", 0, e.start) + 1
    raise ValueError(
      f"{path}: line {line}: the {what} is not UTF-8 text (byte "
      f"{data[e.start : e.start + 1]!r} at offset {e.start})."
    ) from None


def _no_duplicates(pairs):
  out = {}
  for k, v in pairs:
    if k in out:
      raise ValueError(f"duplicate key {k!r} (a later value would silently replace the first)")
    out[k] = v
  return out


def _reject_constant(name: str):
  raise ValueError(f"{name} is not a JSON number (NaN and Infinity are not allowed)")


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def json_depth(text: str) -> int:
  """The nesting depth of the *valid* JSON ``text`` (a scalar is 0), in time linear in its size:
  strings are blanked (brackets inside them do not count) and the running count of opening
  minus closing brackets is maximised with NumPy."""
  blanked = _JSON_STRING.sub('""', text).encode("ascii", "replace")
  b = np.frombuffer(blanked, np.uint8)
  step = ((b == ord("[")) | (b == ord("{"))).astype(np.int32) - (
    (b == ord("]")) | (b == ord("}"))
  ).astype(np.int32)
  return int(np.cumsum(step).max()) if step.size else 0


def load_json(path: Any, *, what: str = "file", max_bytes: int, max_depth: int) -> Any:
  """Parse a JSON file within limits (see :func:`read_text`), rejecting what JSON parsers
  usually let through silently.

  Raises:
    ValueError: naming the file (and line, column where the parser knows it): unreadable, too
      large, not UTF-8, not JSON, a duplicate key, ``NaN``/``Infinity`` literals, an integer of
      more than 4,300 digits, or nesting deeper than ``max_depth``. (A float literal beyond
      float64 such as ``1e400`` reads as ``inf``, which the value checks reject as not finite.)
  """
  text = read_text(path, what=what, max_bytes=max_bytes)
  path = os.fspath(path)
  try:
    data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
  except json.JSONDecodeError as e:
    raise ValueError(
      f"{path}: line {e.lineno} column {e.colno}: not valid JSON ({e.msg})."
    ) from None
  except RecursionError:
    raise ValueError(
      f"{path}: the {what} is nested too deeply (the limit is {max_depth} levels)."
    ) from None
  except ValueError as e:
    raise ValueError(f"{path}: {e}.") from None
  if json_depth(text) > max_depth:
    raise ValueError(f"{path}: the {what} is nested more than {max_depth} levels deep.")
  return data
