"""``.. module-docstring:: dotted.module``: a module's docstring, parsed in place.

The mathematics pages show the theorems and proofs that live in module docstrings. ``automodule``
would describe the module a second time (it has its own API page), so this directive inserts the
docstring's text only, after the same processing autodoc applies (``autodoc-process-docstring``:
the reference qualification and escaping of :mod:`docstring_refs`).
"""

from __future__ import annotations

import importlib
import inspect

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


class ModuleDocstring(SphinxDirective):
  required_arguments = 1
  has_content = False

  def run(self):
    name = self.arguments[0]
    module = importlib.import_module(name)
    lines = (inspect.getdoc(module) or "").splitlines()
    if not lines:
      raise self.error(f"module {name} has no docstring")
    self.env.app.emit("autodoc-process-docstring", "module", name, module, {}, lines)
    self.env.note_dependency(module.__file__)
    container = nodes.container(classes=["module-docstring"])
    source = f"{module.__file__}:docstring of {name}"
    self.state.nested_parse(StringList(lines, source=source), self.content_offset, container)
    link = f"*Source:* :mod:`{name}`"
    para = StringList([link], source=source)
    self.state.nested_parse(para, self.content_offset, container)
    return [container]


def setup(app):
  app.setup_extension("sphinx.ext.autodoc")
  app.add_directive("module-docstring", ModuleDocstring)
  return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
