"""The slow tier (marker ``slow``, left out of the default run; ``-m slow`` runs it, CI runs
both): rows of a parametrized table that run only there."""

from __future__ import annotations

import pytest


def rows(values, default, ids=None):
  """``pytest.param`` rows of ``values``; those not in ``default`` carry the ``slow`` marker.

  Args:
    values: the table's parameter values.
    default: the values the default tier runs.
    ids: a function giving each row's id (pytest's own ids when ``None``).
  """
  return [
    pytest.param(
      v, marks=[] if v in default else [pytest.mark.slow], id=None if ids is None else ids(v)
    )
    for v in values
  ]
