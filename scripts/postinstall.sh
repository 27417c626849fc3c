#!/usr/bin/env bash
# Runs after `npm ci` / `npm install` in a checkout of trellis: puts the fast
# native parts in place wherever this machine can have them, and never fails
# the install (each step prints one line; a step that cannot run says why and
# the slower fallback stays):
#   - the native TensorFlow backend (tfjs-node on libtensorflow), which npm
#     cannot install where libtensorflow's own download host is unreachable
#     (scripts/tensorflow/install.sh; set TRELLIS_NO_TENSORFLOW=1 to skip it
#     and stay on the WebAssembly backend);
#   - hnswlib compiled for this CPU (scripts/hnswlib/build.sh; set
#     TRELLIS_PORTABLE_HNSW=1 to keep npm's portable build, e.g. for
#     node_modules that are copied to other machines).
# Installed as a dependency of another project, it does nothing.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${INIT_CWD:-}" ] && [ "$(cd "$INIT_CWD" && pwd -P)" != "$(cd "$ROOT" && pwd -P)" ]; then
  exit 0
fi
if [ "${TRELLIS_NO_TENSORFLOW:-}" = 1 ]; then
  echo "trellis: TRELLIS_NO_TENSORFLOW=1: not setting up the native TensorFlow backend (the WebAssembly one runs instead)"
else
  bash "$ROOT/scripts/tensorflow/install.sh" --quiet \
    || echo "trellis: the native TensorFlow backend is not set up (see above); trellis runs on the WebAssembly backend. 'npm run tensorflow:install' retries."
fi
bash "$ROOT/scripts/hnswlib/build.sh" --quiet \
  || echo "trellis: hnswlib keeps npm's portable build (see above)."
exit 0
