"""Dispatch of :func:`dice_jax.certify.certify` to the game families that carry their own
temperatures: Markov (:mod:`dice_jax.certify.markov`), observation
(:mod:`dice_jax.certify.observation`) and Bayesian (:mod:`dice_jax.certify.bayesian`) games."""

from __future__ import annotations

from typing import Optional

from dice_jax.markov.bayesian import BayesianGame
from dice_jax.markov.game import MarkovGame
from dice_jax.markov.observation import ObservationGame


def family(game) -> Optional[str]:
  """``"markov"``, ``"observation"``, ``"bayesian"`` or ``None`` (a normal-form/other game)."""
  if isinstance(game, MarkovGame):
    return "markov"
  if isinstance(game, ObservationGame):
    return "observation"
  if isinstance(game, BayesianGame):
    return "bayesian"
  return None


def certify_family(
  game,
  solution,
  *,
  reference,
  step_size,
  tol,
  init,
  num_samples,
  key,
  steps_per_check,
  fast,
  convention,
):
  """Route :func:`dice_jax.certify.certify` to the family's certificate; options that the family
  does not take raise ``ValueError`` naming them."""
  from dice_jax.certify.bayesian import certify_bayesian  # noqa: PLC0415
  from dice_jax.certify.markov import certify_markov  # noqa: PLC0415
  from dice_jax.certify.observation import certify_observation  # noqa: PLC0415

  kind = family(game)
  if reference is not None:
    raise ValueError(f"reference: a {type(game).__name__} carries its own reference policies.")
  if kind == "bayesian":
    if convention is not None:
      raise ValueError("convention applies to Markov and observation games only.")
    return certify_bayesian(
      game,
      solution,
      step_size=step_size,
      tol=tol,
      init=init,
      num_samples=num_samples,
      key=key,
      steps_per_check=steps_per_check,
      fast=fast,
    )
  for name, value in (("step_size", step_size), ("init", init)):
    if value is not None:
      raise ValueError(
        f"{name}: the Markov certificate's rate is for soft policy iteration "
        f"from the reference policy; it takes no {name}."
      )
  fn = certify_markov if kind == "markov" else certify_observation
  return fn(game, solution, convention=convention, tol=tol, steps_per_check=steps_per_check)
