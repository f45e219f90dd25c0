"""Run a DICE-FT configuration end to end into a run folder, resumable after an interruption.

:func:`run_settings` plays :class:`~dice_jax.ft.settings.RunSettings` (what
``dice-jax ft run CONFIG --out DIR`` does):

1. loads the base model and its tokenizer, wraps ``loop.agents`` LoRA adapter sets around one
   frozen base (:func:`dice_jax.ft.shared_lora_agents`), one Adam optimizer each;
2. draws the training and held-out tasks (the ``tasks`` sources, :meth:`TaskSource.load
   <dice_jax.rollouts.TaskSource.load>`: :func:`dice_jax.rollouts.make_tasks` or a JSONL file;
   each task's state is its difficulty bucket, :func:`dice_jax.rollouts.state_name`), and
   evaluates the base greedily on the held-out tasks;
3. runs ``loop.iterations`` iterations of :meth:`dice_jax.ft.DiceFT.rollout_step`: iteration
   ``k`` takes the next ``prompts_per_iteration`` training tasks (cycling), samples candidates
   from the current adapters with the key ``fold_in(key(seed), k)``, scores every agent's
   candidate with the task's exact checker (agent ``i``'s payoff is the verdict on its own
   answer; :func:`dice_jax.rollouts.check`), and fits the mirror target;
4. evaluates again (and every ``evaluation.every`` iterations) and writes the summary.

**The run folder**::

    DIR/config.<ext>            the config file as given (when run from a file)
    DIR/settings.json           the resolved settings
    DIR/records.jsonl           one JSON object per completed iteration (DiceFT's record)
    DIR/eval.jsonl              one JSON object per evaluation: iteration, accuracy, tokens
    DIR/adapters/iter_<k>/agent_<i>/   PEFT adapters (adapter_config.json + safetensors)
    DIR/checkpoint/             adapters and optimizer states of the last completed iteration
    DIR/summary.json            base and final accuracy, tokens, seconds (at the end)

**Resuming.** An iteration is *completed* when its checkpoint is written (after its record and
its adapters). Running the same settings on the same folder again continues after the last
completed iteration: the record lines of a later, unfinished iteration are dropped, the adapters
and Adam states are restored, and since iteration ``k``'s key depends only on ``(seed, k)`` the
resumed run reproduces the uninterrupted one. A folder that holds a run of other settings is
refused (``ValueError``) before anything is written.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import jax
import numpy as np

from dice_jax.ft.settings import RunSettings

__all__ = ["completed_iterations", "read_jsonl", "run_settings"]

RECORDS, EVAL, SUMMARY, SETTINGS = "records.jsonl", "eval.jsonl", "summary.json", "settings.json"
ADAPTERS, CHECKPOINT = "adapters", "checkpoint"


def _json_settings(settings: RunSettings) -> Dict[str, Any]:
  from dice_jax.ft.config import to_dict  # noqa: PLC0415

  return json.loads(json.dumps(to_dict(settings), default=str))


def read_jsonl(path: str) -> List[Dict[str, Any]]:
  """The complete JSON lines of ``path`` (a torn last line is ignored)."""
  if not os.path.isfile(path):
    return []
  out = []
  with open(path, encoding="utf-8") as f:
    for line in f:
      try:
        out.append(json.loads(line))
      except json.JSONDecodeError:
        break
  return out


def _rewrite_jsonl(path: str, rows: Sequence[Dict[str, Any]]) -> None:
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    for r in rows:
      f.write(json.dumps(r) + "\n")
  os.replace(tmp, path)


def completed_iterations(out_dir: str) -> int:
  """How many iterations of the run in ``out_dir`` are completed (checkpointed)."""
  path = os.path.join(out_dir, CHECKPOINT, "state.json")
  if not os.path.isfile(path):
    return 0
  with open(path, encoding="utf-8") as f:
    return int(json.load(f)["completed"])


def _save_checkpoint(out_dir: str, agents, optimizers, completed: int) -> None:
  """Adapters and optimizer states of every agent, written to a temporary folder then renamed
  (an interruption leaves the previous checkpoint whole)."""
  from flax import nnx  # noqa: PLC0415

  from dice_jax.llm.lora import ADAPTER  # noqa: PLC0415

  final = os.path.join(out_dir, CHECKPOINT)
  tmp = final + ".tmp"
  os.makedirs(tmp, exist_ok=True)
  for i, (m, opt) in enumerate(zip(agents, optimizers)):
    leaves = jax.tree_util.tree_leaves(nnx.state(m, ADAPTER)) + jax.tree_util.tree_leaves(
      nnx.state(opt)
    )
    np.savez(os.path.join(tmp, f"agent_{i}.npz"), *[np.asarray(x) for x in leaves])
  with open(os.path.join(tmp, "state.json"), "w", encoding="utf-8") as f:
    json.dump({"completed": completed}, f)
  old = final + ".old"
  if os.path.isdir(final):
    os.replace(final, old)
  os.replace(tmp, final)
  if os.path.isdir(old):
    import shutil  # noqa: PLC0415

    shutil.rmtree(old)


def _load_checkpoint(out_dir: str, agents, optimizers) -> None:
  from flax import nnx  # noqa: PLC0415

  from dice_jax.llm.lora import ADAPTER  # noqa: PLC0415

  for i, (m, opt) in enumerate(zip(agents, optimizers)):
    with np.load(os.path.join(out_dir, CHECKPOINT, f"agent_{i}.npz")) as z:
      saved = [z[f"arr_{k}"] for k in range(len(z.files))]
    ms, os_ = nnx.state(m, ADAPTER), nnx.state(opt)
    lm, tm = jax.tree_util.tree_flatten(ms)
    lo, to = jax.tree_util.tree_flatten(os_)
    if len(saved) != len(lm) + len(lo):
      raise ValueError(
        f"{out_dir}/{CHECKPOINT}/agent_{i}.npz holds {len(saved)} arrays; these "
        f"settings need {len(lm) + len(lo)} (a run of other settings?)."
      )
    cast = lambda new, old: jax.numpy.asarray(new, dtype=np.asarray(old).dtype)
    nnx.update(
      m, jax.tree_util.tree_unflatten(tm, [cast(a, b) for a, b in zip(saved[: len(lm)], lm)])
    )
    nnx.update(
      opt, jax.tree_util.tree_unflatten(to, [cast(a, b) for a, b in zip(saved[len(lm) :], lo)])
    )


def _tasks(settings: RunSettings):
  try:
    train, test = (source.load() for source in settings.tasks.sources)
  except ValueError as e:  # a bad dataset line, or no task left after the filters
    raise ValueError(f"tasks: {e}") from None
  order = np.random.default_rng([settings.seed, 0xF7]).permutation(len(train))
  return [train[i] for i in order], test


def _encode(tokenizer, task, instruction: str) -> List[int]:
  from dice_jax.llm.tokenizer import format_chat  # noqa: PLC0415

  text = format_chat(tokenizer, f"{task.question}\n{instruction}".strip())
  return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def evaluate(
  model,
  tokenizer,
  tasks,
  prompts,
  *,
  max_new_tokens: int,
  batch: int,
  stop_ids,
  pad_id: int,
  score: Callable,
  prompt_bucket: int = 16,
) -> Dict[str, Any]:
  """Greedy answers of ``model`` on ``tasks``: accuracy (``score`` per answer) and tokens."""
  from dice_jax.rollouts.sampler import Batching, generate_rows  # noqa: PLC0415

  res = generate_rows(
    model,
    prompts,
    max_new_tokens=max_new_tokens,
    temperature=0.0,
    stop_ids=stop_ids,
    pad_id=pad_id,
    batching=Batching(max_batch=batch, prompt_bucket=prompt_bucket),
  )
  scores, tokens = [], []
  for task, toks, stopped in zip(tasks, res.tokens, res.stopped):
    text = tokenizer.decode(toks[: len(toks) - (1 if stopped else 0)], skip_special_tokens=True)
    scores.append(float(score(task, text)))
    tokens.append(len(toks))
  return {
    "accuracy": float(np.mean(scores)),
    "correct": float(np.sum(scores)),
    "n": len(tasks),
    "tokens_per_answer": float(np.mean(tokens)),
  }


@functools.lru_cache(maxsize=None)
def _adam(learning_rate: float):
  """One optimizer object per rate: the transformation is static in the jitted steps, so a new
  object per run would compile them again."""
  import optax  # noqa: PLC0415

  return optax.adam(learning_rate)


def _verdict(task, text: str) -> float:
  from dice_jax.rollouts.checkers import check  # noqa: PLC0415

  return float(check(task, text).correct)


def run_settings(
  settings: RunSettings,
  out_dir: str,
  *,
  config_path: Optional[str] = None,
  model=None,
  tokenizer=None,
  score: Optional[Callable] = None,
  progress: bool = False,
  stop_after: Optional[int] = None,
  log: Callable[[str], None] = lambda s: None,
) -> Dict[str, Any]:
  """Run (or resume) ``settings`` into ``out_dir`` (module docstring).

  Args:
    settings: a :class:`RunSettings`.
    out_dir: the run folder.
    config_path: the config file, copied into the folder on the first run.
    model, tokenizer: a loaded base model and chat tokenizer (default: load
      ``settings.model.path``, or the bundled SmolLM2-135M-Instruct).
    score: ``score(task, text) -> float`` payoff of one answer (default: the task's exact
      checker, 1 correct / 0 wrong).
    progress: a tqdm bar over iterations.
    stop_after: stop once this many iterations are completed (the run stays resumable).
    log: receives one line per stage.

  Returns:
    The summary (also written to ``summary.json`` once every iteration is completed).

  Raises:
    ValueError: ``out_dir`` holds a run of other settings (nothing is written then).
  """
  from dice_jax.ft.harness.loop import DiceFT, FTAgent  # noqa: PLC0415
  from dice_jax.ft.policies.agents import shared_lora_agents  # noqa: PLC0415
  from dice_jax.ft.policies.ft_step import make_ft_optimizer  # noqa: PLC0415
  from dice_jax.llm.tokenizer import pad_id as pad_of  # noqa: PLC0415
  from dice_jax.rollouts.sampler import stop_ids_of  # noqa: PLC0415
  from dice_jax.rollouts.tasks import state_name  # noqa: PLC0415

  resolved = _json_settings(settings)
  spath = os.path.join(out_dir, SETTINGS)
  if os.path.isfile(spath):
    with open(spath, encoding="utf-8") as f:
      before = json.load(f)
    if before != resolved:
      diff = sorted(k for k in resolved if before.get(k) != resolved[k])
      raise ValueError(
        f"{out_dir} holds a run of other settings (differing: {', '.join(diff)}); "
        "choose another folder."
      )
  start_time = time.perf_counter()
  score = score or _verdict
  if model is None:
    from dice_jax.llm import load_model  # noqa: PLC0415
    from dice_jax.llm.bundled import smollm2_gguf_path  # noqa: PLC0415

    path = settings.model.path or smollm2_gguf_path()
    log(f"loading {path}")
    model, _, tokenizer = load_model(path, with_tokenizer=True)
  os.makedirs(out_dir, exist_ok=True)
  if not os.path.isfile(spath):
    if config_path is not None:
      import shutil  # noqa: PLC0415

      ext = os.path.splitext(config_path)[1] or ".yaml"
      shutil.copyfile(config_path, os.path.join(out_dir, "config" + ext))
    with open(spath, "w", encoding="utf-8") as f:
      json.dump(resolved, f, indent=1)

  loop, m = settings.loop, settings.model
  models = shared_lora_agents(
    model,
    len(loop.agents),
    rank=m.lora_rank,
    alpha=m.lora_alpha,
    targets=m.lora_targets,
    seed=settings.seed,
  )
  tx = _adam(m.learning_rate)
  optimizers = [make_ft_optimizer(x, tx) for x in models]
  stop_ids, pad = stop_ids_of(model, tokenizer), int(pad_of(tokenizer))
  sampling = dataclasses.replace(
    settings.sampling, stop_ids=stop_ids, pad_id=pad, tokenizer=tokenizer
  )
  train, test = _tasks(settings)
  instr = settings.tasks.instruction
  test_prompts = [_encode(tokenizer, t, instr) for t in test]
  ev = settings.evaluation
  evaluate_now = lambda: evaluate(
    models[0],
    tokenizer,
    test,
    test_prompts,
    max_new_tokens=ev.max_new_tokens,
    batch=ev.batch,
    stop_ids=stop_ids,
    pad_id=pad,
    score=score,
    prompt_bucket=sampling.prompt_bucket,
  )

  done = completed_iterations(out_dir)
  rec_path, eval_path = os.path.join(out_dir, RECORDS), os.path.join(out_dir, EVAL)
  records = read_jsonl(rec_path)[:done]
  evals = [e for e in read_jsonl(eval_path) if e["iteration"] <= done]
  _rewrite_jsonl(rec_path, records)
  _rewrite_jsonl(eval_path, evals)
  if done:
    _load_checkpoint(out_dir, models, optimizers)
    log(f"resuming after iteration {done} of {loop.iterations}")
  if not any(e["iteration"] == 0 for e in evals):
    base = {"iteration": 0, **evaluate_now()}
    evals.append(base)
    with open(eval_path, "a", encoding="utf-8") as f:
      f.write(json.dumps(base) + "\n")
    log(f"base: accuracy {base['accuracy']:.3f} on {base['n']} held-out tasks")

  p = loop.prompts_per_iteration
  first = [train[j % len(train)] for j in range(p)]
  agents = [
    FTAgent(
      x,
      o,
      states=[state_name(t) for t in first],
      prompts=[_encode(tokenizer, t, instr) for t in first],
    )
    for x, o in zip(models, optimizers)
  ]
  ft = DiceFT(
    agents,
    temperature=loop.temperature,
    step_size=loop.step_size,
    inner_steps=loop.inner_steps,
    sampling=sampling,
    token_cost=loop.token_cost,
    log_path=rec_path,
    save_dir=os.path.join(out_dir, ADAPTERS),
    fit_tol=loop.fit_tol,
  )
  ft.iteration = done
  key = jax.random.key(settings.seed)
  n = len(agents)
  iterations = range(done, loop.iterations)
  if progress:
    from tqdm.auto import tqdm  # noqa: PLC0415

    iterations = tqdm(iterations, desc="DICE-FT", initial=done, total=loop.iterations)
  for k in iterations:
    if stop_after is not None and k >= stop_after:
      break
    batch = [train[(k * p + j) % len(train)] for j in range(p)]
    prompts = [_encode(tokenizer, t, instr) for t in batch]
    for a in agents:
      a.set_prompts(prompts, [state_name(t) for t in batch])

    def payoff(s, cands, batch=batch):
      own = [
        np.array([score(batch[s], c.text if c.text is not None else "") for c in cs])
        for cs in cands
      ]
      shape = tuple(len(cs) for cs in cands)
      return [
        np.broadcast_to(own[i].reshape([-1 if j == i else 1 for j in range(n)]), shape).copy()
        for i in range(n)
      ]

    rec = ft.rollout_step(payoff, key=jax.random.fold_in(key, k))
    _save_checkpoint(out_dir, models, optimizers, k + 1)
    log(
      f"iteration {k + 1}/{loop.iterations}: sampled accuracy "
      f"{np.mean([a['sample_payoff'] for a in rec['agents']]):.3f}, "
      f"{rec['seconds']:.1f} s"
    )
    if ev.every and (k + 1) % ev.every == 0 and k + 1 < loop.iterations:
      row = {"iteration": k + 1, **evaluate_now()}
      evals.append(row)
      with open(eval_path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
  done = completed_iterations(out_dir)
  summary = {
    "name": settings.name,
    "completed_iterations": done,
    "iterations": loop.iterations,
    "base": evals[0],
  }
  if done == loop.iterations:
    if not any(e["iteration"] == done for e in evals):
      final = {"iteration": done, **evaluate_now()}
      with open(eval_path, "a", encoding="utf-8") as f:
        f.write(json.dumps(final) + "\n")
      evals.append(final)
    summary["final"] = [e for e in evals if e["iteration"] == done][-1]
    summary["seconds_this_session"] = time.perf_counter() - start_time
    with open(os.path.join(out_dir, SUMMARY), "w", encoding="utf-8") as f:
      json.dump(summary, f, indent=1)
    log(
      f"final: accuracy {summary['final']['accuracy']:.3f} (base {summary['base']['accuracy']:.3f})"
    )
  return summary
