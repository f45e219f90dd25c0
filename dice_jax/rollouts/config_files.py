"""Reading configuration files for both DICE tools: one YAML/JSON reader, typed field readers.

:func:`read_config_file` reads a ``.json`` file as JSON and anything else as YAML (PyYAML's safe
loader with YAML 1.2 scalars: only ``true``/``false`` are booleans, ``1e-4`` is a float), and
refuses, with a :class:`ConfigError` naming the file and line, what would otherwise be silently
accepted or escape as an internal error: a file that is not UTF-8, larger than
:data:`MAX_BYTES`, nested deeper than :data:`MAX_DEPTH`, or a mapping with a duplicate key (YAML
and JSON both keep the last one silently).

The typed readers (:func:`mapping`, :func:`number`, :func:`integer`, :func:`text`,
:func:`boolean`, :func:`listing`) each check one field and raise :class:`ConfigError` whose
message starts with the field's path (``budget.rounds: must be an integer <= 10,000,000``); the
DICE-PC and DICE-FT config readers map a file onto their settings types with them.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from dice_jax.rollouts import fields

__all__ = [
  "ConfigError",
  "MAX_BYTES",
  "MAX_DEPTH",
  "MAX_INTEGER",
  "boolean",
  "build",
  "existing_path",
  "field_error",
  "integer",
  "join",
  "listing",
  "mapping",
  "number",
  "read_config_file",
  "show",
  "text",
]

MAX_INTEGER = 2**31 - 1  # any integer field (seeds, counts, sizes)
MAX_DEPTH = 32  # nesting of mappings and lists
MAX_BYTES = 10_000_000  # size of a config file


class ConfigError(ValueError):
  """A bad configuration. ``field`` is the path of the offending field (``"roles.solver"``)."""

  def __init__(self, field: str, message: str):
    self.field, self.message = field, message
    super().__init__(f"{field}: {message}" if field else message)


# --- typed readers: each checks one field and names its path ------------------------------------


def mapping(value, path: str, allowed: Optional[Sequence[str]] = None) -> Dict[str, Any]:
  if not isinstance(value, Mapping):
    raise ConfigError(path, f"must be a mapping; got {show(value)}.")
  out = {}
  for k, v in value.items():
    if not isinstance(k, str):
      raise ConfigError(path, f"keys must be text; got {k!r}.")
    out[k] = v
  if allowed is not None:
    for k in out:
      if k not in allowed:
        raise ConfigError(join(path, k), f"unknown key; known keys: {', '.join(allowed)}.")
  return out


def join(path: str, key) -> str:
  if isinstance(key, int):
    return f"{path}[{key}]"
  return f"{path}.{key}" if path else str(key)


def show(v) -> str:
  text = repr(v)
  return text if len(text) <= 80 else text[:77] + "..."


def _field(check, path: str, *args, **kwargs):
  """Run a :mod:`dice_jax.rollouts.fields` check on a file's field; its message, minus the name,
  after the path."""
  try:
    return check(path or "value", *args, **kwargs)
  except ValueError as e:
    raise ConfigError(path, str(e)[len(path or "value") :].strip()) from None


def number(
  value,
  path: str,
  *,
  low: Optional[float] = None,
  low_open: bool = False,
  high: Optional[float] = None,
  high_open: bool = False,
) -> float:
  return _field(
    fields.real, path, value, low=low, low_open=low_open, high=high, high_open=high_open
  )


def integer(value, path: str, *, low: int = 0, high: int = MAX_INTEGER) -> int:
  return _field(fields.integer, path, value, low=low, high=high)


def text(value, path: str, choices: Optional[Sequence[str]] = None) -> str:
  if not isinstance(value, str) or not value.strip():
    raise ConfigError(path, f"must be non-empty text; got {show(value)}.")
  if choices is not None and value not in choices:
    raise ConfigError(path, f"unknown value {value!r}; choose one of {', '.join(choices)}.")
  return value


def existing_path(
  value, path: str, base_dir: str, missing: str = "no such file or directory"
) -> str:
  """``value`` (text) as a path relative to ``base_dir`` (``~`` expanded) that exists."""
  full = os.path.join(base_dir, os.path.expanduser(text(value, path)))
  if not os.path.exists(full):
    raise ConfigError(path, f"{missing}: {full}.")
  return full


def boolean(value, path: str) -> bool:
  return _field(fields.flag, path, value)


def listing(value, path: str) -> list:
  if not isinstance(value, (list, tuple)):
    raise ConfigError(path, f"must be a list; got {show(value)}.")
  return list(value)


# --- files --------------------------------------------------------------------------------------


def _bracket_depth(text: str) -> int:
  """The deepest nesting of ``[``/``{`` outside quoted strings (a cheap bound checked before
  parsing, so that a deeply nested flow collection never reaches the recursive parsers)."""
  depth = best = 0
  quote = None
  escaped = False
  for ch in text:
    if quote:
      if escaped:
        escaped = False
      elif ch == "\\" and quote == '"':
        escaped = True
      elif ch == quote:
        quote = None
    elif ch in "\"'":
      quote = ch
    elif ch in "[{":
      depth += 1
      best = max(best, depth)
    elif ch in "]}":
      depth = max(depth - 1, 0)
  return best


def _data_depth(data) -> int:
  """Nesting depth of parsed mappings and lists (iterative: no recursion limit)."""
  best, stack = 0, [(data, 1)]
  while stack:
    x, d = stack.pop()
    if isinstance(x, dict):
      best = max(best, d)
      stack.extend((v, d + 1) for v in x.values())
    elif isinstance(x, list):
      best = max(best, d)
      stack.extend((v, d + 1) for v in x)
  return best


def _yaml_loader():
  """PyYAML's ``SafeLoader`` with YAML 1.2 scalars (only ``true``/``false`` are booleans: YAML
  1.1 also reads ``on``/``off``/``yes``/``no``, and the oscillation suite has parameters named
  ``on`` and ``off``; ``1e-4`` is a float: YAML 1.1 needs ``1.0e-4``), refusing duplicate keys."""
  import yaml  # noqa: PLC0415

  class Loader(yaml.SafeLoader):
    pass

  drop = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:float")
  Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag not in drop]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
  }
  Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
  )
  Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
      r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                  |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                  |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
                  |[-+]?\.(?:inf|Inf|INF)
                  |\.(?:nan|NaN|NAN))$""",
      re.X,
    ),
    list("-+0123456789."),
  )

  def construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    seen: Dict[Any, Any] = {}
    for key_node, _ in node.value:
      key = loader.construct_object(key_node, deep=deep)
      try:
        hash(key)
      except TypeError:
        raise yaml.constructor.ConstructorError(
          None, None, f"a mapping key must be text; got {key!r}", key_node.start_mark
        ) from None
      if key in seen:
        raise yaml.constructor.ConstructorError(
          None,
          None,
          f"duplicate key {key!r} (first at line {seen[key].line + 1})",
          key_node.start_mark,
        )
      seen[key] = key_node.start_mark
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

  Loader.add_constructor("tag:yaml.org,2002:map", construct_mapping)
  return Loader


