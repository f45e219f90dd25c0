"""dice_jax's Markov logit QRE against sgamesolver's QRE homotopy on the same games (issue 16).

sgamesolver 1.0.2 (Eibelshäuser & Poensgen) needs NumPy < 2, so it runs in its own virtualenv
(``--venv``, created on first use: ``python -m venv``, then ``numpy<2``, Cython and
``sgamesolver==1.0.2`` built against them); this process never imports it. The games go to it
in a temporary ``.npz`` and :mod:`benchmarks.sgamesolver_driver` sends strategies and seconds
back as JSON.

**What is compared.** sgamesolver's QRE homotopy (``sgamesolver/homotopy/_qre.py``,
``QRE_np.H``; the Cython ``_qre_ct.H`` used by default computes the same) solves, for every
state ``s`` and player ``i``,

    beta_i(s, a) - beta_i(s, 0) = lambda [u~_i(s, a) - u~_i(s, 0)],   sum_a exp(beta_i(s, a)) = 1,
    V_i(s) = sum_a sigma_i(s, a) u~_i(s, a),

with ``beta = log sigma``, ``u~_i(s, a_i) = E_{a_-i ~ sigma_-i}[u_i(s, a) + delta_i sum_s'
phi(s, a, s') V_i(s')]`` (``_shared_ct.u_tilde``: "u_tilde = u + delta phi V") and the raw
payoffs ``u`` of the ``SGame`` (no normalisation or scaling anywhere in the QRE homotopy or
``SGame``). That is ``sigma_i(.|s) = softmax(lambda Q_i(s, .))`` with ``V_i = r_i + delta
P_sigma V_i``: exactly dice_jax's ``logit`` convention (:mod:`dice_jax.markov.evaluation`)
with uniform reference and ``tau_i(s) = 1 / lambda`` for every agent and state. ``lambda``
is the homotopy parameter ``t``; ``solver_setup(target_lambda=lam)`` stops at ``|t - lam| <
convergence_tol`` (``homcont.py``, ``check_convergence``), set here to 1e-10 with the
corrector tolerance (defaults 1e-7). The homotopy starts at ``lambda = 0`` (centroid
strategies) and follows the principal branch; dice_jax's ``auto`` uses extragradient where the
contraction certificate proves the QRE unique and continuation from ``tau = infinity``
otherwise, so both should land on the same QRE. As an independent check, sgamesolver's
strategies are evaluated with :func:`dice_jax.markov.evaluate` (``logit``) at ``tau = 1 /
lambda``: their fixed-point residual is recorded.

**Games.** Random two-player general-sum Markov games (seeded): ``S`` states, 2 x 3 actions,
``gamma = 0.9``, rewards uniform on ``[-1, 1]``, transition rows ``x^3`` normalised (``x``
uniform), ``lambda`` cycling through 1, 5 and 20 (at 20 the policies are nearly pure and
the QRE need not be unique). Full run: 30 games with ``S = 8``; ``--quick``: 3 games with
``S = 5``.

**Timing.** sgamesolver: per game, from building the ``SGame`` to the end of the homotopy
(its game 0 solved once untimed first). dice_jax (float64, ``tol = 1e-10``): each game solved
alone (batch 1, as sgamesolver does), timed after a warm-up pass over every game (the
compiles); and the whole set in one batched call after its own warm-up, divided by the game
count. Three rounds (one with ``--quick``), each sgamesolver on every game and then dice_jax on
every game, interleaved; each game's time is its median over the rounds. The ratio is
sgamesolver's seconds over dice_jax's single-game seconds; both share this machine's cores with
whatever else runs (``load_average`` in the record).

    python -m benchmarks.sgamesolver_peer [--quick] [--venv DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import List, NamedTuple, Optional, Tuple

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from benchmarks import _record  # noqa: E402
from dice_jax.markov import MarkovGame, evaluate, solve_markov  # noqa: E402

DEFAULT_VENV = os.path.join("~", ".cache", "dice_jax", "sgamesolver-venv")
DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sgamesolver_driver.py")
#: What the virtualenv gets: sgamesolver's setup.py imports NumPy and cythonizes its
#: extensions, so NumPy < 2 and Cython go in first and sgamesolver builds without isolation.
BUILD_REQUIREMENTS = ("numpy<2", "cython>=3,<4", "setuptools", "wheel")
PEER = "sgamesolver==1.0.2"
LAMBDAS = (1.0, 5.0, 20.0)
TOL = 1e-10


class GameSet(NamedTuple):
  """Two-player Markov games of one shape, as both solvers read them.

  Attributes:
    transitions: ``P(s' | s, a_1, a_2)``, shape ``(G, S, n_1, n_2, S)``.
    rewards: ``R_i(s, a_1, a_2)``, shape ``(G, 2, S, n_1, n_2)``.
    gamma: discount factors, ``(G,)``.
    lam: sgamesolver's ``lambda`` per game, ``(G,)``; dice_jax's temperature is ``1 / lam``.
  """

  transitions: np.ndarray
  rewards: np.ndarray
  gamma: np.ndarray
  lam: np.ndarray


class PolicyRun(NamedTuple):
  """One solver's answers: per agent ``(G, S, n_i)`` (NaN where it failed) and per-game facts."""

  probabilities: Tuple[np.ndarray, ...]
  seconds: np.ndarray
  converged: np.ndarray
  steps: np.ndarray
  detail: List[str]


def random_games(seed, count, num_states, num_actions=(2, 3), gamma=0.9, lambdas=LAMBDAS):
  """``count`` random general-sum games (see the module docstring), ``lambda`` cycling."""
  rng = np.random.default_rng(seed)
  p = rng.random((count, num_states, *num_actions, num_states)) ** 3
  p /= p.sum(-1, keepdims=True)
  r = rng.uniform(-1.0, 1.0, (count, len(num_actions), num_states, *num_actions))
  lam = np.array([lambdas[g % len(lambdas)] for g in range(count)], dtype=np.float64)
  return GameSet(p, r, np.full(count, gamma), lam)


def write_games(path: str, games: GameSet) -> None:
  np.savez(path, **games._asdict())


def read_games(path: str) -> GameSet:
  with np.load(path) as data:
    missing = [k for k in GameSet._fields if k not in data]
    if missing:
      raise ValueError(f"{path}: missing arrays {missing}; expected {list(GameSet._fields)}.")
    return GameSet(*(np.asarray(data[k], dtype=np.float64) for k in GameSet._fields))


def markov_game(games: GameSet, index: Optional[int] = None) -> MarkovGame:
  """The games (or game ``index``) as a :class:`MarkovGame` with ``tau_i(s) = 1 / lambda``."""
  sel = slice(None) if index is None else index
  lam = games.lam[sel]
  n = games.rewards.shape[1]
  s = games.transitions.shape[1]
  tau = np.broadcast_to((1.0 / np.asarray(lam))[..., None, None], (*np.shape(lam), n, s))
  return MarkovGame.from_arrays(
    games.transitions[sel],
    [games.rewards[sel][..., i, :, :, :] for i in range(n)],
    games.gamma[sel],
    temperature=tau,
    dtype=np.float64,
  )


def ensure_venv(venv: str) -> str:
  """The virtualenv's python with sgamesolver importable; create and install it if missing."""
  venv = os.path.expanduser(venv)
  python = os.path.join(venv, "bin", "python")
  check = [python, "-c", "import sgamesolver"]
  if os.path.exists(python) and subprocess.run(check, capture_output=True).returncode == 0:
    return python
  print(f"creating {venv} for {PEER} (one time; builds its Cython extensions)", flush=True)
  subprocess.run([sys.executable, "-m", "venv", venv], check=True)
  pip = [python, "-m", "pip", "install", "--quiet"]
  subprocess.run([*pip, *BUILD_REQUIREMENTS], check=True)
  subprocess.run([*pip, "--no-build-isolation", PEER, "numpy<2"], check=True)
  subprocess.run(check, check=True)
  return python


def run_sgamesolver(python: str, games: GameSet, tol: float = TOL) -> Tuple[PolicyRun, dict]:
  """Solve ``games`` with sgamesolver in the virtualenv's ``python``; its answers and versions."""
  with tempfile.TemporaryDirectory() as d:
    path, out = os.path.join(d, "games.npz"), os.path.join(d, "out.json")
    write_games(path, games)
    subprocess.run([python, DRIVER, path, out, "--tol", str(tol)], check=True)
    with open(out) as f:
      rec = json.load(f)
  g_count, s = games.lam.shape[0], games.transitions.shape[1]
  nums = games.rewards.shape[3:]
  probs = tuple(np.full((g_count, s, n), np.nan) for n in nums)
  for g, row in enumerate(rec["games"]):
    if row["strategies"] is not None:
      for i, n in enumerate(nums):
        probs[i][g] = np.array([st[i][:n] for st in row["strategies"]], dtype=np.float64)
  rows = rec["games"]
  run = PolicyRun(
    probs,
    np.array([r["seconds"] for r in rows]),
    np.array([r["success"] for r in rows]),
    np.array([r["steps"] for r in rows]),
    [
      f"t={r['t_reached']:.12g}" if r["success"] else f"failed: {r['failure_reason']}" for r in rows
    ],
  )
  return run, {"sgamesolver": rec["sgamesolver"], "numpy": rec["numpy"], "tol": rec["tol"]}


def run_dice_jax(
  games: GameSet, method: str, tol: float = TOL, warm_up: bool = True
) -> Tuple[PolicyRun, float]:
  """Each game alone and all in one call (per-game seconds of the batch), each timed after a
  warm-up call on every game and on the batch unless ``warm_up`` is False (compiled already)."""
  count = games.lam.shape[0]
  singles = [markov_game(games, g) for g in range(count)]
  batched = markov_game(games)
  solve = lambda game: jax.block_until_ready(
    solve_markov(game, convention="logit", method=method, tol=tol)
  )
  if warm_up:
    for game in [*singles, batched]:
      solve(game)
  sols, seconds = [], []
  for game in singles:
    t0 = time.perf_counter()
    sols.append(solve(game))
    seconds.append(time.perf_counter() - t0)
  t0 = time.perf_counter()
  solve(batched)
  batched_s = (time.perf_counter() - t0) / count
  run = PolicyRun(
    tuple(np.stack([np.asarray(s.probabilities[i]) for s in sols]) for i in range(2)),
    np.array(seconds),
    np.array([bool(s.converged) for s in sols]),
    np.array([int(s.steps) for s in sols]),
    [f"{s.method_names().item()}:{s.result_names().item()}" for s in sols],
  )
  return run, batched_s


def policy_difference(a: Tuple[np.ndarray, ...], b: Tuple[np.ndarray, ...]) -> np.ndarray:
  """``max |pi_a - pi_b|`` over agents, states and actions, per game (NaN stays NaN)."""
  return np.max(np.stack([np.abs(x - y).reshape(x.shape[0], -1).max(-1) for x, y in zip(a, b)]), 0)


def logit_residual(games: GameSet, probs: Tuple[np.ndarray, ...]) -> np.ndarray:
  """dice_jax's fixed-point residual (``logit``, ``tau = 1 / lambda``) of a profile, per game."""
  ok = np.all(np.stack([np.isfinite(p).reshape(p.shape[0], -1).all(-1) for p in probs]), 0)
  safe = tuple(np.where(ok[:, None, None], p, 1.0 / p.shape[-1]) for p in probs)
  ev = evaluate(markov_game(games), tuple(np.log(p) for p in safe), "logit")
  return np.where(ok, np.asarray(ev.residual).max(-1), np.nan)


def compare(games: GameSet, python: str, methods=("auto", "extragradient"), repeats=3) -> dict:
  """Interleaved rounds (sgamesolver on every game, then dice_jax with each method), ``repeats``
  times; answers from the first round, seconds the per-game median over the rounds."""
  peers, ours_by = [], {m: [] for m in methods}
  for r in range(repeats):
    peers.append(run_sgamesolver(python, games))
    for method in methods:
      ours_by[method].append(run_dice_jax(games, method, warm_up=r == 0))
  versions = peers[0][1]
  peer = peers[0][0]._replace(seconds=np.median([p.seconds for p, _ in peers], 0))
  peer_residual = logit_residual(games, peer.probabilities)
  rows, summary = [], {}
  for method in methods:
    runs = ours_by[method]
    ours = runs[0][0]._replace(seconds=np.median([o.seconds for o, _ in runs], 0))
    batched_s = float(np.median([b for _, b in runs]))
    diff = policy_difference(ours.probabilities, peer.probabilities)
    for g in range(games.lam.shape[0]):
      rows.append(
        dict(
          method=method,
          game=g,
          lam=float(games.lam[g]),
          max_abs_diff=float(diff[g]),
          dice_jax=ours.detail[g],
          dice_jax_steps=int(ours.steps[g]),
          dice_jax_s=float(ours.seconds[g]),
          sgamesolver_converged=bool(peer.converged[g]),
          sgamesolver=peer.detail[g],
          sgamesolver_steps=int(peer.steps[g]),
          sgamesolver_residual=float(peer_residual[g]),
          sgamesolver_s=float(peer.seconds[g]),
          sgamesolver_over_dice_jax_time=float(peer.seconds[g] / ours.seconds[g]),
        )
      )
    both = ours.converged & peer.converged
    summary[method] = dict(
      games=int(games.lam.shape[0]),
      repeats=repeats,
      max_abs_diff=float(np.nanmax(diff)) if np.isfinite(diff).any() else None,
      max_abs_diff_both_converged=float(diff[both].max()) if both.any() else None,
      games_within_1e_6=int(np.sum(diff <= 1e-6)),
      dice_jax_converged=int(ours.converged.sum()),
      sgamesolver_converged=int(peer.converged.sum()),
      dice_jax_s_per_game=float(np.mean(ours.seconds)),
      dice_jax_batched_s_per_game=batched_s,
      sgamesolver_s_per_game=float(np.mean(peer.seconds)),
      ratio=float(np.mean(peer.seconds) / np.mean(ours.seconds)),
      ratio_batched=float(np.mean(peer.seconds) / batched_s),
    )
  return {"rows": rows, "summary": summary, "peer": versions}


def sci(x: Optional[float]) -> str:
  return "n/a" if x is None else f"{x:.2e}"


def print_table(result: dict) -> None:
  print(
    f"{'method':14s} {'game':>4s} {'lambda':>6s} {'max|diff|':>10s} {'dice_jax':>26s} "
    f"{'ms':>8s} {'sgamesolver':>22s} {'ms':>8s} {'peer resid':>10s} {'ratio':>6s}"
  )
  for r in result["rows"]:
    print(
      f"{r['method']:14s} {r['game']:4d} {r['lam']:6.1f} {r['max_abs_diff']:10.2e} "
      f"{r['dice_jax']:>26s} {r['dice_jax_s'] * 1e3:8.2f} {r['sgamesolver']:>22s} "
      f"{r['sgamesolver_s'] * 1e3:8.2f} {r['sgamesolver_residual']:10.1e} "
      f"{r['sgamesolver_over_dice_jax_time']:6.2f}"
    )
  for method, s in result["summary"].items():
    print(
      f"{method}: {s['games_within_1e_6']}/{s['games']} games within 1e-6 (max |diff| "
      f"{sci(s['max_abs_diff'])}; {sci(s['max_abs_diff_both_converged'])} where both converged); "
      f"converged dice_jax {s['dice_jax_converged']}/{s['games']}, "
      f"sgamesolver {s['sgamesolver_converged']}/{s['games']}; per game: dice_jax "
      f"{s['dice_jax_s_per_game'] * 1e3:.2f} ms alone, {s['dice_jax_batched_s_per_game'] * 1e3:.3f}"
      f" ms batched; sgamesolver {s['sgamesolver_s_per_game'] * 1e3:.2f} ms; sgamesolver / "
      f"dice_jax {s['ratio']:.2f} (alone), {s['ratio_batched']:.1f} (batched)"
    )


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--quick", action="store_true", help="3 games, S = 5")
  parser.add_argument("--venv", default=DEFAULT_VENV, help="sgamesolver's virtualenv")
  parser.add_argument("--games", type=int, default=None, help="default 30 (3 with --quick)")
  parser.add_argument("--states", type=int, default=None, help="default 8 (5 with --quick)")
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument(
    "--repeats", type=int, default=None, help="timing rounds; default 3 (1 quick)"
  )
  parser.add_argument("--json", default=None)
  args = parser.parse_args(argv)
  count = args.games or (3 if args.quick else 30)
  states = args.states or (5 if args.quick else 8)
  python = ensure_venv(args.venv)
  games = random_games(args.seed, count, states)
  result = compare(games, python, repeats=args.repeats or (1 if args.quick else 3))
  print_table(result)
  if args.json:
    _record.write_json(
      args.json,
      {
        "benchmark": "sgamesolver_peer",
        "env": _record.environment(),
        "quick": args.quick,
        "seed": args.seed,
        "states": states,
        "actions": [2, 3],
        "gamma": 0.9,
        "lambdas": list(LAMBDAS),
        "tol": TOL,
        "peer": result["peer"],
        "summary": result["summary"],
        "rows": result["rows"],
      },
    )
    print(f"wrote {args.json}")
  return result


if __name__ == "__main__":
  main()
