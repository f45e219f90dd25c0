"""Serve MathJax from the site itself, so the mathematics renders without a network.

Sphinx loads MathJax from a CDN by default; this workplace (and any offline reader) cannot
reach one. The build copies the parts of Debian's MathJax 2.7 (``apt-get install libjs-mathjax
fonts-mathjax``, or a copy named by ``DICE_JAX_MATHJAX_DIR``) that the TeX -> CommonHTML
configuration loads (about 1.5 MB) into ``_static/mathjax`` and points ``mathjax_path`` there.
Without a MathJax the build warns (an error under ``-W``).
"""

from __future__ import annotations

import os
import shutil

from sphinx.util import logging

logger = logging.getLogger(__name__)

CANDIDATES = [
  os.environ.get("DICE_JAX_MATHJAX_DIR", ""),
  "/usr/share/javascript/mathjax",
  "/usr/share/mathjax",
]
CONFIG = "TeX-AMS_CHTML-full"
PARTS = [
  "MathJax.js",
  f"config/{CONFIG}.js",
  "extensions",
  "jax/output/CommonHTML",
  "jax/element",
  "fonts/HTML-CSS/TeX/woff",
  "localization/en",
]


def _source() -> str | None:
  for path in CANDIDATES:
    if path and os.path.exists(os.path.join(path, "MathJax.js")):
      return path
  return None


def config_inited(app, config) -> None:
  config.mathjax_path = f"mathjax/MathJax.js?config={CONFIG}"
  # MathJax 2 reads TeX between \( \) and \[ \] (what sphinx.ext.mathjax writes)
  config.mathjax2_config = {
    "tex2jax": {
      "inlineMath": [["\\(", "\\)"]],
      "displayMath": [["\\[", "\\]"]],
      "processRefs": False,
      "processEnvironments": False,
    }
  }


def copy(app, exception) -> None:
  if exception is not None or app.builder.format != "html":
    return
  src = _source()
  if src is None:
    logger.warning(
      "no MathJax found (apt-get install libjs-mathjax fonts-mathjax, or set "
      "DICE_JAX_MATHJAX_DIR): the mathematics will not render offline",
      type="dice_jax",
      subtype="mathjax",
    )
    return
  dst = os.path.join(app.outdir, "_static", "mathjax")
  for part in PARTS:
    a, b = os.path.join(src, part), os.path.join(dst, part)
    os.makedirs(os.path.dirname(b), exist_ok=True)
    if os.path.isdir(a):
      shutil.copytree(a, b, dirs_exist_ok=True)
    elif os.path.exists(a):
      shutil.copyfile(a, b)


def setup(app):
  app.connect("config-inited", config_inited)
  app.connect("build-finished", copy)
  return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
