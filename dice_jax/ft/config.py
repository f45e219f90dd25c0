"""The configuration of ``dice-jax ft run CONFIG``: a YAML or JSON file mapped onto
:class:`~dice_jax.ft.settings.RunSettings`.

The reader only maps: every section goes to the settings type that checks it
(:mod:`dice_jax.ft.settings`, :class:`dice_jax.rollouts.Sampling`), and a bad field comes back as
a :class:`~dice_jax.rollouts.config_files.ConfigError` whose message starts with its path
(``loop.step_size: must be > 0; got -1``). Nothing is loaded or written before the whole file
checks. The file itself is read by :func:`dice_jax.rollouts.config_files.read_config_file`
(UTF-8, size, nesting depth and duplicate keys checked, naming file and line).

**Schema** (``examples/ft/arithmetic.yaml`` is a complete, commented example)::

    name: arithmetic-ft             # optional label (default: the file name)
    description: ...
    output: results/ft/arithmetic   # run folder (``dice-jax ft run --out DIR`` overrides it)
    seed: 0                         # sampling keys and adapter initialisation
    model: {path: null, lora_rank: 8, lora_alpha: 16, lora_targets: [q_proj, v_proj],
            learning_rate: 1.0e-3}  # path null: the bundled SmolLM2-135M-Instruct
    tasks: {kind: arithmetic, train: 16, test: 16, difficulties: [1, 2], seed: 0,
            test_fraction: 0.5,     # the train and test split of one rollouts.TaskSource
            instruction: "..."}     # kind jsonl needs path (relative to this file)
    sampling: {num_candidates: 8, max_new_tokens: 40, temperature: 0.7, top_p: 1.0,
               prompt_bucket: 8, max_batch: null}   # prompts padded to a multiple of
                                    # prompt_bucket tokens (fewer shapes, fewer compilations)
    loop: {iterations: 4, prompts_per_iteration: 4, step_size: 2.0,
           temperature: {arithmetic/d1: 0.05, arithmetic/d2: 0.1}, inner_steps: 3,
           token_cost: 0.0, fit_tol: 1.0e-6, agents: [solver]}
    evaluation: {max_new_tokens: 40, batch: 16, every: 0}
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping, Optional

from dice_jax.ft.settings import (
  EvalSettings,
  LoopSettings,
  ModelSettings,
  RunSettings,
  TaskSettings,
)
from dice_jax.rollouts.config_files import (
  ConfigError,
  build,
  existing_path,
  field_error,
  mapping,
  read_config_file,
)
from dice_jax.rollouts.sampler import Sampling

__all__ = ["ConfigError", "load_config", "parse_config", "to_dict"]

_SECTIONS = {
  "model": ModelSettings,
  "tasks": TaskSettings,
  "loop": LoopSettings,
  "evaluation": EvalSettings,
}
_TOP = ("name", "description", "output", "seed", "model", "tasks", "sampling", "loop", "evaluation")
_SAMPLING_FIXED = {"stop_ids": (), "pad_id": 0, "tokenizer": None, "dedupe": True}


def parse_config(data: Any, *, base_dir: str = ".", name: Optional[str] = None) -> RunSettings:
  """Map a parsed config onto :class:`RunSettings`; relative paths resolve against ``base_dir``.

  Raises:
    ConfigError: naming the field's path.
  """
  top = mapping({} if data is None else data, "", _TOP)
  if "sampling" not in top:
    raise ConfigError("sampling", "missing: give at least num_candidates and max_new_tokens.")
  sections = {k: build(cls, top.get(k), k) for k, cls in _SECTIONS.items()}
  sampling = build(Sampling, top["sampling"], "sampling", **_SAMPLING_FIXED)
  for section in ("model", "tasks"):
    value = sections[section].path
    if value is not None:
      full = existing_path(value, f"{section}.path", base_dir)
      sections[section] = dataclasses.replace(sections[section], path=full)
  scalars = {k: top[k] for k in ("name", "description", "output", "seed") if k in top}
  scalars.setdefault("name", name or "dice-ft")
  try:
    return RunSettings(sampling=sampling, **sections, **scalars)
  except ValueError as e:
    raise field_error(e, "", _TOP) from None


def load_config(path: str | os.PathLike) -> RunSettings:
  """Read and map a config file (``.json``: JSON; otherwise YAML).

  Raises:
    ConfigError: naming the file and line, or the field's path.
  """
  path = os.fspath(path)
  data, _ = read_config_file(path)
  return parse_config(
    data,
    base_dir=os.path.dirname(os.path.abspath(path)),
    name=os.path.splitext(os.path.basename(path))[0],
  )


def to_dict(settings: RunSettings) -> Mapping[str, Any]:
  """JSON-ready resolved settings (what the run folder records)."""
  out = {}
  for f in dataclasses.fields(settings):
    v = getattr(settings, f.name)
    if dataclasses.is_dataclass(v):
      v = {
        g.name: getattr(v, g.name)
        for g in dataclasses.fields(v)
        if g.init and not (f.name == "sampling" and g.name == "tokenizer")
      }
      v = {k: (list(x) if isinstance(x, tuple) else x) for k, x in v.items()}
    out[f.name] = v
  return out
