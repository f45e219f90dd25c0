"""Build-time generator of the API reference: one page per public package, from its ``__all__``.

Nothing is hand-listed: a name added to a package's ``__all__`` appears in the reference at the
next build, and a public name without a docstring of its own is a build warning (an error under
``scripts/docs.sh``'s ``-W``). Each object is documented once, under the first public package that
exports it (packages are visited in the order of :func:`packages`); every other public spelling of it
(``dice_jax.solve`` for ``dice_jax.solvers.solve``) gets a short alias entry pointing there, so
cross-references written either way resolve.
"""

from __future__ import annotations

import importlib
import inspect
import os
import types

from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging

logger = logging.getLogger(__name__)

# Top-level public packages, in the order of the architecture (games -> ... -> LLM side); any
# other public package (nested ones such as dice_jax.pc.environments, or a new top-level one) is
# found by walking the package and comes after these. The top-level ``dice_jax`` comes last:
# its names are re-exports, documented as aliases.
ORDER = [
  "dice_jax.games",
  "dice_jax.equilibrium",
  "dice_jax.solvers",
  "dice_jax.certify",
  "dice_jax.markov",
  "dice_jax.testing",
  "dice_jax.llm",
  "dice_jax.rollouts",
  "dice_jax.ft",
  "dice_jax.pc",
  "dice_jax.cli",
]


def packages() -> list[str]:
  """Every public package: :data:`ORDER`, then the others by depth and name, then dice_jax."""
  import pkgutil

  found = [
    info.name
    for info in pkgutil.walk_packages(dice_jax_path(), "dice_jax.")
    if info.ispkg and not any(part.startswith("_") for part in info.name.split("."))
  ]
  rest = sorted((p for p in found if p not in ORDER), key=lambda p: (p.count("."), p))
  return [p for p in ORDER if p in found] + rest + ["dice_jax"]


# Modules documented on a page of their own although no ``__all__`` names them (imported by the
# user as modules: ``from dice_jax.testing import strategies``).
EXTRA_MODULES = ["dice_jax.testing.strategies"]

# id(object) -> the full name it is documented under; filled at builder-inited and read by
# docstring_refs to point every spelling of a reference at the one description.
DOCUMENTED: dict[int, str] = {}

INTRO = {
  "dice_jax": "The names most programs need, re-exported at the top level.",
}


def _shadowed(m: str) -> bool:
  """True when the parent package binds the module's name to something else (a function)."""
  attr = getattr(importlib.import_module(m.rsplit(".", 1)[0]), m.rsplit(".", 1)[1], None)
  return attr is not None and not isinstance(attr, types.ModuleType)


def _auto_doc(obj) -> bool:
  """True when ``obj.__doc__`` is the signature line that namedtuple/dataclass write for you."""
  doc = (getattr(obj, "__doc__", None) or "").strip()
  name = getattr(obj, "__name__", "")
  return bool(name) and doc.startswith(name + "(") and doc.endswith(")") and "\n" not in doc


def _has_own_doc(obj) -> bool:
  if inspect.isclass(obj):
    return "__doc__" in obj.__dict__ and bool((obj.__doc__ or "").strip()) and not _auto_doc(obj)
  return bool((getattr(obj, "__doc__", None) or "").strip())


def _attr_doc(module_name: str, name: str) -> list[str] | None:
  """The ``#:`` comment (or the string after it) that documents a module-level constant."""
  try:
    analyzer = ModuleAnalyzer.for_module(module_name)
    analyzer.analyze()
  except Exception:  # noqa: BLE001 - a module without source has no attribute docs
    return None
  doc = analyzer.attr_docs.get(("", name))
  return [ln for ln in doc] if doc else None


def _data_doc(pkg_name: str, name: str, obj) -> list[str] | None:
  """Find the documentation of constant ``name`` where it is defined (the package itself or
  any of its modules that binds the same object under that name)."""
  import sys

  candidates = [pkg_name] + sorted(m for m in list(sys.modules) if m.startswith(pkg_name + "."))
  for modname in candidates:
    mod = sys.modules.get(modname)
    if mod is not None and name in vars(mod) and vars(mod)[name] is obj:
      doc = _attr_doc(modname, name)
      if doc:
        return doc
  return None


