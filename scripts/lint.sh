#!/usr/bin/env bash
# One code style, enforced: ruff's lint rules and its formatter (2-space indentation, 100
# columns), both configured in pyproject.toml. Fix with:
#   ruff check --fix . && ruff format .
set -euo pipefail
cd "$(dirname "$0")/.."
python -m ruff --version
python -m ruff check .
python -m ruff format --check .
echo "lint: ruff check and ruff format --check passed"