def _json_pairs(pairs):
  out = {}
  for k, v in pairs:
    if k in out:
      raise ValueError(f"duplicate key {k!r}")
    out[k] = v
  return out


def read_config_file(path: str | os.PathLike) -> Tuple[Any, str]:
  """``(data, text)`` of a YAML or JSON config file.

  Raises:
    ConfigError: naming the file (and the line where the parser knows it): missing, not UTF-8,
      larger than :data:`MAX_BYTES`, nested deeper than :data:`MAX_DEPTH`, a duplicate key, or
      not valid YAML/JSON.
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise ConfigError("", f"{path}: no such config file.")
  size = os.path.getsize(path)
  if size > MAX_BYTES:
    raise ConfigError("", f"{path}: {size:,} bytes; a config file may hold at most {MAX_BYTES:,}.")
  with open(path, "rb") as f:
    raw = f.read()
  try:
    text = raw.decode("utf-8")
  except UnicodeDecodeError as e:
    line = raw[: e.start].count(b"\n") + 1
    raise ConfigError(
      "", f"{path}: line {line}: not UTF-8 text (byte {raw[e.start]:#04x} at offset {e.start})."
    ) from None
  if _bracket_depth(text) > MAX_DEPTH:
    raise ConfigError("", f"{path}: nested deeper than {MAX_DEPTH} levels.")
  try:
    if path.endswith(".json"):
      try:
        data = json.loads(text, object_pairs_hook=_json_pairs)
      except json.JSONDecodeError as e:
        raise ConfigError(
          "", f"{path}: invalid JSON ({e.msg} at line {e.lineno}, column {e.colno})."
        ) from None
      except ValueError as e:  # a duplicate key (the hook cannot know the line)
        raise ConfigError("", f"{path}: invalid JSON ({e}).") from None
    else:
      import yaml  # noqa: PLC0415

      try:
        data = yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass
      except yaml.YAMLError as e:
        msg = " ".join(str(e).split())
        raise ConfigError("", f"{path}: invalid YAML ({msg}).") from None
  except RecursionError:
    raise ConfigError("", f"{path}: nested deeper than {MAX_DEPTH} levels.") from None
  if _data_depth(data) > MAX_DEPTH:
    raise ConfigError("", f"{path}: nested deeper than {MAX_DEPTH} levels.")
  return data, text


# --- settings types -----------------------------------------------------------------------------

# a message that starts with a field path: ``name``, ``name[0]``, ``name.key[1].other`` ...
_FIELD = re.compile(
  r"^([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\]]*\]|\.[A-Za-z_][A-Za-z0-9_/-]*)*)(?::|\s|$)"
)
_MISSING = re.compile(
  r"missing \d+ required (?:keyword-only |positional )?arguments?: '([A-Za-z0-9_]+)'"
)


def field_error(error: Exception, path: str, known: Sequence[str]) -> ConfigError:
  """The :class:`ConfigError` for ``error`` raised by a settings type built from the mapping at
  ``path``: a message that starts with a field path whose head is in ``known`` (``"n must be
  >= 1"``, ``"roles.solver[1]: unknown control"``) is reported at ``path.<that field path>``,
  any other message at ``path`` itself."""
  if isinstance(error, ConfigError):  # already names its field, relative to ``path``
    return ConfigError(join(path, error.field) if error.field else path, error.message)
  msg = str(error)
  missing = _MISSING.search(msg) if isinstance(error, TypeError) else None
  if missing:
    return ConfigError(join(path, missing.group(1)), "missing.")
  hit = _FIELD.match(msg)
  if hit and hit.group(1) in known:
    field = hit.group(1) + hit.group(2)
    return ConfigError(join(path, field), msg[len(field) :].strip().lstrip(":").strip())
  return ConfigError(path, msg)


def build(cls, value: Any, path: str, **fixed):
  """``cls(**fixed, **value)`` for a frozen settings type ``cls`` whose constructor checks its
  own fields; a ``ValueError`` naming a field becomes a :class:`ConfigError` at
  ``path.field`` (the reader only maps and prefixes the path), a missing required field one at
  ``path.field`` saying so.

  Raises:
    ConfigError: ``value`` is not a mapping, has a key that is not a field of ``cls``, lacks a
      required field, or a field is invalid.
  """
  import dataclasses  # noqa: PLC0415

  fields = [f.name for f in dataclasses.fields(cls) if f.init and f.name not in fixed]
  m = mapping({} if value is None else value, path, fields)
  try:
    return cls(**fixed, **m)
  except (ValueError, TypeError) as e:
    raise field_error(e, path, fields) from None
