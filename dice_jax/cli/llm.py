"""dice-jax llm generate and dice-jax llm logits: run a language model in Flax.

    dice-jax llm generate --model PATH --prompt TEXT [--chat] [--max-new-tokens N] [--greedy]
                          [--temperature T] [--top-p P] [--seed S] [--json]
    dice-jax llm logits   --model PATH --prompt TEXT [--chat] [--json]

PATH is a Hugging Face checkpoint directory (config.json + safetensors + tokenizer files) or a
.gguf file. generate --json prints {"text", "token_ids", "prompt_token_ids", "num_generated",
"logprobs"}; logits --json prints {"prompt_token_ids", "last_logits"} where last_logits is the
full vocabulary row (float32) for the last prompt token. Without --greedy tokens are sampled
with jax.random.key(--seed). A bad checkpoint exits with status 2 and a message naming the file
and key (dice_jax.llm.errors).
"""

from __future__ import annotations

import os

from dice_jax.cli import output
from dice_jax.cli import parser as P

__all__ = ["register", "run"]


def register(subparsers) -> None:
  """Add the ``llm`` command (with ``generate`` and ``logits``)."""
  llm = subparsers.add_parser(
    "llm",
    help="run a Hugging Face / GGUF language model in Flax (dice_jax.llm)",
    description="Flax NNX LLM bridge: generate text or print logits.",
  )
  sub = llm.add_subparsers(dest="llm_command", metavar="{generate,logits}", required=True)

  def common(p):
    p.add_argument("--model", required=True, help="checkpoint directory or .gguf file")
    p.add_argument("--prompt", required=True, help="prompt text")
    p.add_argument(
      "--chat", action="store_true", help="wrap the prompt in the tokenizer's chat template"
    )
    p.add_argument("--system", default=None, help="system message for --chat")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
      "--dtype", choices=("float32", "bfloat16"), default="float32", help="parameter dtype"
    )

  gen = sub.add_parser("generate", help="generate a continuation")
  common(gen)
  gen.add_argument("--max-new-tokens", type=P.count, default=64)
  gen.add_argument("--greedy", action="store_true", help="argmax decoding (default: sampling)")
  gen.add_argument("--temperature", type=P.positive_number, default=1.0)
  gen.add_argument("--top-p", type=P.probability, default=1.0)
  gen.add_argument("--seed", type=P.seed, default=0, help="PRNG seed for sampling")
  common(sub.add_parser("logits", help="print the logits of the last prompt token"))


def run(args) -> int:
  """Execute a parsed ``llm`` command; returns the exit status."""
  os.environ.setdefault("HF_HUB_OFFLINE", "1")
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415
  import numpy as np  # noqa: PLC0415

  from dice_jax.llm.generate import generate_text  # noqa: PLC0415
  from dice_jax.llm.load import load_model  # noqa: PLC0415
  from dice_jax.llm.tokenizer import encode_prompts  # noqa: PLC0415

  dtype = jnp.bfloat16 if args.dtype == "bfloat16" else jnp.float32
  model, _, tok = load_model(args.model, dtype=dtype, with_tokenizer=True)
  if args.llm_command == "generate":
    res, prompts = generate_text(
      model,
      tok,
      [args.prompt],
      chat=args.chat,
      system=args.system,
      max_new_tokens=args.max_new_tokens,
      greedy=args.greedy,
      key=jax.random.key(args.seed),
      temperature=args.temperature,
      top_p=args.top_p,
    )
    n = int(res.num_generated[0])
    out = {
      "text": res.texts[0],
      "token_ids": res.token_lists()[0],
      "prompt_token_ids": prompts[0],
      "num_generated": n,
      "logprobs": [float(x) for x in res.logprobs[0, :n]],
    }
    print(output.dumps(out) if args.json else out["text"])
    return 0
  ids, mask, lists = encode_prompts(tok, [args.prompt], chat=args.chat, system=args.system)
  positions = np.arange(ids.shape[1], dtype=np.int32)[None]
  logits, _ = model(jnp.asarray(ids), jnp.asarray(positions), jnp.asarray(mask))
  row = np.asarray(logits[0, -1], dtype=np.float32)
  if args.json:
    print(output.dumps({"prompt_token_ids": lists[0], "last_logits": row.tolist()}))
  else:
    top = np.argsort(-row)[:10]
    print("\n".join(f"{int(i)}\t{row[i]:.4f}\t{tok.decode([int(i)])!r}" for i in top))
  return 0
