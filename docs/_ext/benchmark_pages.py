"""Build-time generator of the benchmark pages: tables and plots from ``benchmarks/results/*.json``.

Every figure on these pages is read from the JSON records that the benchmark modules write
(``benchmarks/_record.py``); nothing is copied by hand, so a rerun of a benchmark followed by a
docs build updates the site. The generator knows no record's schema: it lays out any record as

* its environment (device, versions, time) and its scalar settings;
* a table for every list of flat objects (``rows``, ``vs_temperature``, ...) and every object of
  flat objects, and a key/value table for every flat object;
* a bar chart (log scale) of the ``ratio*`` columns of every table that has them, drawn with
  matplotlib at build time;
* the module's own docstring (what it measures and how) and the figures it saved itself.

Deeper structures are listed by name with a link to the raw JSON, which is part of the site.
"""

from __future__ import annotations

import ast
import glob
import json
import math
import os
import shutil

from sphinx.util import logging

import docstring_refs

logger = logging.getLogger(__name__)

MAX_COLUMNS = 12  # wider tables are split into several, each repeating the label columns


def _is_scalar(v) -> bool:
  return v is None or isinstance(v, (bool, int, float, str))


def _is_flat(v) -> bool:
  """A flat object: a dict whose values are scalars or short lists of scalars."""
  return (
    isinstance(v, dict)
    and bool(v)
    and all(
      _is_scalar(x) or (isinstance(x, list) and len(x) <= 8 and all(_is_scalar(y) for y in x))
      for x in v.values()
    )
  )


def fmt(v) -> str:
  """A table cell: 4 significant figures, thousands separators for large numbers."""
  if v is None:
    return "–"
  if isinstance(v, bool):
    return "yes" if v else "no"
  if isinstance(v, int):
    return f"{v:,}"
  if isinstance(v, float):
    if math.isnan(v) or math.isinf(v):
      return str(v)
    if v == 0:
      return "0"
    a = abs(v)
    if a >= 1e5 or a < 1e-3:
      return f"{v:.3e}"
    if a >= 100:
      return f"{v:,.1f}"
    return f"{v:.4g}"
  if isinstance(v, list):
    return "[" + ", ".join(fmt(x) for x in v) + "]"
  return str(v).replace("\n", " ")


def _cell(v) -> str:
  text = fmt(v).replace("|", "\\|").replace("*", "\\*").replace("`", "'")
  return text if text else " "


def _label_columns(columns, rows) -> list[str]:
  """Columns that identify a row (ints, strings, booleans, lists), not measurements."""
  out = []
  for c in columns:
    vals = [r.get(c) for r in rows if r.get(c) is not None]
    if (
      vals
      and all(isinstance(v, (int, str, bool, list)) for v in vals)
      and not c.endswith("_s")
      and "steps" not in c
      and "count" not in c
    ):
      out.append(c)
    elif c in ("lambda", "tau", "temperature", "margin", "eps") and vals:
      out.append(c)
  return out[:4]


def _table(title: str, rows: list[dict]) -> list[str]:
  columns: list[str] = []
  for r in rows:
    for k, v in r.items():
      if k not in columns and (_is_scalar(v) or isinstance(v, list)):
        columns.append(k)
  labels = _label_columns(columns, rows)
  rest = [c for c in columns if c not in labels]
  width = max(1, MAX_COLUMNS - len(labels))
  chunks = [rest[i : i + width] for i in range(0, len(rest), width)] or [[]]
  out: list[str] = []
  for j, chunk in enumerate(chunks):
    cols = labels + chunk
    caption = title if len(chunks) == 1 else f"{title} ({j + 1}/{len(chunks)})"
    out += [f".. list-table:: {caption}", "   :header-rows: 1", "   :class: bench-table", ""]
    out.append("   * - " + "\n     - ".join(f"``{c}``" for c in cols))
    for r in rows:
      out.append("   * - " + "\n     - ".join(_cell(r.get(c)) for c in cols))
    out.append("")
  return out


def _plot(name: str, title: str, rows: list[dict], outdir: str) -> str | None:
  """Grouped bar chart of the ``ratio*`` columns; returns the PNG's file name or None."""
  ratio_cols = []
  for r in rows:
    for k, v in r.items():
      if (
        k.startswith("ratio")
        and isinstance(v, (int, float))
        and not isinstance(v, bool)
        and k not in ratio_cols
      ):
        ratio_cols.append(k)
  if not ratio_cols:
    return None
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  columns = list(dict.fromkeys(k for r in rows for k in r))
  labels = _label_columns(columns, rows)
  names = [", ".join(f"{c}={fmt(r.get(c))}" for c in labels) or str(i) for i, r in enumerate(rows)]
  fig, ax = plt.subplots(figsize=(8, 0.35 * len(rows) * len(ratio_cols) + 1.5))
  height = 0.8 / len(ratio_cols)
  for j, col in enumerate(ratio_cols):
    ys = [i + j * height for i in range(len(rows))]
    vals = [
      r.get(col)
      if isinstance(r.get(col), (int, float)) and r.get(col) and r.get(col) > 0
      else float("nan")
      for r in rows
    ]
    ax.barh(ys, vals, height=height, label=col)
  ax.set_yticks([i + 0.4 - height / 2 for i in range(len(rows))])
  ax.set_yticklabels(names, fontsize=8)
  ax.invert_yaxis()
  ax.set_xscale("log")
  ax.axvline(1.0, color="black", linewidth=0.8)
  ax.set_xlabel("ratio (peer or 'before' time / dice_jax time; > 1: dice_jax faster)")
  ax.set_title(f"{name}: {title}", fontsize=10)
  ax.legend(fontsize=8, loc="lower right")
  fig.tight_layout()
  fname = f"{name}_{title}_ratios.png".replace(" ", "_")
  fig.savefig(os.path.join(outdir, fname), dpi=90)
  plt.close(fig)
  return fname


