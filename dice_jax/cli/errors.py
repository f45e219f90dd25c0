"""The one error handler of the command line: an exception becomes an exit status and one line.

Bad input is reported by the readers and checks as ``ValueError`` / ``TypeError`` naming the
file, line or field (:mod:`dice_jax._validation`); a file that cannot be opened is an
``OSError``. Those are exit status 2. Python's resource errors raised while reading an input
(``OverflowError``, ``MemoryError``, ``RecursionError``) are also the input's fault (too large a
number, too large a game, too deep a nesting) and exit 2, with the reason said. Anything else is
a bug and exits 3. The message is always one line: multi-line messages are joined.
"""

from __future__ import annotations

from typing import Tuple

BAD_INPUT = 2
INTERNAL_ERROR = 3
INTERRUPTED = 130

#: Resource errors that mean "this input is too large / too deep", and how to say so.
_RESOURCE = {
  OverflowError: "a number in the input is too large",
  MemoryError: "the input describes something too large to hold in memory",
  RecursionError: "the input is nested too deeply",
}


def one_line(text: str) -> str:
  """``text`` with its lines joined by ``" | "`` and runs of spaces collapsed."""
  lines = [" ".join(line.split()) for line in str(text).splitlines()]
  return " | ".join(line for line in lines if line)


def exit_status(error: BaseException) -> Tuple[int, str]:
  """``(exit status, one-line message)`` for an exception raised by a command."""
  if isinstance(error, KeyboardInterrupt):
    return INTERRUPTED, "interrupted"
  for kind, reason in _RESOURCE.items():
    if isinstance(error, kind):
      detail = one_line(error)
      return BAD_INPUT, f"error: {reason}" + (f" ({detail})" if detail else "") + "."
  if isinstance(error, UnicodeDecodeError):  # a reader that did not name the file
    return BAD_INPUT, (
      f"error: the input is not UTF-8 text (byte {error.start}: "
      f"{error.object[error.start : error.start + 1]!r})."
    )
  if isinstance(error, OSError):
    where = f"{error.filename}: " if error.filename else ""
    return BAD_INPUT, f"error: {where}{error.strerror or one_line(error)}"
  if isinstance(error, (ValueError, TypeError)):
    return BAD_INPUT, f"error: {one_line(error)}"
  return INTERNAL_ERROR, (
    f"internal error: {type(error).__name__}: {one_line(error)} (a bug; "
    "run with --debug for the traceback and report it)"
  )
