"""dice_jax.xla_workarounds: the XLA:CPU flag that avoids the while-loop deadlock."""

import pytest

from dice_jax import xla_workarounds as xw
from tests.fresh_process import output_within, run_script


def test_the_flag_goes_in_front_and_a_users_setting_wins():
  assert xw.flags_with_workaround("") == xw.FLAG
  # in front: XLA stops reading XLA_FLAGS at its first token without "--"
  assert xw.flags_with_workaround("intra_op_parallelism_threads=1").startswith(xw.FLAG + " ")
  mine = "--xla_cpu_enable_concurrency_optimized_scheduler=true --xla_dump_to=/tmp/x"
  assert xw.flags_with_workaround(mine) == mine


_BATCH_SCRIPT = """
import os, jax
jax.config.update("jax_enable_x64", True)
import numpy as np, dice_jax as dj
print(os.environ.get("XLA_FLAGS", ""), flush=True)
g = dj.games.random.uniform(jax.random.PRNGKey(0), (10, 10), batch_shape=(900,))
taus = np.repeat(np.logspace(-4, 4, 9), 100)
s = dj.solve(g, taus[:, None], method="continuation", max_steps=5)
print(int(np.asarray(s.steps).max()), flush=True)
"""


@pytest.mark.slow
def test_continuation_over_900_games_finishes():
  # 900 random 10 x 10 games in one continuation call: with XLA's concurrency-optimised
  # scheduler this deadlocked on the 2-core machine (all threads idle; 512 games finished).
  # Fails (times out) with DICE_JAX_KEEP_XLA_FLAGS=1 there.
  out = output_within(_BATCH_SCRIPT, 120, "continuation on 900 games")
  flags, steps = out.split("\n")[:2]
  assert xw.FLAG in flags and steps == "5"


def test_importing_after_jax_started_warns_and_leaves_the_flags():
  script = (
    "import os, warnings, jax, jax.numpy as jnp\n"
    "jnp.zeros(1).block_until_ready()\n"
    "with warnings.catch_warnings(record=True) as w:\n"
    "  warnings.simplefilter('always')\n"
    "  import dice_jax\n"
    "print(os.environ.get('XLA_FLAGS', ''), '|', [str(x.message)[:120] for x in w])\n"
  )
  out = run_script(script, timeout=120, env={"XLA_FLAGS": ""})
  assert out is not None and out.returncode == 0, out and out.stderr[-2000:]
  flags, warned = out.stdout.split("|")
  assert xw.FLAG not in flags and "after JAX created its backends" in warned
