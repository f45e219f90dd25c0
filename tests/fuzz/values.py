"""Hypothesis strategies for malformed input: values of every kind a user might pass by mistake."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

#: Scalars of every kind: None, bool, text, huge and tiny numbers, NaN/inf, complex.
scalars = st.one_of(
  st.none(),
  st.booleans(),
  st.text(max_size=8),
  st.integers(-(2**70), 2**70),
  st.sampled_from([0, -1, 2**31, 2**63, 10**400, -(10**400)]),
  st.floats(allow_nan=True, allow_infinity=True),
  st.sampled_from([1e-300, 1e300, -0.0, 5e-324]),
  st.complex_numbers(max_magnitude=1e3),
)

#: JSON values (what a JSON file can hold): nested lists and objects of JSON scalars.
json_scalars = st.one_of(
  st.none(), st.booleans(), st.text(max_size=6), st.integers(-(2**40), 2**40), st.floats(-1e6, 1e6)
)
json_values = st.recursive(
  json_scalars,
  lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=3)
  ),
  max_leaves=12,
)


@st.composite
def arrays(draw, max_dims: int = 4, max_side: int = 4):
  """NumPy arrays of a random dtype (float, int, bool, complex, object, text) and shape."""
  shape = tuple(draw(st.lists(st.integers(0, max_side), max_size=max_dims)))
  kind = draw(st.sampled_from(["f8", "f4", "i8", "bool", "c16", "object", "U3"]))
  size = int(np.prod(shape, dtype=int))
  values = draw(
    st.lists(
      st.floats(-1e6, 1e6) | st.sampled_from([np.nan, np.inf, -np.inf]),
      min_size=size,
      max_size=size,
    )
  )
  a = np.asarray(values, np.float64).reshape(shape)
  if kind == "object":
    return a.astype(object)
  if kind == "U3":
    return a.astype("U3")
  with np.errstate(all="ignore"):
    return a.astype(kind)


#: Anything: scalars, arrays, ragged or nested lists, tuples, dicts.
junk = st.recursive(
  st.one_of(scalars, arrays()),
  lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.tuples(inner, inner),
    st.dictionaries(st.text(max_size=3), inner, max_size=2),
  ),
  max_leaves=8,
)
