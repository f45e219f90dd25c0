"""``dice-jax ft``: run DICE-FT from a config file, report a run folder, check a config.

    dice-jax ft run CONFIG [--out DIR] [--quiet] [--stop-after K]
    dice-jax ft report DIR
    dice-jax ft validate CONFIG

``run`` maps CONFIG onto :class:`dice_jax.ft.settings.RunSettings` (:mod:`dice_jax.ft.config`)
and checks every field before any work, then runs or resumes the run in DIR (``--out``
overrides the config's ``output``; :mod:`dice_jax.ft.harness.runner` describes the folder:
``records.jsonl``, ``eval.jsonl``, PEFT adapters per iteration, a checkpoint to resume from,
``summary.json``) and writes ``training.png``. Running it again on the same folder continues
after the last completed iteration. ``report`` redraws the plot and prints the table;
``validate`` prints the resolved settings. Exit status: 0 on success, 2 for a bad config or
folder (the message names the field; nothing is written).
"""

from __future__ import annotations

import argparse
import json
import sys

from dice_jax.cli import config_tool

__all__ = ["register", "run", "main"]


def register(subparsers) -> argparse.ArgumentParser:
  """Add the ``ft`` command (``run`` / ``report`` / ``validate``) to an ``argparse`` sub-parser
  collection."""
  parsers = config_tool.add_config_tool(
    subparsers,
    "ft",
    help="DICE-FT: mirror fine-tuning of LoRA agents (run a config, report a run)",
    description=__doc__.split("\n\n")[0],
    run_help="run or resume a DICE-FT config; write a run folder",
    report_help="redraw training.png of a run folder; print the table",
  )
  parsers.run.add_argument(
    "--stop-after",
    type=int,
    default=None,
    help="stop after this many completed iterations (resume later)",
  )
  return parsers.tool


def run(args) -> int:
  """Run the parsed ``ft`` command; returns the exit status (0 ok, 2 bad config or folder)."""
  return config_tool.run_config_tool(
    "ft", args, {"run": _run, "report": _report, "validate": _validate}
  )


def _report(args) -> int:
  from dice_jax.ft.report import report  # noqa: PLC0415

  print(report(args.folder))
  return 0


def _validate(args) -> int:
  from dice_jax.ft.config import load_config, to_dict  # noqa: PLC0415

  print(json.dumps(to_dict(load_config(args.config)), indent=1, default=str))
  return 0


def _run(args) -> int:
  from dice_jax.ft.config import load_config  # noqa: PLC0415

  settings = load_config(args.config)
  out = config_tool.output_folder(args, settings.output)
  if args.stop_after is not None and args.stop_after < 0:
    raise ValueError(f"--stop-after must be >= 0; got {args.stop_after}.")
  from dice_jax.ft.harness.runner import run_settings  # noqa: PLC0415
  from dice_jax.ft.report import report  # noqa: PLC0415

  log = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
  summary = run_settings(
    settings,
    out,
    config_path=args.config,
    progress=not args.quiet,
    stop_after=args.stop_after,
    log=log,
  )
  print(report(out))
  print(
    f"\nrun folder: {out} ({summary['completed_iterations']}/{summary['iterations']} "
    "iterations completed)"
  )
  return 0


def main(argv=None) -> int:
  """Stand-alone entry (``python -m dice_jax.ft.cli ft run CONFIG``)."""
  return config_tool.standalone_main(register, run, argv)


if __name__ == "__main__":
  sys.exit(main())
