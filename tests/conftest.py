"""Test configuration: float64 on (Gambit comparisons need it), deterministic hypothesis, and
XLA's expensive optimisation passes off.

Hypothesis profiles: ``ci`` (the default: derandomized, 30 examples per property test; the fuzz
suite ``tests/fuzz/`` sets its own per-test budgets in ``tests/fuzz/budget.py`` so that it adds
about a minute) and ``thorough`` (``HYPOTHESIS_PROFILE=thorough``: randomized, 500 examples per
property test, and over 10,000 cases in the fuzz suite).

The suite is dominated by XLA compilation, not by running compiled code: with
``jax_disable_most_optimizations`` the CPU time of tests/test_solvers.py fell from 46 s to 36 s.
Benchmarks (benchmarks/) always run fully optimised; set ``DICE_JAX_TEST_FULL_OPT=1`` to run the
tests with every optimisation on. The setting is exported as an environment variable so that
subprocesses and notebook kernels started by the tests inherit it.
"""

import os

if not os.environ.get("DICE_JAX_TEST_FULL_OPT"):
  os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

# Under pytest-xdist (one worker per core) each worker runs XLA's Eigen kernels and BLAS on
# one thread: with their default pools the two workers kept about 3.2 runnable threads on 2
# cores. (Only `--` flags here: XLA stops reading XLA_FLAGS at a token without `--`, and a
# subprocess that appends its own flag would lose it.)
if os.environ.get("PYTEST_XDIST_WORKER"):
  os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
  ).strip()
  for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(name, "1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
  "ci",
  derandomize=True,
  deadline=None,
  max_examples=30,
  suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
  "thorough", deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
