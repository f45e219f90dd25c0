"""Sphinx configuration for the dice_jax documentation site.

Sphinx + MyST + myst-nb, the stack of the JAX libraries dice_jax sits beside (jax, flax, optax):
Markdown pages, an API reference generated from the docstrings, MathJax, and the notebooks rendered
with their stored outputs (never executed at build time). Three build-time generators live in
``docs/_ext``: the API pages (from every package's ``__all__``), the benchmark pages (tables and
plots from ``benchmarks/results/*.json``) and the notebook copies. ``scripts/docs.sh`` builds with
``-W --keep-going -n``: every warning (broken cross-reference, missing docstring of a public name,
failed notebook render) fails the build.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(HERE, "_ext"))

import dice_jax  # noqa: E402

project = "dice_jax"
author = "the dice_jax authors"
copyright = "2026, the dice_jax authors"
release = dice_jax.__version__
version = release

extensions = [
  "sphinx.ext.autodoc",
  "sphinx.ext.autosummary",
  "sphinx.ext.napoleon",
  "sphinx.ext.mathjax",
  "myst_nb",
  "sphinx_design",
  "api_pages",
  "docstring_refs",
  "module_docstring",
  "benchmark_pages",
  "notebook_pages",
  "local_mathjax",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]
templates_path = []

# MyST: $...$ and $$...$$ math, ::: fences, heading anchors for [text](page.md#anchor) links.
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
# MathJax is Debian's 2.7, served by the site (docs/_ext/local_mathjax.py); MyST's MathJax 3/4
# settings (a window.MathJax object, ignore classes on every section) would stop it typesetting.
myst_update_mathjax = False

# Notebooks render with the outputs stored in them; nothing runs at build time.
nb_execution_mode = "off"
nb_execution_raise_on_error = True

# Autodoc: Google-style docstrings (napoleon), members in source order, signatures with hints.
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autosummary_generate = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

add_module_names = False

# Every cross-reference must resolve (-n). The build is offline, so references into other
# projects' documentation (jax, numpy, flax, optax, the standard library) cannot be resolved by
# intersphinx; those targets are ignored by pattern here, and only those.
nitpicky = True
nitpick_ignore_regex = [
  (
    r"py:.*",
    r"(jax|jaxlib|numpy|np|jnp|flax|nnx|optax|chex|typing|typing_extensions|collections|"
    r"abc|enum|os|pathlib|transformers|httpx|hypothesis|pygambit|gambit|tokenizers|"
    r"matplotlib|io|types|functools|dataclasses|concurrent|threading|json|argparse|decimal|"
    r"re|random|pickle|urllib|http|socket|subprocess)(\..*)?",
  ),
  (
    r"py:.*",
    r"(int|float|bool|str|bytes|dict|list|tuple|set|frozenset|object|None|type|"
    r"callable|Callable|Any|Optional|Union|Sequence|Mapping|Iterable|Iterator|"
    r"NamedTuple|Literal|Protocol|Array|ArrayLike|PRNGKey|Path|PathLike|"
    r"Exception|ValueError|TypeError|RuntimeError|KeyError|OSError|"
    r"array|ndarray|Tokenizer|PreTrainedTokenizerBase|string)",
  ),
  # string annotations that autodoc cannot parse (``"Dict[str, Any]"``) come through in pieces
  (r"py:.*", r".*[\[\]].*"),
]

html_theme = "sphinx_book_theme"
html_title = f"dice_jax {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
  "show_toc_level": 2,
  "home_page_in_toc": True,
  "use_download_button": False,
}
html_last_updated_fmt = None
# "more than one target found": a short annotation (``NormalFormGame``) matches the object and
# its aliases (dice_jax.NormalFormGame, dice_jax.games.NormalFormGame); all are one object.
suppress_warnings = ["ref.python"]