def _kind(obj) -> str:
  if isinstance(obj, types.ModuleType):
    return "module"
  if not str(getattr(obj, "__module__", "dice_jax")).startswith("dice_jax"):
    return "data"  # a third-party object bound to a public name (dice_jax.llm.ADAPTER)
  if inspect.isclass(obj):
    return "exception" if issubclass(obj, BaseException) else "class"
  if callable(obj):
    return "function"
  return "data"


def _defining_module(obj, fallback: str) -> str:
  mod = getattr(obj, "__module__", None)
  return mod if isinstance(mod, str) and mod.startswith("dice_jax") else fallback


def public_modules() -> list[str]:
  """Every importable module of the package whose dotted name has no ``_``-prefixed part."""
  import pkgutil

  out = []
  for info in pkgutil.walk_packages(dice_jax_path(), "dice_jax."):
    if info.ispkg or any(part.startswith("_") for part in info.name.split(".")):
      continue
    out.append(info.name)
  return sorted(set(out) | set(EXTRA_MODULES))


def dice_jax_path():
  import dice_jax

  return dice_jax.__path__


def _module_page(modname: str, documented: dict, shadowed: set) -> str:
  """A module's docstring and the documented names it defines that no package page holds."""
  mod = importlib.import_module(modname)
  own = [
    n
    for n, o in vars(mod).items()
    if not n.startswith("_")
    and _kind(o) in ("class", "function", "exception")
    and getattr(o, "__module__", None) == modname
  ]
  elsewhere = [n for n in own if id(getattr(mod, n)) in documented]
  lines = [
    modname,
    "=" * len(modname),
    "",
    f".. automodule:: {modname}",
    "   :members:",
    "   :ignore-module-all:",
    "   :member-order: bysource",
    "   :show-inheritance:",
  ]
  if modname in shadowed:
    # the package exports a function of the module's own name (dice_jax.dice.mirror_target):
    # that name is the function's, so the module is described here without an index entry
    lines.append("   :no-index:")
  if elsewhere:
    lines.append("   :exclude-members: " + ", ".join(elsewhere))
  lines.append("")
  if elsewhere:
    lines += [
      "Documented on the package page: "
      + ", ".join(
        f":{_role(getattr(mod, n))}:`~{documented[id(getattr(mod, n))]}`" for n in elsewhere
      )
      + ".",
      "",
    ]
  return "\n".join(lines) + "\n"


def _role(obj) -> str:
  return {"class": "class", "exception": "exc", "function": "func"}.get(_kind(obj), "data")


