"""Games: normal form, Gambit .nfg I/O, classic examples and random families."""

from dice_jax.games import random
from dice_jax.games.base import Game, Profile
from dice_jax.games.catalogue import (
  EXAMPLES,
  coordination_game,
  matching_pennies,
  prisoners_dilemma,
  rock_paper_scissors,
  shapley_game,
)
from dice_jax.games.nfg import NfgInfo, parse_nfg, read_nfg, to_nfg, write_nfg
from dice_jax.games.normal_form import NormalFormGame

__all__ = [
  "EXAMPLES",
  "Game",
  "NfgInfo",
  "NormalFormGame",
  "Profile",
  "coordination_game",
  "matching_pennies",
  "parse_nfg",
  "prisoners_dilemma",
  "random",
  "read_nfg",
  "rock_paper_scissors",
  "shapley_game",
  "to_nfg",
  "write_nfg",
]
