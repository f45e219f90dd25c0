"""Independent dense NumPy references for Markov games (loops over joint actions, no JAX)."""

from __future__ import annotations

import itertools

import numpy as np


def random_game_arrays(
  seed, num_states, num_actions, *, gamma=0.9, zero_sum=False, temperature_range=(0.3, 0.8)
):
  """Random transitions (peaked), normal rewards, per-agent-and-state temperatures."""
  rng = np.random.default_rng(seed)
  n = len(num_actions)
  p = rng.random((num_states, *num_actions, num_states)) ** 3
  p /= p.sum(-1, keepdims=True)
  r = [rng.normal(size=(num_states, *num_actions)) for _ in range(n)]
  if zero_sum:
    r = [r[0], -r[0]]
  lo, hi = temperature_range
  tau = lo + (hi - lo) * rng.random((n, num_states))
  return p, r, gamma, tau


def joint_actions(num_actions):
  return list(itertools.product(*[range(k) for k in num_actions]))


def dense_values(p, r, gamma, tau, policies, log_ref=None, convention="own"):
  """``V_i(s)`` by building ``P_pi`` and ``c_i`` with explicit loops, then ``np.linalg.solve``."""
  num_states = p.shape[0]
  n = len(r)
  num_actions = p.shape[1:-1]
  if log_ref is None:
    log_ref = [np.full((num_states, k), -np.log(k)) for k in num_actions]
  p_pi = np.zeros((num_states, num_states))
  r_pi = np.zeros((n, num_states))
  for s in range(num_states):
    for a in joint_actions(num_actions):
      w = np.prod([policies[i][s, a[i]] for i in range(n)])
      p_pi[s] += w * p[(s, *a)]
      for i in range(n):
        r_pi[i, s] += w * r[i][(s, *a)]
  kl = np.array(
    [
      [np.sum(policies[i][s] * (np.log(policies[i][s]) - log_ref[i][s])) for s in range(num_states)]
      for i in range(n)
    ]
  )
  if convention == "own":
    c = r_pi - tau * kl
  elif convention == "logit":
    c = r_pi
  else:
    c1 = r_pi[0] - tau[0] * kl[0] + tau[1] * kl[1]
    c = np.stack([c1, -c1])
  v = np.linalg.solve(np.eye(num_states) - gamma * p_pi, c.T).T
  return v


def dense_q(p, r, gamma, policies, v):
  """``Q_i(s, a_i)`` by looping over joint actions."""
  num_states = p.shape[0]
  n = len(r)
  num_actions = p.shape[1:-1]
  q = [np.zeros((num_states, k)) for k in num_actions]
  for s in range(num_states):
    for a in joint_actions(num_actions):
      for i in range(n):
        w = np.prod([policies[j][s, a[j]] for j in range(n) if j != i])
        q[i][s, a[i]] += w * (r[i][(s, *a)] + gamma * p[(s, *a)] @ v[i])
  return q


def softmax(z):
  z = z - z.max(-1, keepdims=True)
  e = np.exp(z)
  return e / e.sum(-1, keepdims=True)


def hqre_violation(p, r, gamma, tau, policies, convention="own", log_ref=None):
  """``max_{i,s} ||pi_i(.|s) - softmax(log rho + Q_i(s,.)/tau_i(s))||_1`` with dense Q."""
  num_actions = p.shape[1:-1]
  if log_ref is None:
    log_ref = [np.full((p.shape[0], k), -np.log(k)) for k in num_actions]
  rr = r if convention != "zero_sum" else [r[0], -r[0]]
  v = dense_values(p, rr, gamma, tau, policies, log_ref, convention)
  q = dense_q(p, rr, gamma, policies, v)
  return max(
    np.max(np.abs(policies[i] - softmax(log_ref[i] + q[i] / tau[i][:, None])).sum(-1))
    for i in range(len(r))
  )
