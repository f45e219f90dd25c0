"""LoRA adapters on chosen projections, with PEFT-compatible save/load and merging.

LoRA (Hu et al. 2021, arXiv:2106.09685) replaces a frozen linear map ``W`` by
``W + (α / r) · A B`` with ``A ∈ R^{in × r}``, ``B ∈ R^{r × out}``; ``B`` starts at zero so the
adapted model equals the base model at creation. rsLoRA (Kalajdzievski 2023, arXiv:2312.03732)
scales by ``α / √r`` instead.

:class:`ScaledLoRA` is flax's ``nnx.LoRA`` wrapped around the base ``nnx.Linear`` with the
``α / r`` scaling that ``nnx.LoRA`` lacks. Its ``lora_a`` / ``lora_b`` are ``nnx.LoRAParam``
variables. ``LoRAParam`` subclasses ``Param``, so filtering on ``nnx.Param`` would train the
base too: train on :data:`ADAPTER` (``nnx.LoRAParam``) and freeze :data:`BASE`
(``All(Param, Not(LoRAParam))``).

PEFT layout (``peft.PeftModel.from_pretrained`` loads it): ``adapter_config.json`` and
``adapter_model.safetensors`` with keys
``base_model.model.<module path>.lora_A.weight`` (``[r, in]`` = ``Aᵀ``) and ``….lora_B.weight``
(``[out, r]`` = ``Bᵀ``); GPT-2's ``Conv1D`` layers need ``fan_in_fan_out = true`` in the config
(the LoRA matrices themselves have the same shapes). Reference: PEFT ``tuners/lora/layer.py``
and ``config.py`` (v0.x).
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Sequence

import jax.numpy as jnp
import numpy as np
from flax import nnx

from dice_jax.llm.errors import CheckpointError

__all__ = [
  "ScaledLoRA",
  "ADAPTER",
  "BASE",
  "apply_lora",
  "lora_modules",
  "merge_lora",
  "save_lora_adapter",
  "load_lora_adapter",
  "lora_optimizer",
]

#: Filter for the trainable adapter parameters.
ADAPTER = nnx.LoRAParam
#: Filter for the frozen base parameters (LoRAParam subclasses Param, hence the Not).
BASE = nnx.All(nnx.Param, nnx.Not(nnx.LoRAParam))

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
_PREFIX = "base_model.model."


class ScaledLoRA(nnx.LoRA):
  """``base(x) + scaling · (x A) B`` around an ``nnx.Linear`` ``base`` (``scaling = α / r``)."""

  def __init__(
    self, base: nnx.Linear, *, rank: int, alpha: float, rngs: nnx.Rngs, use_rslora: bool = False
  ):
    if rank < 1:
      raise ValueError(f"LoRA rank must be >= 1, got {rank}")
    dtype = base.kernel[...].dtype
    super().__init__(
      base.in_features, rank, base.out_features, base_module=base, param_dtype=dtype, rngs=rngs
    )
    self.rank = rank
    self.alpha = float(alpha)
    self.use_rslora = use_rslora
    self.scaling = float(alpha) / (math.sqrt(rank) if use_rslora else rank)

  def __call__(self, x):
    delta = (x @ self.lora_a[...].astype(x.dtype)) @ self.lora_b[...].astype(x.dtype)
    return self.base_module(x) + jnp.asarray(self.scaling, x.dtype) * delta


def _dotted(path) -> str:
  return ".".join(str(p) for p in path)


def _matches(path, targets) -> bool:
  name = _dotted(path)
  if isinstance(targets, str):
    return re.fullmatch(targets, name) is not None
  return str(path[-1]) in targets


def _get(root, path):
  node = root
  for p in path:
    node = node[p] if isinstance(p, int) else getattr(node, p)
  return node


def _set(root, path, value):
  parent = _get(root, path[:-1])
  if isinstance(path[-1], int):
    parent[path[-1]] = value
  else:
    setattr(parent, path[-1], value)


def lora_modules(model) -> dict[str, ScaledLoRA]:
  """``{dotted module path: ScaledLoRA}`` of every adapter in ``model``."""
  return {
    _dotted(path): node for path, node in nnx.iter_graph(model) if isinstance(node, ScaledLoRA)
  }


def apply_lora(
  model,
  *,
  rank: int,
  alpha: float,
  targets: Sequence[str] | str = ("q_proj", "v_proj"),
  rngs: nnx.Rngs | None = None,
  use_rslora: bool = False,
):
  """Wrap every ``nnx.Linear`` named in ``targets`` with a :class:`ScaledLoRA` (in place).

  Args:
    model: an NNX causal LM.
    rank, alpha: LoRA rank ``r`` and ``α`` (scaling ``α / r``, or ``α / √r`` with ``use_rslora``).
    targets: module names (the last path component, as PEFT's ``target_modules`` list, e.g.
      ``("q_proj", "v_proj")``, ``("c_attn",)`` for GPT-2) or a regular expression matched
      against the full dotted path (as a PEFT ``target_modules`` string).
    rngs: initialises ``A`` (He-uniform); ``B`` is zero, so outputs are unchanged.

  Returns:
    ``model`` (modified in place).

  Raises:
    ValueError: no module matched, or a match is already adapted.
  """
  rngs = rngs if rngs is not None else nnx.Rngs(0)
  found = [
    (path, node)
    for path, node in nnx.iter_graph(model)
    if isinstance(node, nnx.Linear) and path and _matches(path, targets)
  ]
  if not found:
    raise ValueError(f"apply_lora: no nnx.Linear module matches targets={targets!r}")
  if lora_modules(model):
    raise ValueError("apply_lora: the model already has LoRA adapters (merge_lora them first)")
  for path, node in found:
    _set(
      model, tuple(path), ScaledLoRA(node, rank=rank, alpha=alpha, rngs=rngs, use_rslora=use_rslora)
    )
  return model


def merge_lora(model):
  """Fold every adapter into its base kernel, ``W ← W + scaling · A B``, and remove it (in place)."""
  for path, node in [(p, n) for p, n in nnx.iter_graph(model) if isinstance(n, ScaledLoRA)]:
    base = node.base_module
    delta = node.scaling * (
      node.lora_a[...].astype(jnp.float32) @ node.lora_b[...].astype(jnp.float32)
    )
    base.kernel[...] = (base.kernel[...].astype(jnp.float32) + delta).astype(base.kernel[...].dtype)
    _set(model, tuple(path), base)
  return model


def lora_optimizer(model, tx) -> nnx.Optimizer:
  """An ``nnx.Optimizer`` over the adapter parameters only (``wrt=nnx.LoRAParam``)."""
  return nnx.Optimizer(model, tx, wrt=ADAPTER)


def save_lora_adapter(
  model, directory: str | os.PathLike, *, base_model_name_or_path: str | None = None
) -> None:
  """Write the adapters of ``model`` in PEFT layout (config + safetensors) into ``directory``."""
  from safetensors.numpy import save_file

  mods = lora_modules(model)
  if not mods:
    raise ValueError("save_lora_adapter: the model has no LoRA adapters")
  settings = {(m.rank, m.alpha, m.use_rslora) for m in mods.values()}
  if len(settings) != 1:
    raise ValueError(
      f"save_lora_adapter: adapters with different (rank, alpha, rslora) {sorted(settings)}"
    )
  rank, alpha, rslora = settings.pop()
  tensors = {}
  for name, m in mods.items():
    tensors[f"{_PREFIX}{name}.lora_A.weight"] = np.ascontiguousarray(
      np.asarray(m.lora_a[...], np.float32).T
    )
    tensors[f"{_PREFIX}{name}.lora_B.weight"] = np.ascontiguousarray(
      np.asarray(m.lora_b[...], np.float32).T
    )
  targets = sorted({name.rsplit(".", 1)[-1] for name in mods})
  cfg = model.config
  config = {
    "peft_type": "LORA",
    "task_type": "CAUSAL_LM",
    "r": rank,
    "lora_alpha": alpha if not float(alpha).is_integer() else int(alpha),
    "target_modules": targets,
    "lora_dropout": 0.0,
    "bias": "none",
    "fan_in_fan_out": cfg.family == "gpt2",
    "use_rslora": rslora,
    "use_dora": False,
    "init_lora_weights": True,
    "modules_to_save": None,
    "rank_pattern": {},
    "alpha_pattern": {},
    "base_model_name_or_path": base_model_name_or_path,
    "inference_mode": True,
  }
  os.makedirs(directory, exist_ok=True)
  with open(os.path.join(directory, CONFIG_FILE), "w", encoding="utf-8") as f:
    json.dump(config, f, indent=2)
  save_file(tensors, os.path.join(directory, WEIGHTS_FILE), metadata={"format": "pt"})


def load_lora_adapter(model, directory: str | os.PathLike, *, rngs: nnx.Rngs | None = None):
  """Attach the PEFT adapter in ``directory`` to ``model`` (in place) and return it.

  Raises:
    CheckpointError: missing files, unsupported PEFT options (DoRA, per-module rank/alpha
      patterns, ``modules_to_save``, bias training), and missing/unused/mis-shaped tensors,
      each naming the file and key.
  """
  from safetensors import SafetensorError
  from safetensors.numpy import load_file

  directory = os.fspath(directory)
  cpath = os.path.join(directory, CONFIG_FILE)
  wpath = os.path.join(directory, WEIGHTS_FILE)
  for p in (cpath, wpath):
    if not os.path.isfile(p):
      raise CheckpointError(f"{p}: missing adapter file")
  try:
    with open(cpath, encoding="utf-8") as f:
      conf = json.load(f)
  except (json.JSONDecodeError, UnicodeDecodeError) as e:
    raise CheckpointError(f"{cpath}: not valid JSON ({e})") from e
  if conf.get("peft_type", "LORA") != "LORA":
    raise CheckpointError(
      f"{cpath}: 'peft_type'={conf.get('peft_type')!r}, only 'LORA' is supported"
    )
  for key in (
    "use_dora",
    "rank_pattern",
    "alpha_pattern",
    "modules_to_save",
    "layers_to_transform",
    "lora_bias",
  ):
    if conf.get(key):
      raise CheckpointError(f"{cpath}: {key!r}={conf[key]!r} is not supported")
  if conf.get("bias", "none") != "none":
    raise CheckpointError(f"{cpath}: 'bias'={conf['bias']!r} is not supported (only 'none')")
  for key in ("r", "lora_alpha", "target_modules"):
    if key not in conf:
      raise CheckpointError(f"{cpath}: missing key {key!r}")
  try:
    tensors = load_file(wpath)
  except (SafetensorError, OSError, ValueError) as e:
    raise CheckpointError(
      f"{wpath}: cannot read safetensors file (truncated or corrupt?): {e}"
    ) from e
  targets = conf["target_modules"]
  apply_lora(
    model,
    rank=int(conf["r"]),
    alpha=float(conf["lora_alpha"]),
    targets=targets if isinstance(targets, str) else tuple(targets),
    rngs=rngs,
    use_rslora=bool(conf.get("use_rslora", False)),
  )
  mods = lora_modules(model)
  expected = {}
  for name, m in mods.items():
    expected[f"{_PREFIX}{name}.lora_A.weight"] = (m.lora_a, (m.rank, m.in_features))
    expected[f"{_PREFIX}{name}.lora_B.weight"] = (m.lora_b, (m.out_features, m.rank))
  renamed = {
    re.sub(r"\.lora_([AB])\.default\.weight$", r".lora_\1.weight", k): v for k, v in tensors.items()
  }
  missing = [k for k in expected if k not in renamed]
  if missing:
    raise CheckpointError(f"{wpath}: missing tensor {missing[0]!r} ({len(missing)} missing in all)")
  unused = [k for k in renamed if k not in expected]
  if unused:
    raise CheckpointError(f"{wpath}: unused tensor {unused[0]!r} matches no adapted module")
  for key, (var, shape) in expected.items():
    arr = renamed[key]
    if tuple(arr.shape) != shape:
      raise CheckpointError(
        f"{wpath}: shape mismatch for tensor {key!r}: file has {tuple(arr.shape)}, "
        f"the model needs {shape}"
      )
    var[...] = jnp.asarray(np.ascontiguousarray(arr.T), dtype=var[...].dtype)
  return model
