"""Reference models and batches for the LLM bridge tests (transformers PyTorch, no network).

Each tiny model is built by transformers from a config, with a larger init range and randomised
norm weights and biases (the defaults — ones and zeros — would hide a mapping bug such as a
swapped norm or a dropped bias).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np
import torch

VOCAB = 97


def _configs():
  from transformers import GPT2Config, LlamaConfig, Qwen2Config

  common = dict(
    vocab_size=VOCAB,
    hidden_size=64,
    intermediate_size=96,
    num_hidden_layers=2,
    initializer_range=0.2,
    max_position_embeddings=128,
    bos_token_id=1,
    eos_token_id=2,
    pad_token_id=0,
  )
  return {
    # GQA (4 query heads share 2 kv heads), untied head, Llama-3-style large theta.
    "llama_gqa_untied": LlamaConfig(
      num_attention_heads=4,
      num_key_value_heads=2,
      rope_theta=500000.0,
      tie_word_embeddings=False,
      **common,
    ),
    # Tied embeddings, attention and MLP biases, llama3 RoPE scaling with bands inside the test lengths.
    "llama_tied_llama3": LlamaConfig(
      num_attention_heads=4,
      num_key_value_heads=4,
      tie_word_embeddings=True,
      attention_bias=True,
      mlp_bias=True,
      rope_parameters={
        "rope_type": "llama3",
        "rope_theta": 10000.0,
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 16,
      },
      **common,
    ),
    # Qwen2: q/k/v biases, GQA.
    "qwen2": Qwen2Config(
      num_attention_heads=4,
      num_key_value_heads=2,
      rope_theta=1000000.0,
      use_sliding_window=False,
      tie_word_embeddings=False,
      **common,
    ),
    "gpt2": GPT2Config(
      vocab_size=VOCAB,
      n_embd=64,
      n_layer=2,
      n_head=4,
      n_positions=128,
      initializer_range=0.2,
      bos_token_id=1,
      eos_token_id=2,
      pad_token_id=0,
    ),
  }


MODEL_NAMES = ["llama_gqa_untied", "llama_tied_llama3", "qwen2", "gpt2"]


def randomise_norms_and_biases(model, seed: int = 0) -> None:
  """Norm weights ~ 1 + 0.5·N(0,1), norm/linear biases ~ 0.3·N(0,1) (in place)."""
  g = torch.Generator().manual_seed(seed)
  with torch.no_grad():
    for name, p in model.named_parameters():
      is_norm = "norm" in name or ".ln_" in name or name.startswith("transformer.ln_f")
      if is_norm and name.endswith("weight"):
        p.copy_(1.0 + 0.5 * torch.randn(p.shape, generator=g))
      elif name.endswith("bias"):
        p.copy_(0.3 * torch.randn(p.shape, generator=g))


def build_reference(name: str, seed: int = 0):
  """A float32 transformers model for ``name`` with randomised norms and biases, in eval mode."""
  from transformers import AutoModelForCausalLM

  torch.manual_seed(seed)
  cfg = _configs()[name]
  model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32).eval()
  randomise_norms_and_biases(model, seed)
  return model


def padded_batch(seed: int = 0, batch: int = 3, length: int = 12, vocab: int = VOCAB):
  """Random ids with left padding of different lengths; returns ``(ids, mask, positions)``."""
  rs = np.random.RandomState(seed)
  ids = rs.randint(3, vocab, size=(batch, length))
  mask = np.ones((batch, length), dtype=bool)
  for b in range(1, batch):
    mask[b, : (3 * b) % length] = False
  ids = np.where(mask, ids, 0)
  positions = np.clip(np.cumsum(mask, axis=1) - 1, 0, None)
  return ids, mask, positions


def torch_logits(model, ids, mask, positions) -> np.ndarray:
  with torch.no_grad():
    out = model(
      input_ids=torch.tensor(ids),
      attention_mask=torch.tensor(mask.astype(np.int64)),
      position_ids=torch.tensor(positions),
    )
  return out.logits.float().numpy()


def llama_cpp_permute(w: np.ndarray, n_head: int) -> np.ndarray:
  """llama.cpp ``convert_hf_to_gguf.py`` ``LlamaModel.permute``: rotate-half rows → interleaved."""
  return (
    w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)
  )


GGUF_NAMES = {
  "input_layernorm.weight": "attn_norm.weight",
  "post_attention_layernorm.weight": "ffn_norm.weight",
  "self_attn.q_proj.weight": "attn_q.weight",
  "self_attn.k_proj.weight": "attn_k.weight",
  "self_attn.v_proj.weight": "attn_v.weight",
  "self_attn.o_proj.weight": "attn_output.weight",
  "mlp.gate_proj.weight": "ffn_gate.weight",
  "mlp.up_proj.weight": "ffn_up.weight",
  "mlp.down_proj.weight": "ffn_down.weight",
  "self_attn.q_proj.bias": "attn_q.bias",
  "self_attn.k_proj.bias": "attn_k.bias",
  "self_attn.v_proj.bias": "attn_v.bias",
}


def write_tiny_gguf(path: str, model, *, arch: str = "llama", drop: str | None = None) -> None:
  """Write a transformers Llama (or Qwen2, ``arch="qwen2"``) model as an F32 GGUF file in
  llama.cpp's layout: q/k rows permuted for ``llama`` only, as llama.cpp's converter does.

  ``arch`` is written to ``general.architecture`` (an unknown one tests the error path);
  ``drop`` omits one GGUF tensor (tests the missing-tensor path).
  """
  import gguf

  cfg = model.config
  w = gguf.GGUFWriter(path, arch=arch)
  w.add_block_count(cfg.num_hidden_layers)
  w.add_context_length(cfg.max_position_embeddings)
  w.add_embedding_length(cfg.hidden_size)
  w.add_feed_forward_length(cfg.intermediate_size)
  w.add_head_count(cfg.num_attention_heads)
  w.add_head_count_kv(cfg.num_key_value_heads)
  w.add_rope_freq_base(float(cfg.rope_parameters["rope_theta"]))
  w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
  w.add_vocab_size(cfg.vocab_size)
  tensors = {}
  for name, p in model.state_dict().items():
    a = p.detach().float().numpy()
    if name == "model.embed_tokens.weight":
      tensors["token_embd.weight"] = a
    elif name == "model.norm.weight":
      tensors["output_norm.weight"] = a
    elif name == "lm_head.weight":
      tensors["output.weight"] = a
    else:
      layer, rest = name[len("model.layers.") :].split(".", 1)
      if arch != "qwen2" and rest == "self_attn.q_proj.weight":
        a = llama_cpp_permute(a, cfg.num_attention_heads)
      elif arch != "qwen2" and rest == "self_attn.k_proj.weight":
        a = llama_cpp_permute(a, cfg.num_key_value_heads)
      tensors[f"blk.{layer}.{GGUF_NAMES[rest]}"] = a
  for name, a in tensors.items():
    if name != drop:
      w.add_tensor(name, np.ascontiguousarray(a))
  w.write_header_to_file()
  w.write_kv_data_to_file()
  w.write_tensors_to_file()
  w.close()


WORDS = [
  "the",
  "cat",
  "dog",
  "sat",
  "on",
  "mat",
  "a",
  "red",
  "blue",
  "is",
  "what",
  "capital",
  "of",
  "france",
  "paris",
  "hello",
  "world",
  "user",
  "assistant",
  ":",
  "?",
  ".",
]
CHAT_TEMPLATE = (
  "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} . {% endfor %}"
  "{% if add_generation_prompt %}assistant : {% endif %}"
)


def save_word_tokenizer(directory: str, vocab_size: int = VOCAB) -> None:
  """A word-level tokenizer over ``vocab_size`` ids (specials 0-3, words, filler tokens) with a
  chat template, saved with ``save_pretrained`` so the tiny checkpoints can be used end to end."""
  from tokenizers import Tokenizer, decoders, models, pre_tokenizers
  from transformers import PreTrainedTokenizerFast

  vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3}
  for w in WORDS:
    vocab[w] = len(vocab)
  while len(vocab) < vocab_size:
    vocab[f"w{len(vocab)}"] = len(vocab)
  tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
  tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
  tk.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
  fast = PreTrainedTokenizerFast(
    tokenizer_object=tk, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>"
  )
  fast.chat_template = CHAT_TEMPLATE
  fast.save_pretrained(directory)
