#!/usr/bin/env bash
# Installs the Python peer of the ANN benchmark (scripts/bench-ann-peer.ts):
# hnswlib 0.8.0 from PyPI (the version hnswlib-node 3.0.0 bundles), built from
# source twice, outside the repository:
#
#   $VENV                      numpy + hnswlib built the PyPI way (-march=native)
#   $VENV/portable             hnswlib built with HNSWLIB_NO_NATIVE=1 (x86-64
#                              baseline, SSE only), as node-gyp builds hnswlib-node
#
# Usage: bash scripts/peer/setup-hnswlib.sh [VENV]   (default /work/pyref/hnsw-venv)
set -euo pipefail
VENV="${1:-/work/pyref/hnsw-venv}"
VERSION="${HNSWLIB_VERSION:-0.8.0}"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip setuptools wheel pybind11 numpy
# --no-binary and --no-cache-dir: build here with this machine's compiler, and
# never reuse the other build's cached wheel.
"$VENV/bin/pip" install --quiet --no-cache-dir --no-binary hnswlib "hnswlib==$VERSION"
HNSWLIB_NO_NATIVE=1 "$VENV/bin/pip" install --quiet --no-cache-dir --no-binary hnswlib --no-deps --no-build-isolation \
  --target "$VENV/portable" "hnswlib==$VERSION"
"$VENV/bin/python" -c "import hnswlib, numpy; print('hnswlib', hnswlib.__file__, 'numpy', numpy.__version__)"
PYTHONPATH="$VENV/portable" "$VENV/bin/python" -c "import hnswlib; print('portable hnswlib', hnswlib.__file__)"
