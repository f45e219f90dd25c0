"""Read plain-text docstrings as their authors meant them.

The docstrings are Google style with mathematics in plain text (``||x - y||_2``, ``|s, a)``) and
cross-references written relative to the module that defines the object (``:func:`best_step```).
Rendered on a package page, such a short reference would be looked up in the package, and a
``|`` would start an RST substitution. Before autodoc parses a docstring this hook

* qualifies each short cross-reference by what the name means in the defining module (the real
  location of the object it names), keeping the text the author wrote;
* escapes ``|`` outside inline literals (docstrings here never use substitutions or line blocks);
* shows a block indented at least 4 columns past the paragraph before it (after a blank line)
  as a literal block: that is how these docstrings write formulas and command lines, and as
  RST block quotes their ``*``, ``_`` and deeper indentation would be parsed as markup;
* drops the docstring a constant inherits from its type (``dict``'s, for a dict constant).

A reference whose name the defining module does not know is left as written, so a genuinely
broken reference still fails the build.
"""

from __future__ import annotations

import importlib
import re
import sys
import types

import api_pages

ROLE = re.compile(r":(func|class|meth|data|attr|mod|exc|obj|const):`(~?)([^`<>]+?)(\s*<[^`>]+>)?`")


def _defining_module(name: str, obj) -> str | None:
  if isinstance(obj, types.ModuleType):
    return obj.__name__
  target = getattr(obj, "fget", obj)
  mod = getattr(target, "__module__", None)
  if isinstance(mod, str) and mod in sys.modules:
    return mod
  parts = name.split(".")
  for k in range(len(parts), 0, -1):
    if ".".join(parts[:k]) in sys.modules:
      return ".".join(parts[:k])
  return None


def documented_name(obj, tail: str = "") -> str | None:
  """The name ``obj`` is documented under (its package page), if it is a public name."""
  name = api_pages.DOCUMENTED.get(id(obj))
  return name + tail if name else None


def _real_name(obj, tail: str) -> str | None:
  mod, qual = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
  if (
    isinstance(mod, str)
    and mod.startswith("dice_jax")
    and isinstance(qual, str)
    and "<" not in qual
  ):
    return documented_name(obj, tail) or f"{mod}.{qual}{tail}"
  return None


def _qualify(target: str, module: str, owner: str | None) -> str | None:
  """The full dotted name ``target`` means inside ``module`` (or the class ``owner``)."""
  if target.startswith("dice_jax") or target.startswith("."):
    return None
  first, _, rest = target.partition(".")
  ns = vars(sys.modules[module]) if module else {}
  if owner and first not in ns:
    cls = ns.get(owner.split(".")[0])
    if cls is not None and hasattr(cls, first):
      return _real_name(cls, "." + target)
  if first not in ns:
    # a public name of another module, written short (``HQREProblem.lipschitz``): accept it
    # when exactly one documented public name ends with it
    hits = {v for v in api_pages.DOCUMENTED.values() if v.rsplit(".", 1)[-1] == first}
    return f"{hits.pop()}{'.' + rest if rest else ''}" if len(hits) == 1 else None
  obj = ns[first]
  tail = "." + rest if rest else ""
  if isinstance(obj, types.ModuleType):
    return obj.__name__ + tail if obj.__name__.startswith("dice_jax") else None
  real = _real_name(obj, tail)
  if real:
    return real
  return f"{module}.{target}" if module and module.startswith("dice_jax") else None


def _lookup(dotted: str):
  """Import the longest module prefix of ``dotted`` and walk the rest by attributes."""
  parts = dotted.split(".")
  for k in range(len(parts), 0, -1):
    try:
      obj = importlib.import_module(".".join(parts[:k]))
    except ImportError:
      continue
    owner = None
    rest = parts[k:]
    for j, p in enumerate(rest):
      owner, obj = obj, getattr(obj, p, _MISSING)
      if obj is _MISSING:
        # a dataclass field or annotation-only attribute is no class attribute: the container
        # is still known when the missing name is the last one
        ok = j == len(rest) - 1 and p in getattr(owner, "__annotations__", {})
        return (_MISSING, owner, p) if ok else (None, None, None)
    if obj is None or isinstance(obj, (int, float, str, tuple)):
      return _MISSING, owner, parts[-1]  # a field default or constant: no object of its own
    return obj, owner, parts[-1]
  return None, None, None


_MISSING = object()


def missing_reference(app, env, node, contnode):
  """Resolve ``dice_jax.a.b.name`` written at the defining module to the documented name."""
  if node.get("refdomain") != "py":
    return None
  target = node.get("reftarget", "")
  if not target.startswith("dice_jax."):
    return None
  if any(part.startswith("_") for part in target.split(".")):
    return contnode  # a private module or name: not documented, shown as text
  obj, owner, last = _lookup(target)
  if obj is None:
    return None
  new = None if obj is _MISSING else documented_name(obj)
  if new is None and owner is not None and not isinstance(owner, types.ModuleType):
    new = documented_name(owner, "." + last)
  if new is None and isinstance(obj, types.ModuleType):
    return None
  if new is None and obj is not _MISSING:
    new = _real_name(obj, "")
  domain = env.get_domain("py")
  if new and new != target:
    node["reftarget"] = new
    found = domain.resolve_xref(
      env, node.get("refdoc"), app.builder, node.get("reftype"), new, node, contnode
    )
    if found is not None:
      return found
  # A real object without a description of its own (a class attribute, an enumeration member,
  # an undocumented constant): link to the nearest documented container, keeping the text.
  if owner is None:
    return None
  if isinstance(owner, types.ModuleType):
    container, reftype = owner.__name__, "mod"
  else:
    container, reftype = documented_name(owner) or _real_name(owner, ""), "class"
  if not container:
    return None
  return domain.resolve_xref(
    env, node.get("refdoc"), app.builder, reftype, container, node, contnode
  )


