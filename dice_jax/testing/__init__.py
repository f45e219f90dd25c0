"""Helpers for users' tests: independent references (Gambit) and assertions."""

from dice_jax.testing.gambit import (
  gambit_logit_qre,
  gambit_logit_qre_path,
  gambit_payoffs,
  to_gambit,
)

__all__ = ["gambit_logit_qre", "gambit_logit_qre_path", "gambit_payoffs", "to_gambit"]
from dice_jax.testing.assertions import (
  assert_certificate_sound,
  assert_is_hqre,  # noqa: E402
  assert_not_certified,
  distance,
)

__all__ += ["assert_certificate_sound", "assert_is_hqre", "assert_not_certified", "distance"]
from dice_jax.testing.models import smollm2_path_or_skip  # noqa: E402

__all__ += ["smollm2_path_or_skip"]
# Hypothesis strategies: ``from dice_jax.testing import strategies`` (needs hypothesis).
