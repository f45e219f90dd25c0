"""Model configuration: one frozen dataclass for every supported architecture.

:func:`config_from_hf` reads a Hugging Face ``config.json`` dictionary, in both the transformers
v4 layout (``rope_theta`` and ``rope_scaling`` at top level, ``torch_dtype``) and the v5 layout
(``rope_parameters = {"rope_type", "rope_theta", ...}``, ``dtype``), and maps it onto
:class:`LMConfig`. Anything whose maths the bridge does not implement (an unknown
``model_type``, RoPE types other than ``default``/``linear``/``llama3``, sliding windows, partial
rotary embeddings, a non-SiLU Llama MLP) raises :class:`~dice_jax.llm.errors.UnsupportedModelError`
naming the file and the key, instead of running with the wrong maths.

References: transformers ``models/llama/configuration_llama.py``, ``models/qwen2/configuration_qwen2.py``,
``models/gpt2/configuration_gpt2.py`` and ``modeling_rope_utils.py`` (v5.x).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Mapping

from dice_jax.llm.errors import CheckpointError, UnsupportedModelError

__all__ = ["LMConfig", "RopeConfig", "config_from_hf", "load_hf_config"]

#: model_type values read from config.json, mapped to the implementation family.
SUPPORTED_MODEL_TYPES = {"llama": "llama", "mistral": "llama", "qwen2": "llama", "gpt2": "gpt2"}
SUPPORTED_ROPE_TYPES = ("default", "linear", "llama3")
SUPPORTED_ACTIVATIONS = ("silu", "gelu_new", "gelu", "gelu_pytorch_tanh", "relu")


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
        if self.num_heads % self.num_kv_heads != 0:
            raise UnsupportedModelError(
                f"num_attention_heads={self.num_heads} is not a multiple of "
                f"num_key_value_heads={self.num_kv_heads}"
            )

    @property
    def attention_scale(self) -> float:
        """The softmax scale 1/sqrt(head_dim) (Vaswani et al. 2017)."""
        return self.head_dim**-0.5


def _get(d: Mapping[str, Any], keys: tuple[str, ...], source: str, default: Any = KeyError) -> Any:
    for k in keys:
        if k in d and d[k] is not None:
            return d[k]
    if default is KeyError:
        raise CheckpointError(f"{source}: missing required config key {keys[0]!r}")
    return default


def _eos_tuple(value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value)
    return (int(value),)


def _rope_from_hf(d: Mapping[str, Any], source: str) -> RopeConfig:
    """RoPE settings from a v5 ``rope_parameters`` dict or the v4 ``rope_theta``/``rope_scaling``."""
    params = d.get("rope_parameters")
    if params is not None and not isinstance(params, Mapping):
        raise CheckpointError(f"{source}: 'rope_parameters' must be a mapping, got {type(params).__name__}")
    if params and any(isinstance(v, Mapping) for v in params.values()):
        raise UnsupportedModelError(
            f"{source}: per-layer-type 'rope_parameters' {sorted(params)} are not supported"
        )
    scaling = d.get("rope_scaling") or {}
    merged: dict[str, Any] = {}
    merged.update(scaling)
    merged.update(params or {})
    theta = merged.get("rope_theta", d.get("rope_theta", 10000.0))
    rope_type = merged.get("rope_type", merged.get("type", "default"))
    if rope_type not in SUPPORTED_ROPE_TYPES:
        raise UnsupportedModelError(
            f"{source}: RoPE type {rope_type!r} (key 'rope_parameters.rope_type' / 'rope_scaling.type') "
            f"is not supported; supported: {SUPPORTED_ROPE_TYPES}"
        )
    prf = merged.get("partial_rotary_factor", d.get("partial_rotary_factor", 1.0))
    if prf is not None and float(prf) != 1.0:
        raise UnsupportedModelError(f"{source}: 'partial_rotary_factor'={prf} is not supported")
    kw: dict[str, Any] = {"theta": float(theta), "rope_type": rope_type}
    if rope_type in ("linear", "llama3"):
        if "factor" not in merged:
            raise CheckpointError(f"{source}: RoPE type {rope_type!r} needs key 'factor'")
        kw["factor"] = float(merged["factor"])
    if rope_type == "llama3":
        for key in ("low_freq_factor", "high_freq_factor", "original_max_position_embeddings"):
            if key not in merged:
                raise CheckpointError(f"{source}: RoPE type 'llama3' needs key {key!r}")
        kw["low_freq_factor"] = float(merged["low_freq_factor"])
        kw["high_freq_factor"] = float(merged["high_freq_factor"])
        kw["original_max_position_embeddings"] = int(merged["original_max_position_embeddings"])
    return RopeConfig(**kw)


def config_from_hf(d: Mapping[str, Any], *, source: str = "config.json") -> LMConfig:
    """Map a Hugging Face ``config.json`` dictionary onto :class:`LMConfig`.

    Args:
      d: the parsed JSON dictionary (transformers v4 or v5 keys).
      source: the file name used in error messages.

    Returns:
      The :class:`LMConfig`.

    Raises:
      UnsupportedModelError: unknown ``model_type`` or an unsupported option (named in the message).
      CheckpointError: a required key is missing.
    """
    model_type = d.get("model_type")
    if model_type is None:
        raise CheckpointError(f"{source}: missing required config key 'model_type'")
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise UnsupportedModelError(
            f"{source}: unknown architecture model_type={model_type!r} "
            f"(architectures={d.get('architectures')}); supported: {sorted(SUPPORTED_MODEL_TYPES)}"
        )
    family = SUPPORTED_MODEL_TYPES[model_type]
    common = dict(
        bos_token_id=d.get("bos_token_id"),
        eos_token_ids=_eos_tuple(d.get("eos_token_id")),
        pad_token_id=d.get("pad_token_id"),
        model_type=model_type,
    )
    if family == "gpt2":
        if d.get("add_cross_attention"):
            raise UnsupportedModelError(f"{source}: 'add_cross_attention'=True is not supported")
        hidden = int(_get(d, ("n_embd", "hidden_size"), source))
        heads = int(_get(d, ("n_head", "num_attention_heads"), source))
        act = _get(d, ("activation_function",), source, "gelu_new")
        if act not in SUPPORTED_ACTIVATIONS:
            raise UnsupportedModelError(f"{source}: 'activation_function'={act!r} is not supported")
        if d.get("scale_attn_weights", True) is False:
            raise UnsupportedModelError(f"{source}: 'scale_attn_weights'=False is not supported")
        if hidden % heads:
            raise CheckpointError(f"{source}: 'n_embd'={hidden} is not a multiple of 'n_head'={heads}")
        return LMConfig(
            family="gpt2",
            vocab_size=int(_get(d, ("vocab_size",), source)),
            hidden_size=hidden,
            intermediate_size=int(_get(d, ("n_inner",), source, 4 * hidden)),
            num_layers=int(_get(d, ("n_layer", "num_hidden_layers"), source)),
            num_heads=heads,
            num_kv_heads=heads,
            head_dim=hidden // heads,
            max_position_embeddings=int(_get(d, ("n_positions", "max_position_embeddings"), source)),
            norm_eps=float(_get(d, ("layer_norm_epsilon",), source, 1e-5)),
            activation=act,
            attention_bias=True,
            o_bias=True,
            mlp_bias=True,
            tie_word_embeddings=bool(d.get("tie_word_embeddings", True)),
            rope=None,
            scale_attn_by_inverse_layer_idx=bool(d.get("scale_attn_by_inverse_layer_idx", False)),
            **common,
        )

    # Llama family (llama, mistral without sliding window, qwen2).
    hidden = int(_get(d, ("hidden_size",), source))
    heads = int(_get(d, ("num_attention_heads",), source))
    kv_heads = int(_get(d, ("num_key_value_heads",), source, heads))
    head_dim = int(_get(d, ("head_dim",), source, hidden // heads))
    act = _get(d, ("hidden_act",), source, "silu")
    if act != "silu":
        raise UnsupportedModelError(f"{source}: 'hidden_act'={act!r} is not supported (only 'silu')")
    if model_type == "qwen2":
        layer_types = d.get("layer_types")
        if d.get("use_sliding_window") or (layer_types and any(t != "full_attention" for t in layer_types)):
            raise UnsupportedModelError(
                f"{source}: sliding-window attention ('use_sliding_window' / 'layer_types') is not supported"
            )
        attention_bias, o_bias, mlp_bias = True, False, False
    else:
        if d.get("sliding_window") is not None:
            raise UnsupportedModelError(f"{source}: 'sliding_window' attention is not supported")
        attention_bias = o_bias = bool(d.get("attention_bias", False))
        mlp_bias = bool(d.get("mlp_bias", False))
    return LMConfig(
        family="llama",
        vocab_size=int(_get(d, ("vocab_size",), source)),
        hidden_size=hidden,
        intermediate_size=int(_get(d, ("intermediate_size",), source)),
        num_layers=int(_get(d, ("num_hidden_layers",), source)),
        num_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        max_position_embeddings=int(_get(d, ("max_position_embeddings",), source, 2048)),
        norm_eps=float(_get(d, ("rms_norm_eps",), source, 1e-6)),
        activation="silu",
        attention_bias=attention_bias,
        o_bias=o_bias,
        mlp_bias=mlp_bias,
        tie_word_embeddings=bool(d.get("tie_word_embeddings", False)),
        rope=_rope_from_hf(d, source),
        **common,
    )


def load_hf_config(directory: str | os.PathLike) -> LMConfig:
    """Read ``<directory>/config.json`` and return its :class:`LMConfig`.

    Raises:
      CheckpointError: the file is missing or is not valid JSON (the message names the file).
    """
    path = os.path.join(os.fspath(directory), "config.json")
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: missing config.json in checkpoint directory")
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(d, dict):
        raise CheckpointError(f"{path}: expected a JSON object at top level")
    return config_from_hf(d, source=path)
