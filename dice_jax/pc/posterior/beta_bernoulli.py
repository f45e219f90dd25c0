"""A conjugate posterior over the payoffs of a DICE-PC coordination game.

For every state ``s`` and joint action ``a = (a_1, ..., a_N)`` DICE-PC observes rollouts: a
verdict ``c in {0, 1}`` of the exact checker and the tokens ``k_j`` each role generated. The
payoff of role ``i`` is ``U_i(s, a) = p(s, a) - sum_j w_ij c_j E[k_j | s, a]``
(:func:`dice_jax.pc.payoffs`), so a posterior over ``p`` and ``E[k]`` gives one over ``U``.

* **Correctness**: Beta-Bernoulli. With prior ``Beta(alpha_0, beta_0)`` and ``S_n`` successes in
  ``n`` scored rollouts of the cell, the posterior is ``Beta(alpha_0 + S_n, beta_0 + n - S_n)``
  with mean ``(alpha_0 + S_n) / (alpha_0 + beta_0 + n)`` and variance
  ``m (1 - m) / (alpha_0 + beta_0 + n + 1)`` (Gelman et al., *Bayesian Data Analysis*, 3rd ed.,
  §2.4).
* **Tokens**: a running mean with a prior pseudo-count, ``(k_0 m_0 + sum k) / (k_0 + n)`` per
  role (the posterior mean of a normal mean with known variance and a prior worth ``k_0``
  observations; the standard error reported is ``sd / sqrt(k_0 + n)`` with the pooled sample
  sd).
* **Forgetting** (``discount = gamma`` in ``(0, 1]``): before each batch is added every count and
  sum is multiplied by ``gamma``, so an observation ``r`` batches old weighs ``gamma^r`` (the
  exponentially weighted posterior of a "forgetting" Bayesian filter; Kulhavy & Zarrop, Int. J.
  Control 1993). The effective sample size saturates at ``B_s / (1 - gamma)`` per state, so the
  posterior tracks payoffs that move on a time-scale of ``1 / (1 - gamma)`` batches. The prior
  is never discounted. ``gamma = 1`` is the exact conjugate posterior.

Failed rollouts (``Outcome.failed``) are skipped: never scored, never counted. Updates are one
``np.bincount`` per statistic over the flattened ``(state, joint action)`` index: no Python
loop over rollouts.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from dice_jax.pc.checks import probability
from dice_jax.pc.environments.spec import CoordinationSpec, Outcome, payoffs
from dice_jax.rollouts import fields
from dice_jax.rollouts.tasks import Task

__all__ = ["PayoffPosterior", "task_states"]


def task_states(tasks: Sequence[Task], num_states: int) -> np.ndarray:
  """``[B]`` int state index of every task, checked against ``num_states``."""
  states = np.fromiter((int(t.state) for t in tasks), np.int64, count=len(tasks))
  if states.size and (states.min() < 0 or states.max() >= num_states):
    bad = states[(states < 0) | (states >= num_states)][0]
    raise ValueError(f"tasks: a task has state {bad}, outside 0..{num_states - 1}.")
  return states


class PayoffPosterior:
  """Beta-Bernoulli correctness and mean-token posterior per state and joint action.

  Args:
    spec: the coordination game's description (roles, actions, states, token costs).
    alpha0, beta0: the Beta prior on every cell's success probability (``> 0``; default
      ``Beta(1, 1)``, uniform).
    token_prior: prior mean tokens per role (scalar or ``[N]``, ``>= 0``; default 0).
    token_pseudocount: the prior's weight in observations (``>= 0``; default 1).
    discount: forgetting factor ``gamma`` in ``(0, 1]`` applied once per :meth:`update`.

  Raises:
    ValueError: naming the argument, for a non-positive prior, a negative token prior or
      pseudo-count, or a discount outside ``(0, 1]``.

  Example:
    >>> import numpy as np
    >>> from dice_jax.pc import CoordinationSpec, Outcome, Task
    >>> spec = CoordinationSpec(roles=("a", "b"), controls=(("x", "y"), ("x", "y")))
    >>> post = PayoffPosterior(spec)
    >>> post.update([Task("q", 1)] * 2, np.array([[0, 0], [0, 0]]),
    ...             Outcome(correct=[1, 0], tokens=[[3, 4], [5, 6]], failed=[False, False]))
    2
    >>> float(post.success_mean()[0, 0, 0]), post.counts()[0, 0, 0].item()
    (0.5, 2.0)
  """

  def __init__(
    self,
    spec: CoordinationSpec,
    *,
    alpha0: float = 1.0,
    beta0: float = 1.0,
    token_prior=0.0,
    token_pseudocount: float = 1.0,
    discount: float = 1.0,
  ):
    fields.instance("spec", spec, CoordinationSpec)
    for name, v in (("alpha0", alpha0), ("beta0", beta0)):
      fields.real(name, v, low=0.0, low_open=True)
    tp = fields.numeric_array(
      "token_prior", token_prior, f"a number >= 0 or one value per role ({spec.num_roles})"
    )
    tp = np.broadcast_to(tp, (spec.num_roles,)) if tp.ndim == 0 else tp
    if tp.shape != (spec.num_roles,) or not np.all(np.isfinite(tp)) or np.any(tp < 0):
      raise ValueError(
        f"token_prior must be a number >= 0 or one value per role ({spec.num_roles}); "
        f"got {token_prior!r}."
      )
    fields.real("token_pseudocount", token_pseudocount, low=0.0)
    probability(discount, "discount", open_low=True)
    self.spec = spec
    self.alpha0, self.beta0 = float(alpha0), float(beta0)
    self.token_prior = tp.copy()
    self.token_pseudocount = float(token_pseudocount)
    self.discount = float(discount)
    self.shape = (spec.num_states, *spec.num_actions)
    self.reset()

  def reset(self) -> None:
    """Forget every observation (back to the prior)."""
    n = self.spec.num_roles
    self._n = np.zeros(self.shape)  # scored rollouts per cell (discounted)
    self._s = np.zeros(self.shape)  # successes per cell (discounted)
    self._k = np.zeros((*self.shape, n))  # token sums per cell and role (discounted)
    self._k2 = np.zeros((*self.shape, n))  # token sums of squares (for the standard error)

  # -- updates -------------------------------------------------------------------------------

  def update(self, tasks: Sequence[Task], actions: np.ndarray, outcome: Outcome) -> int:
    """Add one batch of rollouts; returns the number scored (failed rows are skipped).

    Args:
      tasks: the ``B`` tasks played (their ``state`` fields index the states).
      actions: ``[B, N]`` int joint actions.
      outcome: the :class:`Outcome` of the batch.
    """
    states = task_states(tasks, self.spec.num_states)
    actions = np.asarray(actions)
    b, n = len(states), self.spec.num_roles
    if actions.shape != (b, n):
      raise ValueError(f"actions must have shape (B, N) = ({b}, {n}); got {actions.shape}.")
    if outcome.correct.shape != (b,) or outcome.tokens.shape != (b, n):
      raise ValueError(
        f"outcome must hold B = {b} rows with N = {n} token columns; got "
        f"correct {outcome.correct.shape}, tokens {outcome.tokens.shape}."
      )
    if b and (np.any(actions < 0) or np.any(actions >= np.asarray(self.spec.num_actions))):
      raise ValueError(f"actions must index each role's controls {self.spec.num_actions}.")
    keep = ~outcome.failed
    return self.add(states[keep], actions[keep], outcome.correct[keep], outcome.tokens[keep])

  def add(
    self, states: np.ndarray, actions: np.ndarray, correct: np.ndarray, tokens: np.ndarray
  ) -> int:
    """Add scored rollouts given as arrays (``[B]``, ``[B, N]``, ``[B]``, ``[B, N]``): apply the
    discount once, then one ``bincount`` per statistic. Returns ``B``."""
    if self.discount < 1:
      for a in (self._n, self._s, self._k, self._k2):
        a *= self.discount
    if len(states) == 0:
      return 0
    size = int(np.prod(self.shape))
    flat = np.ravel_multi_index((np.asarray(states), *np.asarray(actions).T), self.shape)
    self._n += np.bincount(flat, minlength=size).reshape(self.shape)
    self._s += np.bincount(flat, weights=correct, minlength=size).reshape(self.shape)
    n = self.spec.num_roles
    for j in range(n):
      self._k[..., j] += np.bincount(flat, weights=tokens[:, j], minlength=size).reshape(self.shape)
      self._k2[..., j] += np.bincount(
        flat, weights=np.square(tokens[:, j]), minlength=size
      ).reshape(self.shape)
    return len(states)

  # -- summaries -----------------------------------------------------------------------------

  def counts(self) -> np.ndarray:
    """``[S, n_1..n_N]`` scored rollouts per cell (discounted when ``discount < 1``)."""
    return self._n.copy()

  def state_counts(self) -> np.ndarray:
    """``[S]`` scored rollouts per state (discounted)."""
    return self._n.reshape(self.shape[0], -1).sum(-1)

  def beta_parameters(self) -> Tuple[np.ndarray, np.ndarray]:
    """``(alpha, beta)`` of every cell's Beta posterior, ``[S, n_1..n_N]`` each."""
    return self.alpha0 + self._s, self.beta0 + self._n - self._s

  def success_mean(self) -> np.ndarray:
    """``[S, n..]`` posterior mean ``(alpha_0 + S_n) / (alpha_0 + beta_0 + n)``."""
    a, b = self.beta_parameters()
    return a / (a + b)

  def success_std(self) -> np.ndarray:
    """``[S, n..]`` posterior standard deviation ``sqrt(m (1 - m) / (alpha + beta + 1))``."""
    a, b = self.beta_parameters()
    m = a / (a + b)
    return np.sqrt(m * (1 - m) / (a + b + 1))

  def tokens_mean(self) -> np.ndarray:
    """``[S, n.., N]`` ``(k_0 m_0 + sum k) / (k_0 + n)``; the prior mean where ``k_0 + n = 0``."""
    den = self.token_pseudocount + self._n[..., None]
    num = self.token_pseudocount * self.token_prior + self._k
    return np.where(den > 0, num / np.where(den > 0, den, 1), self.token_prior)

  def tokens_std(self) -> np.ndarray:
    """``[S, n.., N]`` standard error of the token means, ``sd / sqrt(k_0 + n)`` (``inf`` for a
    cell with fewer than two observations)."""
    n = self._n[..., None]
    safe = np.where(n > 0, n, 1)
    var = np.maximum(self._k2 / safe - np.square(self._k / safe), 0) * n / np.maximum(n - 1, 1e-12)
    return np.where(n >= 2, np.sqrt(var / (self.token_pseudocount + safe)), np.inf)

  def payoff_tensors(
    self, success: Optional[np.ndarray] = None, tokens: Optional[np.ndarray] = None
  ) -> np.ndarray:
    """``[N, S, n..]`` payoffs ``U_i(s, a)`` (:func:`dice_jax.pc.payoffs`) at the posterior means
    (or at the given success / token tensors)."""
    success = self.success_mean() if success is None else success
    tokens = self.tokens_mean() if tokens is None else tokens
    return payoffs(self.spec, success, tokens)

  def game(
    self, success: Optional[np.ndarray] = None, tokens: Optional[np.ndarray] = None, dtype=None
  ):
    """The posterior-mean game as a :class:`dice_jax.NormalFormGame` with batch axis = state.

    Needs ``N >= 2`` roles (a normal-form game has at least two players).
    """
    from dice_jax.games.normal_form import NormalFormGame  # noqa: PLC0415

    if self.spec.num_roles < 2:
      raise ValueError(f"spec must have at least 2 roles for a game; got {self.spec.num_roles}.")
    return NormalFormGame.from_arrays(list(self.payoff_tensors(success, tokens)), dtype=dtype)

  def payoff_std(self) -> np.ndarray:
    """``[N, S, n..]`` posterior standard deviation of ``U_i`` (success and token errors taken
    independent; a cell with fewer than two observations has only the success term plus the
    token prior's spread taken as zero)."""
    s = self.success_std()
    t = self.tokens_std()
    t = np.where(np.isfinite(t), t, 0.0) * np.asarray(self.spec.token_cost)
    if self.spec.cost_sharing == "team":
      tv = np.sum(np.square(t), -1, keepdims=True) * np.ones(self.spec.num_roles)
    else:
      tv = np.square(t)
    return np.moveaxis(np.sqrt(np.square(s)[..., None] + tv), -1, 0)

  def thompson(self, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """One Thompson draw ``(success [S, n..], tokens [S, n.., N])``: success from every cell's
    Beta posterior (Thompson, Biometrika 1933), tokens at their posterior means."""
    a, b = self.beta_parameters()
    return rng.beta(a, b), self.tokens_mean()

  def thompson_game(self, rng: np.random.Generator, dtype=None):
    """The game of one Thompson draw (see :meth:`thompson`)."""
    return self.game(*self.thompson(rng), dtype=dtype)
