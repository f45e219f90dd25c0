"""The command triple of a config-driven tool: ``dice-jax NAME run CONFIG [--out DIR]
[--quiet]``, ``NAME report FOLDER`` and ``NAME validate CONFIG`` (DICE-PC's ``pc`` and
DICE-FT's ``ft`` groups are built on it).

:func:`add_config_tool` registers the three sub-commands with the arguments every tool shares
and returns their parsers, so that a tool adds its own options; :func:`run_config_tool`
dispatches a parsed command to the tool's functions and turns a bad config or folder
(``ValueError``; the settings types raise it naming the field) into exit status 2 with one
message line, before anything is written; :func:`output_folder` is where ``run`` writes (``--out``
or the config's ``output``); :func:`standalone_main` is a tool module's own ``python -m`` entry.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Mapping, NamedTuple, Optional, Sequence


class ConfigToolParsers(NamedTuple):
  """The tool's parser and those of its three sub-commands (to add its own options to)."""

  tool: argparse.ArgumentParser
  run: argparse.ArgumentParser
  report: argparse.ArgumentParser
  validate: argparse.ArgumentParser


def add_config_tool(
  subparsers,
  name: str,
  *,
  help: str,
  description: str,
  run_help: str,
  report_help: str,
  validate_help: str = "check a config and print its resolved settings",
  out_help: str = "output folder (overrides the config's output)",
  quiet_help: str = "no progress bars or progress lines",
) -> ConfigToolParsers:
  """Add ``name`` with ``run CONFIG [--out DIR] [--quiet]``, ``report FOLDER`` and ``validate
  CONFIG`` (a YAML or JSON file read by ``dice_jax.<name>.config``) to an ``argparse``
  sub-parser collection; the chosen sub-command lands in ``args.<name>_command``."""
  config_help = f"a YAML or JSON config (see dice_jax.{name}.config)"
  p = subparsers.add_parser(
    name,
    help=help,
    description=description,
    formatter_class=argparse.RawDescriptionHelpFormatter,
  )
  sub = p.add_subparsers(dest=f"{name}_command", required=True)
  r = sub.add_parser("run", help=run_help)
  r.add_argument("config", help=config_help)
  r.add_argument("--out", help=out_help)
  r.add_argument("--quiet", "-q", action="store_true", help=quiet_help)
  rep = sub.add_parser("report", help=report_help)
  rep.add_argument("folder")
  v = sub.add_parser("validate", help=validate_help)
  v.add_argument("config", help=config_help)
  return ConfigToolParsers(p, r, rep, v)


def output_folder(args, configured: Optional[str]) -> str:
  """Where ``run`` writes: ``--out DIR``, else the config's ``output``.

  Raises:
    ValueError: ``output: missing: ...`` when neither gives a folder.
  """
  out = args.out or configured
  if not out:
    raise ValueError("output: missing: give output in the config or --out DIR.")
  return out


def run_config_tool(name: str, args, commands: Mapping[str, Callable[..., int]]) -> int:
  """Call ``commands[args.<name>_command](args)``; a ``ValueError`` (a bad config or folder,
  named by the message) becomes ``dice-jax NAME: error: ...`` on stderr and exit status 2."""
  try:
    return commands[getattr(args, f"{name}_command")](args)
  except ValueError as e:
    print(f"dice-jax {name}: error: {e}", file=sys.stderr)
    return 2


def standalone_main(register, run, argv: Optional[Sequence[str]] = None) -> int:
  """A tool module's ``python -m`` entry: its ``register``/``run`` pair on a fresh parser."""
  parser = argparse.ArgumentParser(prog="dice-jax")
  register(parser.add_subparsers(dest="command", required=True))
  return run(parser.parse_args(argv))
