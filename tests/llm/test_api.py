"""The public API of dice_jax.llm: every exported name is documented, and every argument a
docstring's ``Args:`` section names exists in the signature (docstrings must not drift)."""

from __future__ import annotations

import inspect
import re

import pytest

import dice_jax.llm as llm


@pytest.mark.parametrize("name", llm.__all__)
def test_exported_and_documented(name):
  obj = getattr(llm, name)
  if inspect.isclass(obj) or inspect.isfunction(obj):
    assert inspect.getdoc(obj), f"{name} has no docstring"


def _documented_args(doc: str) -> list[str]:
  """The argument names of a Google-style ``Args:`` section, at whatever indentation the
  docstring uses (the first entry's indentation is the entries' level; deeper lines continue)."""
  m = re.search(r"^([ \t]*)Args:\n((?:\1[ \t]+.*\n?|\n)*)", doc, flags=re.M)
  if not m:
    return []
  lines = [line for line in m.group(2).splitlines() if line.strip()]
  if not lines:
    return []
  level = len(lines[0]) - len(lines[0].lstrip())
  names = []
  for line in lines:
    if len(line) - len(line.lstrip()) != level:
      continue
    hit = re.match(r"^[ \t]+([a-z_][a-z0-9_, ]*):", line)
    if hit:
      names += [n.strip() for n in hit.group(1).split(",")]
  return names


@pytest.mark.parametrize("name", [n for n in llm.__all__ if inspect.isfunction(getattr(llm, n))])
def test_documented_arguments_exist(name):
  fn = getattr(llm, name)
  params = set(inspect.signature(fn).parameters)
  for arg in _documented_args(inspect.getdoc(fn) and fn.__doc__ or ""):
    assert arg in params, f"{name}: docstring documents {arg!r}, signature has {sorted(params)}"


def test_documented_argument_parser_sees_args():
  assert _documented_args(llm.generate.__doc__)[:3] == ["model", "ids", "mask"]
