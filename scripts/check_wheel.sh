#!/usr/bin/env bash
# Release check: build the sdist and the wheel, check their metadata with twine, install the
# wheel into a fresh virtual environment (no editable install, no source tree on the path) and
# run the quickstart and the command line from it.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python -m build --outdir "$work/dist" . > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
ls "$work/dist"
sdist=("$work"/dist/dice_jax-*.tar.gz)
wheel=("$work"/dist/dice_jax-*.whl)
[ -f "${sdist[0]}" ] && [ -f "${wheel[0]}" ] || { echo "check_wheel: missing sdist or wheel"; exit 1; }
python -m twine check --strict "${sdist[0]}" "${wheel[0]}"
# the wheel carries the typing marker and no tests/docs
python - "${wheel[0]}" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
assert "dice_jax/py.typed" in names, "py.typed missing from the wheel"
assert not [n for n in names if n.startswith(("tests/", "docs/", "benchmarks/"))], "stray files"
print(f"wheel: {len(names)} files, py.typed present")
PY
# A fresh environment that sees the installed packages of this machine (jax, flax, ... already
# downloaded) but not the editable dice_jax: the wheel's own copy is what gets imported.
python -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --no-deps --no-index --ignore-installed "${wheel[0]}"
cd "$work"   # away from the source tree
"$work/venv/bin/python" - <<'PY'
import os
from importlib import metadata
from packaging.requirements import Requirement
import dice_jax as dj
assert "/venv/" in dj.__file__, f"imported {dj.__file__}, not the wheel's copy"
# the declared core requirements hold for what is installed (the lower bounds are tested here)
for text in metadata.requires("dice_jax"):
  req = Requirement(text)
  if req.marker is None:
    have = metadata.version(req.name)
    assert req.specifier.contains(have, prereleases=True), f"{req}: installed {have}"
    print(f"  {req} (installed {have})")
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
sol = dj.solve(dj.games.prisoners_dilemma(), jnp.array([0.5, 1.0]))
assert sol.result_names() == "converged", sol.result_names()
games = dj.games.random.uniform(jax.random.PRNGKey(0), (8, 8), batch_shape=(16,))
batch = dj.solve(games, 0.5)
assert batch.probabilities[0].shape == (16, 8)
cert = dj.certify.certify(dj.games.matching_pennies(), 0.5,
                          dj.solve(dj.games.matching_pennies(), 0.5, history=True))
assert bool(cert.certified)
print("quickstart from the wheel:", dj.__file__, [p.round(4).tolist() for p in sol.probabilities])
PY
"$work/venv/bin/dice-jax" --help > "$work/help.txt"
grep -q "solve" "$work/help.txt" || { cat "$work/help.txt"; exit 1; }
"$work/venv/bin/dice-jax" solve --example prisoners-dilemma --temperature 0.5,1.0
echo "check_wheel: sdist + wheel built, twine check passed, wheel runs in a fresh venv"
