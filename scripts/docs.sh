#!/usr/bin/env bash
# Builds the documentation site into docs/_build/html. Every warning is an error (-W):
# a broken cross-reference (-n, nitpicky), a public name without a docstring, a notebook that
# does not render. --keep-going reports all of them before failing.
# Usage: bash scripts/docs.sh [extra sphinx-build options, e.g. -E for a clean build]
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
# The API pages import every module; keep JAX on the CPU and quiet for the build.
export JAX_PLATFORMS="${JAX_PLATFORMS:-cpu}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# A clean build every time (stale pages of renamed objects would survive an incremental one);
# DOCS_INCREMENTAL=1 keeps the previous build for quick edits.
if [ "${DOCS_INCREMENTAL:-0}" != "1" ]; then rm -rf docs/_build/html docs/_build/doctrees; fi
python -m sphinx -b html -W --keep-going -n -q -d docs/_build/doctrees "$@" docs docs/_build/html
echo "docs: built docs/_build/html (0 warnings)"
