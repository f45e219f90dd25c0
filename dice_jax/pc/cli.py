"""``dice-jax pc``: run DICE-PC and its baselines from a config file, and report the results.

    dice-jax pc run CONFIG [--out DIR] [--quiet]
    dice-jax pc report FOLDER [--window W]
    dice-jax pc validate CONFIG

``run`` validates CONFIG (:mod:`dice_jax.pc.config`; YAML or JSON) before any work, then plays
every method for every seed with the same budget (:func:`dice_jax.pc.harness.loop.run`) and writes
the results folder (``--out`` overrides the config's ``output``)::

    DIR/config.yaml                     the config file, copied as given
    DIR/summary.json                    the comparison (dice_jax.pc.report.compare): per method,
                                        mean / std / 95% CI over seeds of accuracy, tokens per
                                        task, final equilibrium regret, oscillation index,
                                        certified fraction, ...; plus the resolved config
    DIR/<method>/seed<k>/records.jsonl  one JSON record per round (dice_jax.pc.harness.loop)
    DIR/<method>/seed<k>/summary.json   that run's summary
    DIR/frontier.png, regret.png, oscillation.png

and prints the comparison table. ``report`` regenerates the plots of a results folder (also a
:func:`dice_jax.pc.harness.loop.compare` folder) and prints the table. ``validate`` checks a config
and prints the game it describes. Progress bars (tqdm, on stderr) unless ``--quiet``. Exit
status: 0 on success, 2 for a bad config or folder (the message names the field).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

from dice_jax.cli import config_tool

__all__ = ["register", "run", "main"]


def register(subparsers) -> argparse.ArgumentParser:
  """Add the ``pc`` command (``run`` / ``report`` / ``validate``) to an ``argparse`` sub-parser
  collection."""
  parsers = config_tool.add_config_tool(
    subparsers,
    "pc",
    help="DICE-PC: coordinate frozen LLM agents (run a config, report results)",
    description=__doc__.split("\n\n")[0],
    run_help="run every method and seed of a config; write a results folder",
    report_help="regenerate the plots of a results folder; print the table",
    validate_help="check a config and print the game it describes",
  )
  parsers.report.add_argument(
    "--window", type=int, default=25, help="moving-average window of the oscillation curve (rounds)"
  )
  return parsers.tool


def run(args) -> int:
  """Run the parsed ``pc`` command; returns the exit status (0 ok, 2 bad config or folder;
  the config reader's ``ConfigError`` is a ``ValueError``)."""
  return config_tool.run_config_tool(
    "pc", args, {"run": _run, "report": _report, "validate": _validate}
  )


def _validate(args) -> int:
  from dice_jax.pc.config import load_config

  cfg = load_config(args.config)
  print(json.dumps(cfg.to_dict(), indent=1))
  return 0


def _run(args) -> int:
  from dice_jax.pc.config import load_config

  cfg = load_config(args.config)
  out = config_tool.output_folder(args, cfg.output)
  import jax

  jax.config.update("jax_enable_x64", True)  # DICE-PC's solver tolerance is a float64 one
  from dice_jax.pc.report import compare as C
  from dice_jax.pc.harness.loop import run as run_harness

  os.makedirs(out, exist_ok=True)
  ext = os.path.splitext(cfg.path)[1] or ".yaml"
  shutil.copyfile(cfg.path, os.path.join(out, "config" + ext))
  quiet = bool(args.quiet)
  total = len(cfg.seeds) * len(cfg.methods)
  start = time.perf_counter()
  k = 0
  try:
    for seed in cfg.seeds:
      env = cfg.build_environment(seed)
      tokens = {}
      for m in cfg.methods:
        k += 1
        budget = tokens.get(m.match) if m.match is not None else None
        policy = m.build(token_budget=budget)
        if not quiet:
          print(f"[{k}/{total}] {m.label} seed {seed}", file=sys.stderr, flush=True)
        res = run_harness(
          env,
          policy,
          rounds=cfg.rounds,
          batch_size=cfg.batch_size,
          seed=seed,
          temperature=cfg.temperature,
          reference=list(cfg.reference),
          out_dir=os.path.join(out, m.label, f"seed{seed}"),
          progress=not quiet,
          monotonicity=cfg.monotonicity,
          num_bootstrap=cfg.num_bootstrap,
        )
        tokens[m.label] = res.summary.get("tokens_per_task")
  finally:
    cfg.close()
  extra = {
    "name": cfg.name,
    "description": cfg.description,
    "environment": cfg.environment,
    "seeds": list(cfg.seeds),
    "rounds": cfg.rounds,
    "batch_size": cfg.batch_size,
    "spec": cfg.spec.to_dict(),
    "resolved": cfg.to_dict(),
    "config": cfg.raw,
    "config_file": "config" + ext,
    "seconds": time.perf_counter() - start,
  }
  only = {m.label: list(cfg.seeds) for m in cfg.methods}  # not runs left from earlier ones
  summary = C.comparison_summary(out, extra=extra, only=only)
  C.write_summary(out, summary)
  paths = C.plot_comparison(out, runs=C.collect(out, only=only))
  print(C.format_table(summary["methods"]))
  print(
    f"\nresults: {out} ({total} runs, {summary['seconds']:.1f} s); plots: "
    + ", ".join(os.path.basename(p) for p in paths)
  )
  return 0


def _report(args) -> int:
  from dice_jax.pc.report import compare as C

  runs = C.collect(args.folder)
  paths = C.plot_comparison(args.folder, window=args.window, runs=runs)
  print(C.format_table(C.aggregate(runs)))
  print("\nplots: " + ", ".join(paths))
  return 0


def main(argv=None) -> int:
  """Stand-alone entry (``python -m dice_jax.pc.cli pc run CONFIG``)."""
  return config_tool.standalone_main(register, run, argv)


if __name__ == "__main__":
  sys.exit(main())