def generate(app) -> None:
  out = os.path.join(app.srcdir, "api")
  os.makedirs(out, exist_ok=True)
  documented = DOCUMENTED  # id(object) -> full name where it is documented
  documented.clear()
  pages: list[str] = []
  module_pages: dict[str, str] = {}  # module name -> page name

  def page_name(modname: str) -> str:
    return modname.replace(".", "_") if modname != "dice_jax" else "dice_jax"

  all_packages = packages()
  for pkg_name in all_packages:
    pkg = importlib.import_module(pkg_name)
    names = list(getattr(pkg, "__all__", []))
    body: list[str] = []
    summary: list[str] = []
    for name in names:
      obj = getattr(pkg, name)
      full = f"{pkg_name}.{name}"
      kind = _kind(obj)
      if kind == "module":
        if obj.__name__ not in module_pages and obj.__name__ not in all_packages:
          module_pages[obj.__name__] = page_name(obj.__name__)
        target = obj.__name__
        summary.append(f"   * - :mod:`{name} <{target}>`\n     - module")
        continue
      key = id(obj) if kind != "data" or not isinstance(obj, (int, float, str)) else None
      if key is not None and key in documented:
        target = documented[key]
        role = {"class": "class", "exception": "exc", "function": "func"}.get(kind, "data")
        directive = {"class": "class", "exception": "exception", "function": "function"}.get(
          kind, "data"
        )
        body += [
          f".. py:{directive}:: {name}",
          f"   :module: {pkg_name}",
          "",
          f"   Alias of :{role}:`{target}`.",
          "",
        ]
        summary.append(f"   * - :{role}:`{name} <{target}>`\n     - alias")
        continue
      data_doc = _data_doc(pkg_name, name, obj) if kind == "data" else None
      if data_doc:
        app.emit("autodoc-process-docstring", "data", full, obj, {}, data_doc)
      if kind == "data":
        if not data_doc:
          logger.warning(
            "public name %s has no documentation (add a '#:' comment where it is defined)",
            full,
            type="dice_jax",
            subtype="docstring",
          )
      elif not _has_own_doc(obj):
        logger.warning(
          "public name %s has no docstring", full, type="dice_jax", subtype="docstring"
        )
      if key is not None:
        documented[key] = full
      role = {"class": "class", "exception": "exc", "function": "func"}.get(kind, "data")
      first = (inspect.getdoc(obj) if kind != "data" else "\n".join(data_doc or [])) or ""
      first_lines = first.strip().split("\n\n")[0].splitlines()
      # the same processing autodoc gives the full docstring (short references qualified)
      app.emit("autodoc-process-docstring", kind, full, obj, {}, first_lines)
      first = " ".join(first_lines)
      summary.append(f"   * - :{role}:`{name} <{full}>`\n     - {_inline(first)}")
      if kind in ("class", "exception"):
        body += [f".. autoclass:: {full}", "   :members:", "   :show-inheritance:", ""]
      elif kind == "function":
        body += [f".. autofunction:: {full}", ""]
      else:
        body += [f".. py:data:: {name}", f"   :module: {pkg_name}", ""]
        body += ["   " + ln if ln.strip() else "" for ln in (data_doc or [])] + [""]
    title = pkg_name
    head = [title, "=" * len(title), "", f".. automodule:: {pkg_name}", "   :no-members:"]
    if pkg_name != "dice_jax" and _shadowed(pkg_name):
      head.append("   :no-index:")  # dice_jax.pc.report is the function; the package is described
    head.append("")
    if pkg_name in INTRO:
      head += [INTRO[pkg_name], ""]
    if summary:
      head += [".. list-table::", "   :header-rows: 0", "   :widths: 30 70", ""] + summary + [""]
    text = "\n".join(head + body) + "\n"
    pages.append(page_name(pkg_name))
    _write(os.path.join(out, page_name(pkg_name) + ".rst"), text)

  shadowed = {m for m in public_modules() if _shadowed(m)}
  for modname in public_modules():
    module_pages.setdefault(modname, page_name(modname))
  for modname, page in sorted(module_pages.items()):
    _write(os.path.join(out, page + ".rst"), _module_page(modname, documented, shadowed))
  index = [
    "API reference",
    "=============",
    "",
    "Generated from the docstrings at every build: one page per public package, listing "
    "every name in its ``__all__``.",
    "",
    ".. toctree::",
    "   :maxdepth: 1",
    "",
  ]
  index += [f"   {p}" for p in ["dice_jax"] + [p for p in pages if p != "dice_jax"]]
  index += [
    "",
    "Modules",
    "-------",
    "",
    "Every public module (no leading underscore): its docstring, and the documented names "
    "it defines that no package above re-exports.",
    "",
    ".. toctree::",
    "   :maxdepth: 1",
    "",
  ]
  index += [f"   {p}" for p in sorted(module_pages.values())]
  _write(os.path.join(out, "index.rst"), "\n".join(index) + "\n")
  # pages of modules that no longer exist go (the folder is generated, never edited)
  keep = {"index.rst"} | {p + ".rst" for p in pages} | {p + ".rst" for p in module_pages.values()}
  for f in os.listdir(out):
    if f.endswith(".rst") and f not in keep:
      os.remove(os.path.join(out, f))


def _inline(text: str) -> str:
  """A docstring's first paragraph as one table cell (no block markup)."""
  return text.replace("|", "\\|") if text else ""


def _write(path: str, text: str) -> None:
  """Write only when changed, so incremental builds stay incremental."""
  if os.path.exists(path):
    with open(path, encoding="utf-8") as f:
      if f.read() == text:
        return
  with open(path, "w", encoding="utf-8") as f:
    f.write(text)


def setup(app):
  app.connect("builder-inited", generate)
  return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
