"""Why a certificate is or is not certified: integer codes (jit-safe) and their messages."""

from __future__ import annotations

import numpy as np


class REASON:
  """Codes stored in :attr:`Certificate.reason_code` (``int32``, one per game).

  * ``CERTIFIED``: ``mu > 0`` or ``mu_W > 0`` from a rigorous upper bound on alpha.
  * ``NONFINITE``: the profile, its utilities or the bounds are not finite.
  * ``NO_RIGOROUS_BOUND``: the game offers no rigorous upper bound on alpha (not multilinear);
    only the sampled lower bound is known.
  * ``REFUTED``: the sampled lower bounds show ``alpha >= min tau`` *and* ``alpha_W >= 1``: the
    projected symmetric Jacobian has an eigenvalue at or above the margin at the evidence
    profile, so no monotonicity certificate can exist for this game and temperature.
  * ``MARGIN_NOT_POSITIVE``: the rigorous bound gives ``mu <= 0`` and ``mu_W <= 0`` but the
    samples do not refute monotonicity: inconclusive.
  * ``CONTRACTION_NOT_BELOW_ONE`` (Markov and observation games): the contraction bound ``q'``
    of :mod:`dice_jax.certify.markov` is ``>= 1``: inconclusive.
  * ``NOT_SUPPORTED``: no rigorous argument is implemented for this kind of game (e.g. an
    observation game whose observations alias states); the message says why.
  """

  CERTIFIED = 0
  NONFINITE = 1
  NO_RIGOROUS_BOUND = 2
  REFUTED = 3
  MARGIN_NOT_POSITIVE = 4
  CONTRACTION_NOT_BELOW_ONE = 5
  NOT_SUPPORTED = 6

  NAMES = {
    0: "certified",
    1: "nonfinite",
    2: "no_rigorous_bound",
    3: "refuted",
    4: "margin_not_positive",
    5: "contraction_not_below_one",
    6: "not_supported",
  }

  @classmethod
  def names(cls, codes) -> np.ndarray:
    codes = np.asarray(codes)
    return np.vectorize(lambda c: cls.NAMES[int(c)], otypes=[object])(codes)


class ReasonReport:
  """What every certificate record shares: names for its ``reason_code`` field and the checks
  behind ``to_dict`` (one unbatched certificate; non-finite figures become ``None``)."""

  def reason_names(self) -> np.ndarray:
    """The name of each game's :class:`REASON` code."""
    return REASON.names(self.reason_code)

  def check_single(self) -> None:
    """Raise unless this is one unbatched certificate (``to_dict`` needs one)."""
    if np.ndim(self.certified):
      raise ValueError("to_dict needs a single certificate; index the batch first.")


def finite_or_none(x) -> float | None:
  """``float(x)``, or ``None`` where it is not finite (JSON has no inf or NaN)."""
  x = float(x)
  return x if np.isfinite(x) else None


def message(
  code: int,
  *,
  min_temperature: float,
  alpha_upper: float,
  alpha_lower: float,
  weighted_alpha_upper: float,
  weighted_alpha_lower: float,
  evidence,
) -> str | None:
  """The human-readable reason for one game (``None`` when certified)."""
  code = int(code)
  ev = (
    "[" + ", ".join("[" + ", ".join(f"{p:.6g}" for p in np.ravel(x)) + "]" for x in evidence) + "]"
  )
  if code == REASON.CERTIFIED:
    return None
  if code == REASON.NONFINITE:
    return "nonfinite: the profile, its utilities or the monotonicity bounds are not finite"
  if code == REASON.NO_RIGOROUS_BOUND:
    return (
      "no_rigorous_bound: the game is not multilinear, so alpha has no rigorous upper "
      f"bound; the sampled lower bound is alpha_lower = {alpha_lower:.6g} "
      f"(min tau = {min_temperature:.6g}) at profile {ev}"
    )
  if code == REASON.REFUTED:
    return (
      f"refuted: monotonicity margin check failed: the projected symmetric Jacobian has "
      f"eigenvalue alpha_lower = {alpha_lower:.6g} >= min tau = {min_temperature:.6g} at "
      f"profile {ev} (weighted: alpha_W_lower = {weighted_alpha_lower:.6g} >= 1), so "
      "mu <= 0 and mu_W <= 0; several HQRE may exist"
    )
  return (
    f"margin_not_positive: monotonicity margin check failed: mu = min tau - alpha_upper = "
    f"{min_temperature:.6g} - {alpha_upper:.6g} <= 0 and mu_W = 1 - "
    f"{weighted_alpha_upper:.6g} <= 0; the sampled lower bound alpha_lower = "
    f"{alpha_lower:.6g} does not refute monotonicity (inconclusive)"
  )
