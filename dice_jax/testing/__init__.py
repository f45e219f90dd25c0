"""Helpers for users' tests: independent references (Gambit) and assertions."""
from dice_jax.testing.gambit import gambit_logit_qre, gambit_logit_qre_path, to_gambit

__all__ = ["gambit_logit_qre", "gambit_logit_qre_path", "to_gambit"]
