#!/usr/bin/env bash
# The Python module's check: a fresh virtual environment in
# build/python-venv, `pip install .` (pyproject.toml: libnst and the module,
# CPU only), then pytest on tests/python. Exits non-zero when the install or
# a test fails, and when pytest collects no test (its status 5), so that a
# suite that silently vanished is not a pass. pip builds in an isolated
# environment, with pyproject.toml's build requirements only; each new one
# makes scikit-build-core clear its CMake build (build/python/), so every
# run builds libnst afresh (about a minute on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=build/python-venv
python=${PYTHON:-python3}

seconds() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.1f s", b - a }'; }

start=$(seconds)
"$python" -m venv --clear "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet numpy pytest
echo "python_test: venv $venv ready in $(elapsed "$start")"

step=$(seconds)
"$venv/bin/python" -m pip install --quiet .
echo "python_test: pip install . in $(elapsed "$step")"

step=$(seconds)
status=0
# No cache folder in the work tree; tests import the installed module.
"$venv/bin/python" -m pytest -p no:cacheprovider -q tests/python "$@" || status=$?
echo "python_test: pytest in $(elapsed "$step") (total $(elapsed "$start"))"
if [ "$status" -eq 5 ]; then
  echo "python_test: error: pytest collected no tests" >&2
fi
exit "$status"
