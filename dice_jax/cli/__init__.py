"""The dice-jax command line: one dispatcher, one error handler.

    dice-jax [--debug] COMMAND ...

    dice-jax solve GAME.nfg --temperature T [--method M] [--tol X] [--max-steps N] [--json]
    dice-jax solve --example NAME --temperature T ...
    dice-jax examples
    dice-jax certify GAME.nfg --temperature T [--json]
    dice-jax solve-markov GAME.json [--method M] [--convention own|zero_sum|logit] [--json]
    dice-jax llm generate|logits --model PATH --prompt TEXT ...
    dice-jax pc run CONFIG [--out DIR] [--quiet] | pc report FOLDER | pc validate CONFIG
    dice-jax ft run CONFIG [--out DIR] | ft report DIR | ft validate CONFIG

Exit status, the same for every command: 0 success (converged, certified), 1 ran but did not
succeed (not converged, not certified), 2 bad input (a one-line message on stderr naming the
file, line or field), 3 an internal error (a bug: please report it with the ``--debug``
traceback), 130 interrupted. No traceback is printed unless ``--debug`` is given (before the
command: ``dice-jax --debug solve ...``).

Command groups (the hook). A command group is a module with two functions:

    register(subparsers) -> None   add one or more commands with ``subparsers.add_parser``;
                                   parse lazily (heavy imports inside ``run``)
    run(args) -> int               execute a parsed command of the group; return the exit status

and its dotted name listed in :data:`GROUPS`. The dispatcher calls ``register`` on the shared
sub-parsers object, routes every command the module added to the module's ``run``, and turns
any exception ``run`` raises into the exit status above through
:func:`dice_jax.cli.errors.exit_status`: a group raises ``ValueError`` / ``TypeError`` (or ``OSError``) for bad input and
never prints its own error, so that every command reports errors the same way. To add a group
(as ``pc`` and ``ft`` do), write ``register``/``run`` in its package and append its module
name to :data:`GROUPS`.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from typing import List, Optional

from dice_jax.cli.errors import exit_status
from dice_jax.cli.parser import OneLineErrorParser

#: The command groups, in the order of ``dice-jax --help``.
GROUPS = (
  "dice_jax.cli.solve",
  "dice_jax.cli.certify",
  "dice_jax.cli.markov",
  "dice_jax.cli.llm",
  "dice_jax.pc.cli",
  "dice_jax.ft.cli",
)

__all__ = ["GROUPS", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
  """The ``dice-jax`` parser with every group of :data:`GROUPS` registered.

  Each command's parser carries the default ``_run``, its group's ``run`` function.
  """
  parser = OneLineErrorParser(
    prog="dice-jax",
    description="dice-jax: HQRE equilibria of games, their certificates, "
    "and DICE coordination of LLM agents.",
    epilog="Exit status: 0 success, 1 ran but did not converge (or was not certified), 2 bad "
    "input, 3 internal error. 'dice-jax COMMAND --help' describes a command.",
  )
  parser.add_argument(
    "--debug", action="store_true", help="print the full traceback of an error (for bug reports)"
  )
  sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
  for name in GROUPS:
    module = importlib.import_module(name)
    before = set(sub.choices)
    module.register(sub)
    for command in set(sub.choices) - before:
      sub.choices[command].set_defaults(_run=module.run)
      _plain_text(sub.choices[command])
  for action in sub._choices_actions:
    action.help = _plain(action.help)
  return parser


_MARKUP = re.compile(r"``|:(?:func|mod|class|meth|data|attr):`([^`]*)`")


def _plain(text):
  """``text`` without reStructuredText markup (double backquotes, :func: roles)."""
  return text if not text else _MARKUP.sub(lambda m: m.group(1) or "", text)


def _plain_text(parser: argparse.ArgumentParser) -> None:
  """Strip markup from a parser's description and help strings, sub-commands included (a group
  may reuse its module docstring as the description)."""
  parser.description = _plain(parser.description)
  for action in parser._actions:
    action.help = _plain(action.help)
    if isinstance(action, argparse._SubParsersAction):
      for choice in action._choices_actions:
        choice.help = _plain(choice.help)
      for child in action.choices.values():
        _plain_text(child)


def main(argv: Optional[List[str]] = None) -> int:
  """Parse ``argv`` (default ``sys.argv[1:]``), run the command, return the exit status."""
  parser = build_parser()
  try:
    args = parser.parse_args(argv)
  except SystemExit as e:  # --help (0) or a usage error (2, already printed in one line)
    return int(e.code or 0)
  debug = bool(getattr(args, "debug", False))
  try:
    return int(args._run(args))
  except BaseException as e:  # noqa: BLE001 - the one place errors become exit codes
    if isinstance(e, SystemExit):
      raise
    code, message = exit_status(e)
    if debug:
      import traceback  # noqa: PLC0415

      traceback.print_exc()
    print(f"dice-jax {args.command}: {message}", file=sys.stderr)
    return code
