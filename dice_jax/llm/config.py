"""Model configuration: one frozen dataclass for every supported architecture.

:func:`config_from_hf` reads a Hugging Face ``config.json`` dictionary, in both the transformers
v4 layout (``rope_theta`` and ``rope_scaling`` at top level, ``torch_dtype``) and the v5 layout
(``rope_parameters = {"rope_type", "rope_theta", ...}``, ``dtype``), and maps it onto
:class:`LMConfig`. Anything whose maths the bridge does not implement (an unknown
``model_type``, RoPE types other than ``default``/``linear``/``llama3``, sliding windows, partial
rotary embeddings, a non-SiLU Llama MLP) raises :class:`~dice_jax.llm.errors.UnsupportedModelError`
naming the file and the key, instead of running with the wrong maths.

Values are checked by kind before use: an integer key holding ``16.7``, ``"16"``, ``true`` or a
list, a number key holding text, a mapping key (``rope_scaling``) holding a number, are a
:class:`~dice_jax.llm.errors.CheckpointError` naming the file and the key; ``null`` means "absent"
(the Hugging Face convention) except for ``rope_theta``, where it is rejected. The settings types
check their own ranges (:meth:`LMConfig.__post_init__`: sizes and head counts >= 1, the number of
heads a multiple of the key/value heads...), and the reader reports their errors under the key it
read. ``config.json`` is read with the limits of :func:`dice_jax._validation.load_json` (at most
:data:`MAX_CONFIG_BYTES` bytes, :data:`MAX_CONFIG_DEPTH` levels, strict UTF-8, no duplicate keys).

References: transformers ``models/llama/configuration_llama.py``, ``models/qwen2/configuration_qwen2.py``,
``models/gpt2/configuration_gpt2.py`` and ``modeling_rope_utils.py`` (v5.x).
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Mapping

from dice_jax import _validation
from dice_jax.llm.errors import CheckpointError, UnsupportedModelError

__all__ = ["LMConfig", "RopeConfig", "config_from_hf", "load_hf_config"]

#: model_type values read from config.json, mapped to the implementation family.
SUPPORTED_MODEL_TYPES = {"llama": "llama", "mistral": "llama", "qwen2": "llama", "gpt2": "gpt2"}
SUPPORTED_ROPE_TYPES = ("default", "linear", "llama3")
SUPPORTED_ACTIVATIONS = ("silu", "gelu_new", "gelu", "gelu_pytorch_tanh", "relu")
#: The largest config.json read (bytes) and its deepest nesting.
MAX_CONFIG_BYTES = 16 * 2**20
MAX_CONFIG_DEPTH = 32


class FieldError(CheckpointError):
  """A settings field out of range; ``field`` names it so a reader can name its own key."""

  def __init__(self, field: str, reason: str):
    super().__init__(f"{field} {reason}")
    self.field, self.reason = field, reason


def _real(v) -> bool:
  """A finite int or float (not bool; an int within float64's range)."""
  if isinstance(v, bool) or not isinstance(v, (int, float)):
    return False
  return v.bit_length() <= 1023 if isinstance(v, int) else math.isfinite(v)


def _check_fields(obj, ints=(), positive=(), at_least_one=True):
  """Raise :class:`FieldError` for the first integer field < 1 or number field not finite > 0."""
  for name in ints:
    v = getattr(obj, name)
    if isinstance(v, bool) or not isinstance(v, int) or (at_least_one and v < 1):
      raise FieldError(name, f"must be an integer >= 1; got {v!r}")
  for name in positive:
    v = getattr(obj, name)
    if not (_real(v) and v > 0):
      raise FieldError(name, f"must be a finite number > 0; got {v!r}")


@dataclasses.dataclass(frozen=True)
class RopeConfig:
  """Rotary position embedding settings (Su et al. 2021, arXiv:2104.09864).

  Attributes:
    theta: the base θ of the inverse frequencies θ^(-2i/d).
    rope_type: ``"default"``, ``"linear"`` (positions divided by ``factor``) or ``"llama3"``
      (Llama 3.1 band-wise frequency scaling).
    factor, low_freq_factor, high_freq_factor, original_max_position_embeddings: the scaling
      parameters of ``linear`` / ``llama3`` (unused for ``default``).
  """

  theta: float = 10000.0
  rope_type: str = "default"
  factor: float = 1.0
  low_freq_factor: float = 1.0
  high_freq_factor: float = 4.0
  original_max_position_embeddings: int = 8192

  def __post_init__(self):
    if self.rope_type not in SUPPORTED_ROPE_TYPES:
      raise UnsupportedModelError(
        f"rope_type {self.rope_type!r} is not supported; supported: {SUPPORTED_ROPE_TYPES}"
      )
    _check_fields(
      self,
      ints=("original_max_position_embeddings",),
      positive=("theta", "factor", "low_freq_factor", "high_freq_factor"),
    )
    if self.rope_type == "llama3" and self.high_freq_factor == self.low_freq_factor:
      raise FieldError(
        "high_freq_factor", "must differ from low_freq_factor (llama3 divides by their difference)"
      )


@dataclasses.dataclass(frozen=True)
class LMConfig:
  """Architecture of a decoder-only causal language model.

  ``family="llama"`` covers Llama 2/3, SmolLM2 and Qwen2: pre-RMSNorm blocks, rotary
  embeddings, grouped-query attention, a gated (SwiGLU) MLP, optional q/k/v biases (Qwen2) and
  optionally tied input/output embeddings. ``family="gpt2"`` is GPT-2: pre-LayerNorm blocks,
  learned absolute position embeddings, fused qkv with biases, a GELU MLP, tied embeddings.

  The dataclass is frozen and hashable, so it can be a static argument of ``jax.jit``.
  """

  family: str
  model_type: str
  vocab_size: int
  hidden_size: int
  intermediate_size: int
  num_layers: int
  num_heads: int
  num_kv_heads: int
  head_dim: int
  max_position_embeddings: int
  norm_eps: float
  activation: str = "silu"
  attention_bias: bool = False  # q/k/v biases (Qwen2, Llama attention_bias)
  o_bias: bool = False  # output projection bias (Llama attention_bias)
  mlp_bias: bool = False
  tie_word_embeddings: bool = False
  rope: RopeConfig | None = None
  scale_attn_by_inverse_layer_idx: bool = False  # GPT-2 option
  bos_token_id: int | None = None
  eos_token_ids: tuple[int, ...] = ()
  pad_token_id: int | None = None

  def __post_init__(self):
    if self.family not in ("llama", "gpt2"):
      raise FieldError("family", f"must be 'llama' or 'gpt2'; got {self.family!r}")
    _check_fields(
      self,
      ints=(
        "vocab_size",
        "hidden_size",
        "intermediate_size",
        "num_layers",
        "num_heads",
        "num_kv_heads",
        "head_dim",
        "max_position_embeddings",
      ),
      positive=("norm_eps",),
    )
    if self.num_heads % self.num_kv_heads != 0:
      raise UnsupportedModelError(
        f"num_attention_heads={self.num_heads} is not a multiple of "
        f"num_key_value_heads={self.num_kv_heads}"
      )
    if self.family == "gpt2" and self.hidden_size != self.num_heads * self.head_dim:
      raise FieldError(
        "hidden_size",
        f"={self.hidden_size} is not a multiple of the number of heads {self.num_heads}",
      )
    if self.activation not in SUPPORTED_ACTIVATIONS:
      raise UnsupportedModelError(f"activation {self.activation!r} is not supported")

  @property
  def attention_scale(self) -> float:
    """The softmax scale 1/sqrt(head_dim) (Vaswani et al. 2017)."""
    return self.head_dim**-0.5


_KINDS = {"int": "an integer", "float": "a number", "str": "text", "bool": "true or false"}


def _typed(source: str, key: str, value: Any, kind: str) -> Any:
  """``value`` of config key ``key`` checked to be of ``kind`` (no silent conversion)."""
  ok = False
  if kind == "int":
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
      value = int(value)  # 2048.0: an integer written as a float
    ok = isinstance(value, int) and not isinstance(value, bool)
  elif kind == "float":
    ok = _real(value)
    value = float(value) if ok else value
  elif kind == "str":
    ok = isinstance(value, str)
  elif kind == "bool":
    ok = isinstance(value, bool)
  if not ok:
    shown = (
      "null" if value is None else repr(value) if len(repr(value)) <= 40 else type(value).__name__
    )
    raise CheckpointError(f"{source}: {key!r} must be {_KINDS[kind]}; got {shown}")
  return value


class _Reader:
  """Typed access to a config dictionary that remembers which key filled which field."""

  def __init__(self, d: Mapping[str, Any], source: str):
    self.d, self.source, self.keys = d, source, {}

  def get(self, field: str, keys: tuple[str, ...], kind: str, default: Any = KeyError) -> Any:
    for k in keys:
      if k in self.d and self.d[k] is not None:
        self.keys[field] = k
        return _typed(self.source, k, self.d[k], kind)
    if default is KeyError:
      raise CheckpointError(f"{self.source}: missing required config key {keys[0]!r}")
    self.keys.setdefault(field, keys[0])
    return default

  def build(self, cls, **kwargs):
    """``cls(**kwargs)``, its :class:`FieldError` re-raised under the key that was read."""
    try:
      return cls(**kwargs)
    except FieldError as e:
      key = self.keys.get(e.field, e.field)
      raise CheckpointError(f"{self.source}: {key!r} {e.reason}") from None
    except UnsupportedModelError as e:
      raise UnsupportedModelError(f"{self.source}: {e}") from None


def _token_ids(r: _Reader, key: str) -> tuple[int, ...]:
  value = r.d.get(key)
  if value is None:
    return ()
  items = value if isinstance(value, list) else [value]
  return tuple(
    _typed(r.source, f"{key}[{i}]" if isinstance(value, list) else key, v, "int")
    for i, v in enumerate(items)
  )


def _optional_id(r: _Reader, key: str) -> int | None:
  return r.get(key, (key,), "int", None)


def _rope_from_hf(d: Mapping[str, Any], source: str) -> RopeConfig:
  """RoPE settings from a v5 ``rope_parameters`` dict or the v4 ``rope_theta``/``rope_scaling``."""
  params = d.get("rope_parameters")
  if params is not None and not isinstance(params, Mapping):
    raise CheckpointError(
      f"{source}: 'rope_parameters' must be a mapping, got {type(params).__name__}"
    )
  if params and any(isinstance(v, Mapping) for v in params.values()):
    raise UnsupportedModelError(
      f"{source}: per-layer-type 'rope_parameters' {sorted(params)} are not supported"
    )
  scaling = d.get("rope_scaling")
  if scaling is not None and not isinstance(scaling, Mapping):
    raise CheckpointError(
      f"{source}: 'rope_scaling' must be a mapping or null, got {type(scaling).__name__}"
    )
  merged: dict[str, Any] = {}
  merged.update(scaling or {})
  merged.update(params or {})
  for key in ("rope_theta", "partial_rotary_factor"):
    if key not in merged and key in d:
      merged[key] = d[key]
  if "rope_theta" in merged and merged["rope_theta"] is None:
    raise CheckpointError(f"{source}: 'rope_theta' must be a number; got null")
  r = _Reader(merged, source)
  rope_type = r.get("rope_type", ("rope_type", "type"), "str", "default")
  if rope_type not in SUPPORTED_ROPE_TYPES:
    raise UnsupportedModelError(
      f"{source}: RoPE type {rope_type!r} (key 'rope_parameters.rope_type' / 'rope_scaling.type') "
      f"is not supported; supported: {SUPPORTED_ROPE_TYPES}"
    )
  prf = r.get("partial_rotary_factor", ("partial_rotary_factor",), "float", 1.0)
  if prf != 1.0:
    raise UnsupportedModelError(f"{source}: 'partial_rotary_factor'={prf} is not supported")
  kw: dict[str, Any] = {
    "theta": r.get("theta", ("rope_theta",), "float", 10000.0),
    "rope_type": rope_type,
  }
  if rope_type in ("linear", "llama3"):
    if "factor" not in merged:
      raise CheckpointError(f"{source}: RoPE type {rope_type!r} needs key 'factor'")
    kw["factor"] = r.get("factor", ("factor",), "float")
  if rope_type == "llama3":
    for key in ("low_freq_factor", "high_freq_factor", "original_max_position_embeddings"):
      if key not in merged:
        raise CheckpointError(f"{source}: RoPE type 'llama3' needs key {key!r}")
      kw[key] = r.get(key, (key,), "int" if key.startswith("original") else "float")
  return r.build(RopeConfig, **kw)


def config_from_hf(d: Mapping[str, Any], *, source: str = "config.json") -> LMConfig:
  """Map a Hugging Face ``config.json`` dictionary onto :class:`LMConfig`.

  Args:
    d: the parsed JSON dictionary (transformers v4 or v5 keys).
    source: the file name used in error messages.

  Returns:
    The :class:`LMConfig`.

  Raises:
    UnsupportedModelError: unknown ``model_type`` or an unsupported option (named in the message).
    CheckpointError: a required key is missing, a value has the wrong kind (``16.7`` for an
      integer, text for a number, a number for a mapping) or is out of range (``0`` heads).
  """
  if not isinstance(d, Mapping):
    raise CheckpointError(f"{source}: expected a JSON object at top level; got {type(d).__name__}")
  r = _Reader(d, source)
  model_type = d.get("model_type")
  if model_type is None:
    raise CheckpointError(f"{source}: missing required config key 'model_type'")
  model_type = _typed(source, "model_type", model_type, "str")
  if model_type not in SUPPORTED_MODEL_TYPES:
    raise UnsupportedModelError(
      f"{source}: unknown architecture model_type={model_type!r} "
      f"(architectures={d.get('architectures')}); supported: {sorted(SUPPORTED_MODEL_TYPES)}"
    )
  family = SUPPORTED_MODEL_TYPES[model_type]
  common = dict(
    bos_token_id=_optional_id(r, "bos_token_id"),
    eos_token_ids=_token_ids(r, "eos_token_id"),
    pad_token_id=_optional_id(r, "pad_token_id"),
    model_type=model_type,
  )
  if family == "gpt2":
    if r.get("add_cross_attention", ("add_cross_attention",), "bool", False):
      raise UnsupportedModelError(f"{source}: 'add_cross_attention'=True is not supported")
    hidden = r.get("hidden_size", ("n_embd", "hidden_size"), "int")
    heads = r.get("num_heads", ("n_head", "num_attention_heads"), "int")
    act = r.get("activation", ("activation_function",), "str", "gelu_new")
    if act not in SUPPORTED_ACTIVATIONS:
      raise UnsupportedModelError(f"{source}: 'activation_function'={act!r} is not supported")
    if r.get("scale_attn_weights", ("scale_attn_weights",), "bool", True) is False:
      raise UnsupportedModelError(f"{source}: 'scale_attn_weights'=False is not supported")
    r.keys["head_dim"] = r.keys["hidden_size"]
    return r.build(
      LMConfig,
      family="gpt2",
      vocab_size=r.get("vocab_size", ("vocab_size",), "int"),
      hidden_size=hidden,
      intermediate_size=r.get("intermediate_size", ("n_inner",), "int", 4 * hidden),
      num_layers=r.get("num_layers", ("n_layer", "num_hidden_layers"), "int"),
      num_heads=heads,
      num_kv_heads=heads,
      head_dim=hidden // heads if heads >= 1 else 0,
      max_position_embeddings=r.get(
        "max_position_embeddings", ("n_positions", "max_position_embeddings"), "int"
      ),
      norm_eps=r.get("norm_eps", ("layer_norm_epsilon",), "float", 1e-5),
      activation=act,
      attention_bias=True,
      o_bias=True,
      mlp_bias=True,
      tie_word_embeddings=r.get("tie", ("tie_word_embeddings",), "bool", True),
      rope=None,
      scale_attn_by_inverse_layer_idx=r.get(
        "scale", ("scale_attn_by_inverse_layer_idx",), "bool", False
      ),
      **common,
    )

  # Llama family (llama, mistral without sliding window, qwen2).
  hidden = r.get("hidden_size", ("hidden_size",), "int")
  heads = r.get("num_heads", ("num_attention_heads",), "int")
  kv_heads = r.get("num_kv_heads", ("num_key_value_heads",), "int", heads)
  default_head_dim = hidden // heads if heads >= 1 else 0
  head_dim = r.get("head_dim", ("head_dim",), "int", default_head_dim)
  act = r.get("activation", ("hidden_act",), "str", "silu")
  if act != "silu":
    raise UnsupportedModelError(f"{source}: 'hidden_act'={act!r} is not supported (only 'silu')")
  if model_type == "qwen2":
    layer_types = d.get("layer_types")
    if layer_types is not None and not isinstance(layer_types, list):
      raise CheckpointError(
        f"{source}: 'layer_types' must be a list; got {type(layer_types).__name__}"
      )
    if r.get("sliding", ("use_sliding_window",), "bool", False) or (
      layer_types and any(t != "full_attention" for t in layer_types)
    ):
      raise UnsupportedModelError(
        f"{source}: sliding-window attention ('use_sliding_window' / 'layer_types') is not supported"
      )
    attention_bias, o_bias, mlp_bias = True, False, False
  else:
    if d.get("sliding_window") is not None:
      raise UnsupportedModelError(f"{source}: 'sliding_window' attention is not supported")
    attention_bias = o_bias = r.get("attention_bias", ("attention_bias",), "bool", False)
    mlp_bias = r.get("mlp_bias", ("mlp_bias",), "bool", False)
  return r.build(
    LMConfig,
    family="llama",
    vocab_size=r.get("vocab_size", ("vocab_size",), "int"),
    hidden_size=hidden,
    intermediate_size=r.get("intermediate_size", ("intermediate_size",), "int"),
    num_layers=r.get("num_layers", ("num_hidden_layers",), "int"),
    num_heads=heads,
    num_kv_heads=kv_heads,
    head_dim=head_dim,
    max_position_embeddings=r.get(
      "max_position_embeddings", ("max_position_embeddings",), "int", 2048
    ),
    norm_eps=r.get("norm_eps", ("rms_norm_eps",), "float", 1e-6),
    activation="silu",
    attention_bias=attention_bias,
    o_bias=o_bias,
    mlp_bias=mlp_bias,
    tie_word_embeddings=r.get("tie", ("tie_word_embeddings",), "bool", False),
    rope=_rope_from_hf(d, source),
    **common,
  )


def load_hf_config(directory: str | os.PathLike) -> LMConfig:
  """Read ``<directory>/config.json`` and return its :class:`LMConfig`.

  Raises:
    CheckpointError: the file is missing, too large (:data:`MAX_CONFIG_BYTES`), not UTF-8, not
      valid JSON or has a duplicate key (the message names the file), or its values are invalid
      (the message names the key).
  """
  path = os.path.join(os.fspath(directory), "config.json")
  if not os.path.isfile(path):
    raise CheckpointError(f"{path}: missing config.json in checkpoint directory")
  try:
    d = _validation.load_json(
      path, what="config file", max_bytes=MAX_CONFIG_BYTES, max_depth=MAX_CONFIG_DEPTH
    )
  except ValueError as e:
    raise CheckpointError(str(e)) from None
  if not isinstance(d, dict):
    raise CheckpointError(f"{path}: expected a JSON object at top level")
  return config_from_hf(d, source=path)
