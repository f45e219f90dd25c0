"""Build-time copy of ``notebooks/*.ipynb`` into the site, rendered with their stored outputs.

The notebooks live at the repository root (where users open them); Sphinx reads only files under
``docs/``, so each build copies them to ``docs/notebooks/`` (not committed). myst-nb renders the
stored outputs (``nb_execution_mode = "off"`` in ``conf.py``); a notebook that cannot be parsed is
a build error.
"""

from __future__ import annotations

import glob
import os
import shutil


def generate(app) -> None:
  root = os.path.dirname(app.srcdir)
  outdir = os.path.join(app.srcdir, "notebooks")
  os.makedirs(outdir, exist_ok=True)
  for path in sorted(glob.glob(os.path.join(root, "notebooks", "*.ipynb"))):
    target = os.path.join(outdir, os.path.basename(path))
    if not os.path.exists(target) or open(path, "rb").read() != open(target, "rb").read():
      shutil.copy(path, target)


def setup(app):
  app.connect("builder-inited", generate)
  return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
