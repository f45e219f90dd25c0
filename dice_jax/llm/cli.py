"""Command line: ``dice-jax llm generate`` and ``dice-jax llm logits``.

    dice-jax llm generate --model PATH --prompt TEXT [--chat] [--max-new-tokens N] [--greedy]
                          [--temperature T] [--top-p P] [--seed S] [--json]
    dice-jax llm logits   --model PATH --prompt TEXT [--chat] [--json]

``PATH`` is a Hugging Face checkpoint directory (config.json + safetensors + tokenizer files) or
a ``.gguf`` file. ``generate --json`` prints ``{"text", "token_ids", "prompt_token_ids",
"num_generated", "logprobs"}``; ``logits --json`` prints ``{"prompt_token_ids", "last_logits"}``
where ``last_logits`` is the full vocabulary row (float32) for the last prompt token. Without
``--greedy`` tokens are sampled with ``jax.random.key(--seed)``. Errors in the checkpoint print
``error: …`` (naming the file/key) on stderr and exit with status 2.

The lead CLI (``dice_jax.cli``) calls :func:`register` on its sub-parsers and dispatches to
:func:`run`; :func:`main` runs this part on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

__all__ = ["register", "run", "main"]


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``llm`` command (with ``generate`` and ``logits``) to an argparse sub-parsers object."""
    llm = subparsers.add_parser("llm", help="run a Hugging Face / GGUF language model in Flax (dice_jax.llm)",
                                description="Flax NNX LLM bridge: generate text or print logits.")
    sub = llm.add_subparsers(dest="llm_command", metavar="{generate,logits}")
    sub.required = True

    def common(p):
        p.add_argument("--model", required=True, help="checkpoint directory or .gguf file")
        p.add_argument("--prompt", required=True, help="prompt text")
        p.add_argument("--chat", action="store_true", help="wrap the prompt in the tokenizer's chat template")
        p.add_argument("--system", default=None, help="system message for --chat")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        p.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32", help="parameter dtype")

    gen = sub.add_parser("generate", help="generate a continuation")
    common(gen)
    gen.add_argument("--max-new-tokens", type=int, default=64)
    gen.add_argument("--greedy", action="store_true", help="argmax decoding (default: sampling)")
    gen.add_argument("--temperature", type=float, default=1.0)
    gen.add_argument("--top-p", type=float, default=1.0)
    gen.add_argument("--seed", type=int, default=0, help="PRNG seed for sampling")
    lg = sub.add_parser("logits", help="print the logits of the last prompt token")
    common(lg)
    llm.set_defaults(llm_run=run)
    return llm


def run(args: argparse.Namespace) -> int:
    """Execute a parsed ``llm`` command; returns the process exit status."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import jax
    import jax.numpy as jnp
    import numpy as np

    from dice_jax.llm.errors import CheckpointError
    from dice_jax.llm.generate import generate_text
    from dice_jax.llm.load import load_model
    from dice_jax.llm.tokenizer import encode_prompts

    try:
        dtype = jnp.bfloat16 if args.dtype == "bfloat16" else jnp.float32
        model, cfg, tok = load_model(args.model, dtype=dtype, with_tokenizer=True)
        if args.llm_command == "generate":
            if args.max_new_tokens < 1:
                raise ValueError("--max-new-tokens must be >= 1")
            res, prompts = generate_text(model, tok, [args.prompt], chat=args.chat, system=args.system,
                                         max_new_tokens=args.max_new_tokens, greedy=args.greedy,
                                         key=jax.random.key(args.seed), temperature=args.temperature,
                                         top_p=args.top_p)
            out = {"text": res.texts[0], "token_ids": res.token_lists()[0], "prompt_token_ids": prompts[0],
                   "num_generated": int(res.num_generated[0]),
                   "logprobs": [float(x) for x in res.logprobs[0, : int(res.num_generated[0])]]}
            print(json.dumps(out) if args.json else out["text"])
        elif args.llm_command == "logits":
            ids, mask, lists = encode_prompts(tok, [args.prompt], chat=args.chat, system=args.system)
            positions = np.arange(ids.shape[1], dtype=np.int32)[None]
            logits, _ = model(jnp.asarray(ids), jnp.asarray(positions), jnp.asarray(mask))
            row = np.asarray(logits[0, -1], dtype=np.float32)
            out = {"prompt_token_ids": lists[0], "last_logits": row.tolist()}
            if args.json:
                print(json.dumps(out))
            else:
                top = np.argsort(-row)[:10]
                print("\n".join(f"{int(i)}\t{row[i]:.4f}\t{tok.decode([int(i)])!r}" for i in top))
        else:
            raise ValueError(f"unknown llm command {args.llm_command!r}")
    except (CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m dice_jax.llm.cli llm generate …`` without the lead CLI."""
    parser = argparse.ArgumentParser(prog="dice-jax")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    if getattr(args, "command", None) != "llm":
        parser.error("expected the 'llm' command")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