def skip_fields(app, what, name, obj, skip, options):
  """Fields of a NamedTuple or dataclass are described by the class's "Attributes:" section
  (napoleon); describing them again as members would describe each attribute twice."""
  if what == "class" and type(obj).__name__ == "_tuplegetter":  # a NamedTuple field
    return True
  return None


def process_bases(app, name, obj, options, bases) -> None:
  """Show a public ancestor instead of a private base class (``_PosteriorPolicy``)."""
  for k, base in enumerate(list(bases)):
    while getattr(base, "__name__", "").startswith("_") and base.__bases__:
      base = base.__bases__[0]
    bases[k] = base


def _escape_pipes(line: str) -> str:
  parts = line.split("``")
  for k in range(0, len(parts), 2):
    parts[k] = re.sub(r"(?<!\\)\|", r"\\|", parts[k])
  return "``".join(parts)


_ORIGINAL: dict[int, list[str]] = {}


def keep_original(app, what, name, obj, options, lines) -> None:
  """Before napoleon: remember a constant's doc comment. Napoleon reads ``#: Most players: ...``
  as ``type: description`` (an attribute's inline type) and would turn "Most players" into a
  type cross-reference; a module constant's comment is prose, restored in :func:`process`."""
  if what in ("data", "attribute"):
    _ORIGINAL[id(lines)] = list(lines)


def process(app, what, name, obj, options, lines) -> None:
  original = _ORIGINAL.pop(id(lines), None)
  if original is not None and what == "data":
    lines[:] = original
  if what in ("data", "attribute") and lines and not isinstance(obj, (types.FunctionType, type)):
    doc = type(obj).__doc__
    inherited = doc.strip().splitlines() if isinstance(doc, str) else []
    if inherited and [ln.strip() for ln in lines if ln.strip()] == [
      ln.strip() for ln in inherited if ln.strip()
    ]:
      lines[:] = []
      return
  module = _defining_module(name, obj)
  if module is None or not module.startswith("dice_jax"):
    return
  qual = getattr(getattr(obj, "fget", obj), "__qualname__", "") or ""
  owner = qual.rsplit(".", 1)[0] if "." in qual else (qual if isinstance(obj, type) else None)
  qualify_lines(lines, module, owner)


BULLET = re.compile(r"^(\s*)([*+-]|\d+[.)]|#\.)\s+")


def _text_indent(line: str) -> int:
  """Column where a line's text starts (after a bullet or enumerator)."""
  m = BULLET.match(line)
  return m.end() if m else len(line) - len(line.lstrip())


def literal_blocks(lines) -> None:
  """Mark indented formula/command blocks as literal blocks (in place): see the module doc."""
  out = []
  prev = None  # last non-blank line before the current run of blank lines
  blank = False
  in_literal_indent = None
  for line in lines:
    if not line.strip():
      blank = True
      out.append(line)
      continue
    indent = len(line) - len(line.lstrip())
    if in_literal_indent is not None and indent >= in_literal_indent:
      out.append(line)
      prev, blank = line, False
      continue
    in_literal_indent = None
    if blank and prev is not None:
      base = _text_indent(prev)
      stripped = prev.strip()
      starts_directive = stripped.startswith("..") or stripped.endswith("::")
      if indent >= base + 4 and not starts_directive and not stripped.startswith(">>>"):
        # the expanded form: a paragraph that is only "::" vanishes, the block stays literal
        k = len(out)
        while k > 0 and not out[k - 1].strip():
          k -= 1
        out.insert(k, "")
        out.insert(k + 1, " " * base + "::")
        in_literal_indent = indent
      elif stripped.endswith("::"):
        in_literal_indent = indent if indent > base else None
    out.append(line)
    prev, blank = line, False
  lines[:] = out


def qualify_lines(
  lines, module: str | None = None, owner: str | None = None, *, unknown_as_literal: bool = False
) -> None:
  """Qualify short references and escape pipes in ``lines`` (in place), as for a docstring of
  ``module`` (``None``: text outside the package, such as a benchmark's docstring, where a short
  name the package does not define is a helper of that script: ``unknown_as_literal`` shows it
  as code)."""

  def fix(m: re.Match) -> str:
    role, tilde, text, explicit = m.groups()
    if explicit:
      return m.group(0)
    full = _qualify(text.strip(), module, owner)
    if full is None and unknown_as_literal and "." not in text:
      return f"``{text.strip()}``"
    if full is None or full == text:
      return m.group(0)
    shown = text.rsplit(".", 1)[-1] if tilde else text
    return f":{role}:`{shown} <{full}>`"

  literal_blocks(lines)
  literal = None
  for k, line in enumerate(lines):
    indent = len(line) - len(line.lstrip())
    if literal is not None and line.strip() and indent < literal:
      literal = None
    if literal is None and line.strip().endswith("::"):
      literal = _text_indent(line) + 1
      lines[k] = _escape_pipes(ROLE.sub(fix, line))
      continue
    if literal is None or not line.strip():
      lines[k] = _escape_pipes(ROLE.sub(fix, line))


def setup(app):
  app.connect("autodoc-process-docstring", keep_original, priority=100)
  app.connect("autodoc-process-docstring", process)
  app.connect("missing-reference", missing_reference)
  app.connect("autodoc-process-bases", process_bases)
  app.connect("autodoc-skip-member", skip_fields)
  return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
