"""``python -m dice_jax.cli``: the same as the ``dice-jax`` script."""

import sys

from dice_jax.cli import main

sys.exit(main())