def _module_doc(root: str, name: str) -> str | None:
  path = os.path.join(root, "benchmarks", name + ".py")
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    return ast.get_docstring(ast.parse(f.read()))


def record_page(root: str, outdir: str, json_path: str) -> tuple[str, str]:
  name = os.path.splitext(os.path.basename(json_path))[0]
  with open(json_path, encoding="utf-8") as f:
    record = json.load(f)
  shutil.copy(json_path, os.path.join(outdir, name + ".json"))
  module = "benchmarks.__main__" if name == "summary" else f"benchmarks.{name}"
  heading = f"{name}"
  out = [heading, "=" * len(heading), ""]
  doc = _module_doc(root, "__main__" if name == "summary" else name)
  if doc:
    lines = doc.splitlines()
    docstring_refs.qualify_lines(lines, unknown_as_literal=True)
    out += [f".. py:module:: {module}", "", f"Measured by ``{module}``:", ""]
    out += ["   " + line if line else "" for line in lines] + [""]
  out += [f"Raw record: :download:`{name}.json <{name}.json>`.", ""]
  env = record.get("env") or record.get("environment") or record.get("machine")
  settings, flats, tables, deeper = [], [], [], []
  for k, v in record.items():
    if k in ("env", "environment", "machine") and _is_flat(v):
      continue
    if _is_scalar(v) or (isinstance(v, list) and all(_is_scalar(x) for x in v)):
      settings.append((k, v))
    elif _is_flat(v):
      flats.append((k, v))
    elif isinstance(v, list) and v and all(_is_flat(x) for x in v):
      tables.append((k, v))
    elif isinstance(v, dict) and v and all(_is_flat(x) for x in v.values()):
      tables.append((k, [{"key": kk, **x} for kk, x in v.items()]))
    else:
      deeper.append(k)
  if _is_flat(env):
    out += ["Environment", "-----------", ""]
    out += [", ".join(f"{k} ``{fmt(v)}``" for k, v in env.items()), ""]
  if settings:
    out += ["Settings", "--------", ""]
    out += [f"* ``{k}``: {_cell(v)}" for k, v in settings] + [""]
  for k, rows in tables:
    out += [f"``{k}``", "-" * (len(k) + 4), ""]
    out += _table(k, rows)
    png = _plot(name, k, rows, outdir)
    if png:
      out += [f".. image:: {png}", f"   :alt: ratios of {name} {k}", ""]
  for k, v in flats:
    out += [f"``{k}``", "-" * (len(k) + 4), ""]
    out += [
      ".. list-table::",
      "   :header-rows: 1",
      "   :class: bench-table",
      "",
      "   * - field\n     - value",
    ]
    out += [f"   * - ``{kk}``\n     - {_cell(vv)}" for kk, vv in v.items()] + [""]
  saved = sorted(glob.glob(os.path.join(os.path.dirname(json_path), name + "*.png")))
  if saved:
    out += ["Figures saved by the benchmark", "------------------------------", ""]
    for png in saved:
      shutil.copy(png, os.path.join(outdir, os.path.basename(png)))
      out += [f".. image:: {os.path.basename(png)}", f"   :alt: {os.path.basename(png)}", ""]
  if deeper:
    out += ["Nested fields (see the raw record): " + ", ".join(f"``{k}``" for k in deeper), ""]
  return name, "\n".join(out) + "\n"


def generate(app) -> None:
  root = os.path.dirname(app.srcdir)
  outdir = os.path.join(app.srcdir, "benchmarks")
  shutil.rmtree(outdir, ignore_errors=True)  # generated: records that were removed go too
  os.makedirs(outdir, exist_ok=True)
  paths = sorted(glob.glob(os.path.join(root, "benchmarks", "results", "*.json")))
  if not paths:
    logger.warning(
      "no benchmark records in benchmarks/results/", type="dice_jax", subtype="benchmarks"
    )
  names = []
  for path in paths:
    name, text = record_page(root, outdir, path)
    names.append(name)
    with open(os.path.join(outdir, name + ".rst"), "w", encoding="utf-8") as f:
      f.write(text)
  # The headline: summary first, then the records in alphabetical order.
  names.sort(key=lambda n: (n != "summary", n))
  index = (
    [
      "Benchmark records",
      "=================",
      "",
      "One page per JSON record in ``benchmarks/results/``, laid out at build time.",
      "",
      ".. toctree::",
      "   :maxdepth: 1",
      "",
    ]
    + [f"   {n}" for n in names]
    + [""]
  )
  # modules without a record of their own (baselines, helpers): their docstrings, here
  others = sorted(
    os.path.splitext(os.path.basename(p))[0]
    for p in glob.glob(os.path.join(root, "benchmarks", "*.py"))
  )
  others = [m for m in others if not m.startswith("_") and m not in names]
  if others:
    index += ["Other benchmark modules", "-----------------------", ""]
    for m in others:
      doc = _module_doc(root, m) or ""
      lines = doc.splitlines()
      docstring_refs.qualify_lines(lines, unknown_as_literal=True)
      index += (
        [f"``benchmarks.{m}``", "~" * (len(m) + 15), "", f".. py:module:: benchmarks.{m}", ""]
        + ["   " + ln if ln else "" for ln in lines]
        + [""]
      )
  with open(os.path.join(outdir, "index.rst"), "w", encoding="utf-8") as f:
    f.write("\n".join(index) + "\n")
  app.config.html_context = {**getattr(app.config, "html_context", {}), "benchmark_records": names}


def setup(app):
  app.connect("builder-inited", generate)
  return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
