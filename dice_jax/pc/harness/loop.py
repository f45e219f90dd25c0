"""One harness for every DICE-PC method: rounds of tasks, rollouts, updates, metrics, logs.

``run(env, policy, rounds=R, batch_size=B, seed=s)`` plays ``R`` rounds of ``B`` tasks. In
round ``t`` it draws the tasks with a generator seeded by ``(seed, t)`` -- so every method run
with one seed sees the same tasks, and the synthetic environments add the same rollout noise:
the budget (rounds x tasks) and the randomness are the same for every method -- asks the policy
for a :class:`~dice_jax.pc.policies.policies.Decision`, plays it (``env.play`` or ``env.best_of_n``),
lets the policy observe the outcome, and logs one JSON record.

What the harness shows on the synthetic suites (DICE-PC converging and staying certified where
simultaneous best response cycles; tracking of a drifting HQRE with forgetting) is asserted by
``tests/pc/test_harness.py``; the measured figures live in the benchmark records
(``benchmarks/results/dice_pc_levers.json``) and the DICE-PC guide, not here.

**Record keys** (one JSON object per round in ``records.jsonl``; ``null`` where a value does not
apply or is not finite):

* ``round``, ``method``, ``seconds`` (wall time of the round);
* ``num_tasks``, ``num_scored``, ``num_failed`` (failed rollouts are recorded, never scored);
* ``accuracy`` (mean verdict of scored tasks), ``tokens_per_role`` (``[N]`` mean tokens),
  ``tokens_per_task`` (their sum);
* ``equilibrium_regret`` (mean over states of ``sum_i gap_i(x_t)`` in the true game at the
  target temperatures and references), ``equilibrium_regret_per_state`` ``[S]``,
  ``cumulative_equilibrium_regret``;
* ``hindsight_regret`` (cumulative, mean over states, true payoffs), ``hindsight_regret_per_state``;
* ``distance_to_hqre`` (max over states of ``||x_t(s) - x*_t(s)||_2``), ``distance_per_state``;
* ``oscillation`` (this round's ``sum_i ||x_t - x_{t-1}||_1``, mean over states),
  ``oscillation_index`` (its running mean), ``drift`` (``sum_i ||x_t - x_0||_1``, mean over
  states);
* ``policy`` (``[S][N][n_i]`` the mixed policy played per state), ``best_of_n``;
* ``temperature`` ``[S][N]``, ``temperature_floor`` ``[S]``, ``solver``
  (``residual``/``result``/``steps`` per state), ``certificate``
  (``certified``/``margin``/``alpha_upper``/``error_bound`` per state) -- DICE-PC only;
* ``monotonicity``: per state ``estimate``/``lower``/``upper``/``ratio``/``refuted`` of the
  rollout monotonicity diagnostic (:mod:`dice_jax.pc.metrics.measures`) between ``x_{t-1}`` and ``x_t``
  from round ``t``'s rollouts, and ``min_temperature`` (``null`` where ``x_t`` has a zero entry,
  the state had no scored task, or ``x_t = x_{t-1}``).

**Summary keys** (``summary.json``): ``method``, ``config``, ``spec``, ``rounds``,
``batch_size``, ``seed``, ``target_temperature``, ``target_reference``, ``accuracy``
(mean over the run), ``accuracy_last_quarter``, ``tokens_per_task``, ``tokens_per_role``,
``cumulative_equilibrium_regret``, ``regret_slope_ratio`` (last-quarter over first-quarter
slope of the cumulative equilibrium regret), ``final_distance_to_hqre``,
``max_distance_last_half``, ``oscillation_index`` (over the run) and
``oscillation_index_last_half``, ``final_drift``, ``hindsight_regret`` (final, mean over
states), ``hindsight_regret_estimated`` (``true`` when the environment has no true payoffs and
it comes from the final posterior; then ``hindsight_regret_curve`` holds the cumulative curve),
``certified_fraction``, ``max_solver_residual``, ``monotonicity_median_ratio`` and
``monotonicity_refuted_fraction`` (over rounds and states with a defined diagnostic),
``seconds``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from dice_jax.pc import checks as _checks
from dice_jax.pc.metrics import measures as M
from dice_jax.pc.environments.spec import Environment, payoffs
from dice_jax.pc.policies.policies import Decision, Policy, make_policy
from dice_jax.pc.harness.records import RoundRecord, StateMonotonicity
from dice_jax.rollouts.records import to_json
from dice_jax.pc.posterior.beta_bernoulli import PayoffPosterior, task_states

__all__ = ["Results", "compare", "load_results", "run"]


@dataclasses.dataclass
class Results:
  """What :func:`run` returns.

  Attributes:
    method: the policy's name.
    records: one dict per round (keys in the module docstring).
    summary: the run's summary dict.
    profiles: per role ``[R, S, n_i]`` the mixed policies played (NaN rows for rounds that
      played no joint action, e.g. best-of-``n``).
  """

  method: str
  records: List[Dict[str, Any]]
  summary: Dict[str, Any]
  profiles: Optional[Tuple[np.ndarray, ...]] = None

  def series(self, key: str) -> np.ndarray:
    """``[R]`` float array of a scalar record key (``None`` -> NaN)."""
    return np.array([np.nan if r.get(key) is None else r[key] for r in self.records], float)


class _GameCache:
  """The true game, team payoffs and true HQRE of a round (re-solved only when payoffs change)."""

  def __init__(self, env, spec, tau, reference):
    self.env, self.spec, self.tau, self.reference = env, spec, tau, reference
    self._key = None
    self._hqre = None

  def get(self, t):
    tp = self.env.true_payoffs(t)
    if tp is None:
      return None
    success, tokens = tp
    key = (id(success), id(tokens))
    if key != self._key or not (
      np.array_equal(success, self._s) and np.array_equal(tokens, self._k)
    ):
      import dice_jax as dj  # noqa: PLC0415

      self._s, self._k = np.array(success), np.array(tokens)
      game = dj.NormalFormGame.from_arrays(list(payoffs(self.spec, success, tokens)))
      init = None if self._hqre is None else [_checks.interior(p) for p in self._hqre]
      sol = dj.solve(game, self.tau, reference=list(self.reference), init=init)
      self._hqre = tuple(np.asarray(p, np.float64) for p in sol.probabilities)
      self._value = (game, M.team_payoffs(self.spec, success, tokens), self._hqre)
      self._key = key
    return self._value


def _validate(env, policy, rounds, batch_size, seed):
  if not isinstance(env, Environment):
    raise ValueError(
      f"env must implement dice_jax.pc.Environment (spec, tasks, play, best_of_n, "
      f"true_payoffs); got {type(env).__name__}."
    )
  if isinstance(policy, str):
    policy = make_policy(policy)
  if not isinstance(policy, Policy):
    raise ValueError(
      f"policy must be a dice_jax.pc.policies.policies.Policy or a method name; got "
      f"{type(policy).__name__}."
    )
  rounds = _checks.positive_int(rounds, "rounds")
  batch_size = _checks.positive_int(batch_size, "batch_size")
  if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
    raise ValueError(f"seed must be an integer >= 0; got {seed!r}.")
  return policy, rounds, batch_size, int(seed)


def run(
  env,
  policy,
  *,
  rounds: int,
  batch_size: int,
  seed: int = 0,
  temperature=None,
  reference: Optional[Sequence] = None,
  out_dir: Optional[str] = None,
  progress: bool = False,
  monotonicity: bool = True,
  num_bootstrap: int = 100,
) -> Results:
  """Run ``policy`` on ``env`` for ``rounds`` rounds of ``batch_size`` tasks.

  Args:
    env: an :class:`~dice_jax.pc.Environment`.
    policy: a :class:`~dice_jax.pc.policies.policies.Policy` or a method name
      (:data:`~dice_jax.pc.policies.policies.POLICIES`; default settings).
    rounds, batch_size: the budget (``>= 1`` each).
    seed: the seed of the task draws and of the policy's sampling.
    temperature, reference: the *target* temperatures ``[S, N]`` (or broadcastable) and
      references at which equilibrium regret and the true HQRE are evaluated; default the
      policy's target (DICE-PC's final temperatures and references), else ``tau = 1`` and uniform.
    out_dir: if given, write ``records.jsonl`` (one record per round, flushed as it goes) and
      ``summary.json`` there.
    progress: show a tqdm progress bar.
    monotonicity: compute the rollout monotonicity diagnostic each round.
    num_bootstrap: bootstrap resamples of that diagnostic.

  Returns:
    :class:`Results`.

  Raises:
    ValueError: naming the argument, before any round is played, for a bad environment,
      policy, ``rounds``, ``batch_size``, ``seed``, ``temperature`` or ``reference``.

  Example:
    >>> from dice_jax.pc.environments.synthetic import oscillation_suite
    >>> res = run(oscillation_suite(), "uniform", rounds=3, batch_size=8, seed=0)
    >>> len(res.records), sorted(res.records[0])[:3]
    (3, ['accuracy', 'best_of_n', 'certificate'])
  """
  policy, rounds, batch_size, seed = _validate(env, policy, rounds, batch_size, seed)
  spec = env.spec
  num_bootstrap = _checks.positive_int(num_bootstrap, "num_bootstrap")
  rng = np.random.default_rng([seed, 0x901])  # the policy's sampling
  policy.reset(spec, rng)
  ptau, pref = policy.target()
  tau = _checks.temperatures(
    ptau
    if temperature is None and ptau is not None
    else (1.0 if temperature is None else temperature),
    spec,
    "temperature",
  )
  ref = _checks.references(
    pref if reference is None and pref is not None else reference, spec, "reference"
  )
  games = _GameCache(env, spec, tau, ref)
  measure = PayoffPosterior(spec)  # the harness's own posterior, for estimated hindsight regret
  hindsight = M.HindsightTracker()
  s_count, kk = spec.num_states, spec.num_actions
  profiles = tuple(np.full((rounds, s_count, k), np.nan) for k in kk)
  writer = None
  if out_dir is not None:
    os.makedirs(out_dir, exist_ok=True)
    writer = open(os.path.join(out_dir, "records.jsonl"), "w")
  bar = None
  if progress:
    from tqdm.auto import tqdm  # noqa: PLC0415

    bar = tqdm(total=rounds, desc=policy.name)

  records: List[Dict[str, Any]] = []  # RoundRecord.to_json() of every round
  cum_er = 0.0
  osc_sum, osc_n = 0.0, 0
  first = prev = None
  any_true = False
  start = time.perf_counter()
  try:
    for t in range(rounds):
      t0 = time.perf_counter()
      tasks = env.tasks(np.random.default_rng([seed, t, 0x7A5]), batch_size, round=t)
      states = task_states(tasks, s_count)
      decision: Decision = policy.act(t, states, rng)
      if decision.best_of_n is not None:
        outcome = env.best_of_n(tasks, decision.best_of_n, round=t)
      else:
        outcome = env.play(tasks, decision.actions, round=t)
      policy.observe(t, states, decision, outcome)
      keep = ~outcome.failed
      tpr = outcome.tokens[keep].mean(0) if keep.any() else np.full(spec.num_roles, np.nan)
      rec = RoundRecord(
        round=t,
        method=policy.name,
        num_tasks=len(tasks),
        num_scored=int(keep.sum()),
        num_failed=int((~keep).sum()),
        accuracy=float(outcome.correct[keep].mean()) if keep.any() else None,
        tokens_per_role=tpr,
        tokens_per_task=float(tpr.sum()),
        best_of_n=decision.best_of_n,
        cumulative_equilibrium_regret=cum_er,
      )
      rec.add_info(decision.info)
      x = decision.profile
      if x is not None:
        x = tuple(np.asarray(p, np.float64) for p in x)
        for p, store in zip(x, profiles):
          store[t] = p
        measure.add(
          states[keep], decision.actions[keep], outcome.correct[keep], outcome.tokens[keep]
        )
        rec.policy = [[p[s] for p in x] for s in range(s_count)]
        true = games.get(t)
        if true is not None:
          any_true = True
          game, team, hqre = true
          gaps = M.equilibrium_gaps(game, x, tau, ref).sum(-1)
          cum_er += float(gaps.mean())
          rec.equilibrium_regret = float(gaps.mean())
          rec.equilibrium_regret_per_state = gaps
          rec.cumulative_equilibrium_regret = cum_er
          dist = M.distance(x, hqre)
          rec.distance_to_hqre, rec.distance_per_state = float(dist.max()), dist
          hr = hindsight.add(team, x)
          rec.hindsight_regret, rec.hindsight_regret_per_state = float(hr.mean()), hr
        if first is None:
          first = x
        osc, dr = M.step_metrics(prev if prev is not None else x, x, first)
        if prev is not None:
          osc_sum += float(osc.mean())
          osc_n += 1
          rec.oscillation = float(osc.mean())
        rec.oscillation_index = osc_sum / osc_n if osc_n else None
        rec.drift = float(dr.mean())
        if monotonicity and prev is not None:
          rewards = payoffs(spec, outcome.correct, outcome.tokens).T  # [B, N]
          cur_round = (states, decision.actions, rewards, outcome.failed, x)
          rec.monotonicity = _monotonicity(prev, cur_round, decision, tau, t, num_bootstrap)
        prev = x
      rec.seconds = time.perf_counter() - t0
      rec = rec.to_json()
      records.append(rec)
      if writer is not None:
        writer.write(json.dumps(rec) + "\n")
        writer.flush()
      if bar is not None:
        bar.update(1)
        if rec["accuracy"] is not None:
          bar.set_postfix(acc=f"{rec['accuracy']:.3f}", refresh=False)
  finally:
    if writer is not None:
      writer.close()
    if bar is not None:
      bar.close()

  summary = _summary(
    policy,
    spec,
    records,
    profiles,
    tau,
    ref,
    rounds,
    batch_size,
    seed,
    any_true,
    measure,
    time.perf_counter() - start,
  )
  if out_dir is not None:
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
      json.dump(summary, f, indent=1)
  return Results(policy.name, records, summary, profiles)


def _monotonicity(prev_profile, cur_round, decision, tau, t, num_bootstrap):
  """Per-state rollout monotonicity diagnostic between ``x_{t-1}`` and ``x_t`` from round ``t``'s
  rollouts (paired importance-weighted differences; see :mod:`dice_jax.pc.metrics.measures`)."""
  states, actions, rewards, failed, x = cur_round
  y = prev_profile
  if not all(np.any(a.min(-1) > 1e-12) for a in x):
    return None  # a pure policy: v(x)[k] is not estimable off its support
  ux, nx = M.importance_weighted_utilities(states, actions, rewards, failed, x)
  uy, _ = M.importance_weighted_utilities(states, actions, rewards, failed, x, y)
  valid = nx > 0
  for a in x:
    valid &= a.min(-1) > 1e-12
  diff = sum(np.sum(np.square(a - b), -1) for a, b in zip(x, y))
  valid &= diff > 1e-24
  if not valid.any():
    return None
  tau_round = np.asarray(tau if decision.info is None else decision.info.temperature, np.float64)
  zeros = tuple(np.zeros((a.shape[0], 1, a.shape[-1])) for a in x)
  out = M.monotonicity_diagnostic(
    tuple(a - b for a, b in zip(ux, uy)),
    zeros,
    x,
    y,
    tau_round,
    seed=t,
    num_bootstrap=num_bootstrap,
  )
  pick = lambda a: [
    (float(v) if isinstance(v, (float, np.floating)) else bool(v))
    if ok and np.isfinite(float(v))
    else None
    for v, ok in zip(a, valid)
  ]
  return StateMonotonicity(
    estimate=pick(out.estimate),
    lower=pick(out.lower),
    upper=pick(out.upper),
    ratio=pick(out.ratio),
    min_temperature=pick(out.min_temperature),
    refuted=pick(out.refuted),
  )


def _summary(
  policy, spec, records, profiles, tau, ref, rounds, batch_size, seed, any_true, measure, seconds
):
  get = lambda k: np.array([np.nan if r[k] is None else r[k] for r in records], float)
  acc = get("accuracy")
  tok = get("tokens_per_task")
  q = max(1, rounds // 4)
  er = get("equilibrium_regret")
  dist = get("distance_to_hqre")
  played = ~np.isnan(profiles[0][:, 0, 0])
  summary: Dict[str, Any] = {
    "method": policy.name,
    "config": policy.config(),
    "spec": spec.to_dict(),
    "rounds": rounds,
    "batch_size": batch_size,
    "seed": seed,
    "target_temperature": tau,
    "target_reference": [r for r in ref],
    "accuracy": np.nanmean(acc) if np.any(~np.isnan(acc)) else None,
    "accuracy_last_quarter": np.nanmean(acc[-q:]) if np.any(~np.isnan(acc[-q:])) else None,
    "tokens_per_task": np.nanmean(tok) if np.any(~np.isnan(tok)) else None,
    "tokens_per_role": np.nanmean(
      np.array(
        [
          [np.nan] * spec.num_roles
          if r["tokens_per_role"] is None
          else [np.nan if v is None else v for v in r["tokens_per_role"]]
          for r in records
        ],
        float,
      ),
      0,
    ),
    "seconds": seconds,
  }
  if any_true and np.any(~np.isnan(er)):
    summary["cumulative_equilibrium_regret"] = float(np.nansum(er))
    summary["regret_slope_ratio"] = M.slope_ratio(np.nan_to_num(er))
    summary["final_distance_to_hqre"] = dist[-1]
    summary["max_distance_last_half"] = (
      np.nanmax(dist[rounds // 2 :]) if np.any(~np.isnan(dist[rounds // 2 :])) else None
    )
    summary["hindsight_regret"] = records[-1]["hindsight_regret"]
    summary["hindsight_regret_estimated"] = False
  elif np.any(played):
    team = M.team_payoffs(spec, measure.success_mean(), measure.tokens_mean())
    curve = M.hindsight_regret(team, tuple(p[played] for p in profiles)).mean(-1)
    summary["hindsight_regret"] = float(curve[-1])
    summary["hindsight_regret_estimated"] = True
    summary["hindsight_regret_curve"] = curve
  osc = get("oscillation")
  if np.any(~np.isnan(osc)):
    # the running mean of the per-round steps, each from dice_jax.certify.oscillation: equal to
    # oscillation(trajectory) of the played trajectory, without compiling one program per length
    summary["oscillation_index"] = float(np.nanmean(osc))
    half = osc[rounds // 2 :]
    summary["oscillation_index_last_half"] = (
      float(np.nanmean(half)) if np.any(~np.isnan(half)) else None
    )
    summary["final_drift"] = records[-1]["drift"]
  mono = [
    (v, f)
    for r in records
    if r.get("monotonicity")
    for v, f in zip(r["monotonicity"]["ratio"], r["monotonicity"]["refuted"])
    if v is not None
  ]
  if mono:
    summary["monotonicity_median_ratio"] = float(np.median([v for v, _ in mono]))
    summary["monotonicity_refuted_fraction"] = float(np.mean([bool(f) for _, f in mono]))
  certs = [r["certificate"]["certified"] for r in records if r.get("certificate")]
  if certs:
    summary["certified_fraction"] = float(np.mean([all(c) for c in certs]))
  res = [
    max(v for v in r["solver"]["residual"] if v is not None) for r in records if r.get("solver")
  ]
  if res:
    summary["max_solver_residual"] = float(max(res))
  return to_json(summary)


def compare(
  env,
  policies: Mapping[str, Any],
  *,
  rounds: int,
  batch_size: int,
  seed: int = 0,
  temperature=None,
  reference=None,
  out_dir: Optional[str] = None,
  progress: bool = False,
  **kwargs,
) -> Dict[str, Results]:
  """Run several methods with the same budget, tasks and seed.

  Args:
    env: the environment (reused; synthetic ones are stateless across runs).
    policies: ``{label: policy or method name}``; each is run fresh (``reset``).
    temperature, reference: the common evaluation target (default: the first policy with a
      target, e.g. DICE-PC's, so every method is measured against the same HQRE).
    out_dir: if given, each method writes to ``out_dir/<label>/``.

  Returns:
    ``{label: Results}``.
  """
  resolved = {}
  for label, p in policies.items():
    resolved[label] = make_policy(p) if isinstance(p, str) else p
  if temperature is None or reference is None:
    for p in resolved.values():
      p.reset(env.spec, np.random.default_rng(0))
      pt, pr = p.target()
      if pt is not None:
        temperature = pt if temperature is None else temperature
        reference = pr if reference is None else reference
        break
  out = {}
  for label, p in resolved.items():
    out[label] = run(
      env,
      p,
      rounds=rounds,
      batch_size=batch_size,
      seed=seed,
      temperature=temperature,
      reference=reference,
      out_dir=None if out_dir is None else os.path.join(out_dir, label),
      progress=progress,
      **kwargs,
    )
  return out


def load_results(folder: str) -> Dict[str, Results]:
  """Read the runs under ``folder`` (``folder/summary.json`` or ``folder/*/summary.json``)."""
  found = {}
  cands = [folder] + sorted(
    os.path.join(folder, d) for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d))
  )
  for d in cands:
    sp = os.path.join(d, "summary.json")
    if not os.path.exists(sp):
      continue
    with open(sp) as f:
      summary = json.load(f)
    records = []
    rp = os.path.join(d, "records.jsonl")
    if os.path.exists(rp):
      with open(rp) as f:
        records = [json.loads(line) for line in f if line.strip()]
    label = os.path.basename(os.path.normpath(d)) if d != folder else summary["method"]
    found[label] = Results(summary["method"], records, summary)
  if not found:
    raise ValueError(f"folder {folder!r} holds no summary.json (nor do its subfolders).")
  return found
