#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: sets up tfjs-node-gpu (libtensorflow's
# CUDA build from Maven Central, scripts/tensorflow/install.sh --gpu), runs
# the tests that touch tfjs on the gpu backend, and a short benchmark
# (two-tower training pairs/s, cross-encoder pairs/s, MiniLM texts/s) on gpu
# and on the CPU backends, then prints one summary line. Budget: 8 minutes.
#
#   bash scripts/gpu-check.sh
#
# It has not run on a GPU yet: treat it as untested. TensorFlow 2.18 loads CUDA 12 and cuDNN 9 at run time, so they
# must be on the library path (nvidia-smi must list the GPU).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
deadline=$((SECONDS + 480))
left() { echo $((deadline - SECONDS)); }
fail() { echo "gpu-check: FAILED: $*"; exit 1; }
command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1 || fail "nvidia-smi lists no GPU: this check needs an NVIDIA GPU with its driver"
gpu=$(nvidia-smi -L | head -n1)
log=$(mktemp /tmp/trellis-gpu-check.XXXXXX.log)
echo "gpu-check: $gpu; log in $log"

timeout "$(left)" bash scripts/tensorflow/install.sh --gpu >>"$log" 2>&1 || fail "tfjs-node-gpu could not be set up (see $log)"
TRELLIS_BACKEND=gpu node bin/trellis.js env >>"$log" 2>&1 || fail "trellis env failed on gpu (see $log)"
grep -q 'backend.*gpu (TensorFlow C on CUDA' "$log" || fail "tfjs-node-gpu loaded but sees no CUDA device: check CUDA 12 / cuDNN 9 on the library path (see $log)"

tests=$(find test/runtime test/models test/rerank test/pretrained test/pipeline -name '*.test.ts' | sort)
# shellcheck disable=SC2086
if TRELLIS_BACKEND=gpu timeout "$(( $(left) - 150 ))" node --import tsx --test $tests >>"$log" 2>&1; then
  tested="tests pass"
else
  fail "the tfjs tests failed on gpu (see $log)"
fi

bench=$(TRELLIS_BACKEND=gpu timeout "$(left)" node --import tsx scripts/bench-backends.ts --backends gpu,node --threads "$(nproc)" --quick 2>>"$log" | tee -a "$log" | grep -E '^\| (gpu|node) ' || true)
[ -n "$bench" ] || fail "the benchmark did not finish within the budget (see $log)"
row() { echo "$bench" | grep "^| $1 " | head -n1 | awk -F'|' '{gsub(/ /, "", $5); gsub(/ /, "", $7); gsub(/ /, "", $8); print "training " $5 " pairs/s, cross-encoder scoring " $7 " pairs/s, MiniLM " $8 " texts/s"}'; }
echo "gpu-check: OK in $SECONDS s on $gpu: $tested; gpu: $(row gpu); CPU (TensorFlow C): $(row node)"
