"""Gambit ``.nfg`` strategic-form files: read as Gambit reads them, and write.

* :mod:`~dice_jax.games.nfg.lexer`: Gambit's tokens and its readings of a number;
* :mod:`~dice_jax.games.nfg.labels`: Gambit's renaming of empty and repeated labels;
* :mod:`~dice_jax.games.nfg.reader`: the grammar (both versions), resource limits, errors;
* :mod:`~dice_jax.games.nfg.writer`: both versions, read back by pygambit to the same game.
"""

from dice_jax.games.nfg.reader import (
  MAX_FILE_BYTES,
  MAX_PAYOFF_ENTRIES,
  MAX_PLAYERS,
  NfgInfo,
  parse_nfg,
  read_nfg,
)
from dice_jax.games.nfg.writer import to_nfg, write_nfg

__all__ = [
  "MAX_FILE_BYTES",
  "MAX_PAYOFF_ENTRIES",
  "MAX_PLAYERS",
  "NfgInfo",
  "parse_nfg",
  "read_nfg",
  "to_nfg",
  "write_nfg",
]
