"""The DICE-FT loop: sample, score, advantages, mirror target, fit, log, save."""

from dice_jax.ft.harness.loop import DiceFT, FTAgent

__all__ = ["DiceFT", "FTAgent"]
