"""A tiny chat model for fast end-to-end tests of LLM pipelines: a byte-level tokenizer with a
chat template (a real ``transformers`` fast tokenizer, built in memory) and a randomly
initialised Llama-family model over its vocabulary.

The bundled SmolLM2 is the real model of the project's LLM tests; loading its tokenizer from the
GGUF file takes tens of seconds on a small CPU, so pipelines whose subject is the plumbing
(run folders, resuming, CLIs) run on this one::

    tok = tiny_chat_tokenizer()
    model = tiny_chat_model(tok, seed=0)
"""

from __future__ import annotations

__all__ = ["CHAT_TEMPLATE", "tiny_chat_model", "tiny_chat_tokenizer"]

CHAT_TEMPLATE = (
  "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
  "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
  "{% endif %}"
)


def tiny_chat_tokenizer():
  """A byte-level BPE tokenizer without merges (256 byte tokens and 3 specials: ``<pad>`` = 0,
  ``<|im_start|>`` = 1, ``<|im_end|>`` = 2, the end of a turn and of a response)."""
  from tokenizers import Tokenizer, decoders, models, pre_tokenizers  # noqa: PLC0415
  from transformers import PreTrainedTokenizerFast  # noqa: PLC0415

  vocab = {"<pad>": 0, "<|im_start|>": 1, "<|im_end|>": 2}
  for ch in pre_tokenizers.ByteLevel.alphabet():
    vocab.setdefault(ch, len(vocab))
  tk = Tokenizer(models.BPE(vocab=vocab, merges=[]))
  tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
  tk.decoder = decoders.ByteLevel()
  fast = PreTrainedTokenizerFast(
    tokenizer_object=tk,
    pad_token="<pad>",
    eos_token="<|im_end|>",
    additional_special_tokens=["<|im_start|>"],
  )
  fast.chat_template = CHAT_TEMPLATE
  return fast


def tiny_chat_model(tokenizer, *, seed: int = 0, hidden_size: int = 16):
  """A one-layer Llama model over ``tokenizer``'s vocabulary whose stop id is its eos token."""
  from flax import nnx  # noqa: PLC0415

  from dice_jax.llm import LMConfig, RopeConfig, build_model  # noqa: PLC0415

  cfg = LMConfig(
    family="llama",
    model_type="llama",
    vocab_size=len(tokenizer),
    hidden_size=hidden_size,
    intermediate_size=2 * hidden_size,
    num_layers=1,
    num_heads=2,
    num_kv_heads=1,
    head_dim=hidden_size // 2,
    max_position_embeddings=512,
    norm_eps=1e-5,
    rope=RopeConfig(),
    eos_token_ids=(int(tokenizer.eos_token_id),),
  )
  return build_model(cfg, rngs=nnx.Rngs(seed))
