#!/usr/bin/env bash
# Installs the Python peer of trellis's pretrained encoder: PyTorch on the CPU
# plus sentence-transformers, what a Python user would run all-MiniLM-L6-v2
# with (scripts/peer/st_encode.py, scripts/peer/numpy_matmul.py). PyPI only.
#
# PyPI's Linux torch wheel is the CUDA build, whose dependencies (nvidia-*,
# cuda-toolkit, cuda-bindings, triton) add several GB; PyTorch's CPU-only
# index is out of reach here. So torch goes in with --no-deps, then only its
# pure-Python dependencies, and scripts/peer/cuda_stubs.py puts small stub
# libraries for the CUDA sonames into torch/lib, which is what the CUDA build
# needs to load at all (even libtorch_cpu.so links libcudart). The CPU kernels
# are the same MKL/oneDNN code as in the CPU wheel; torch.cuda.is_available()
# is False. sentence-transformers is also installed with --no-deps (its other
# dependencies normally), so that no resolver run ever sees torch's CUDA
# requirements; the script fails if an nvidia-*, cuda-* or triton package
# ends up installed.
#
# Usage: bash scripts/peer/setup-torch.sh [VENV]   (default work/peer/torch-venv)
#   TORCH_WHEEL=/path/torch-2.15.0-cp311-...whl   reuse a downloaded wheel
# Reruns are cheap: nothing is installed when the venv already imports the
# pinned versions.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${1:-$ROOT/work/peer/torch-venv}"
TORCH_VERSION=2.15.0
ST_VERSION=6.3.0
# transformers 5.x is what sentence-transformers 6 requires; pinned so reruns
# measure the same BERT code.
TRANSFORMERS_VERSION=5.25.0

die() { echo "setup-torch: $*" >&2; exit 1; }
PY="$VENV/bin/python"

# Imports both, runs a CPU matmul and checks CUDA is reported absent.
check() {
  "$PY" - "$TORCH_VERSION" "$ST_VERSION" <<'EOF'
import sys
import torch
import sentence_transformers
want_torch, want_st = sys.argv[1], sys.argv[2]
assert torch.__version__.split('+')[0] == want_torch, f'torch {torch.__version__}, want {want_torch}'
assert sentence_transformers.__version__ == want_st, f'sentence-transformers {sentence_transformers.__version__}, want {want_st}'
c = torch.randn(2, 2) @ torch.randn(2, 2)
assert c.shape == (2, 2) and c.device.type == 'cpu'
assert not torch.cuda.is_available(), 'torch.cuda.is_available() is True'
print(f'torch {torch.__version__} (cuda available: False, threads {torch.get_num_threads()}), sentence-transformers {sentence_transformers.__version__}')
EOF
}

if [ -x "$PY" ] && check 2>/dev/null; then
  echo "setup-torch: $VENV already set up ($(du -sh "$VENV" | cut -f1))"
  exit 0
fi

command -v python3 >/dev/null || die "python3 (3.11 or newer, for torch $TORCH_VERSION) is missing"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "python3 is $(python3 -V 2>&1 | cut -d' ' -f2); torch $TORCH_VERSION needs 3.11 or newer"
python3 -c 'import venv, ensurepip' 2>/dev/null || die "python3's venv/ensurepip modules are missing (Debian: apt-get install python3-venv)"
command -v gcc >/dev/null || die "gcc is missing (needed to build the CUDA stub libraries; Debian: apt-get install gcc)"
command -v readelf >/dev/null || die "readelf is missing (Debian: apt-get install binutils)"

echo "setup-torch: creating $VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip

echo "setup-torch: installing torch $TORCH_VERSION without its CUDA dependencies"
if [ -n "${TORCH_WHEEL:-}" ]; then
  [ -f "$TORCH_WHEEL" ] || die "TORCH_WHEEL=$TORCH_WHEEL does not exist"
  case "$(basename "$TORCH_WHEEL")" in torch-"$TORCH_VERSION"-*) ;; *) die "TORCH_WHEEL must be a torch $TORCH_VERSION wheel, not $(basename "$TORCH_WHEEL")" ;; esac
  "$VENV/bin/pip" install --quiet --no-deps "$TORCH_WHEEL"
else
  "$VENV/bin/pip" install --quiet --no-deps "torch==$TORCH_VERSION"
fi

. "$(dirname "$0")/pip-lib.sh"
TORCH_DEPS=$(requirements torch)
echo "setup-torch: torch's other dependencies: ${TORCH_DEPS//$'\n'/ }"
# shellcheck disable=SC2086 # one requirement per word
pip_install $TORCH_DEPS

echo "setup-torch: building stub CUDA libraries"
"$PY" "$ROOT/scripts/peer/cuda_stubs.py" "$("$PY" -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("torch").origin))')"

echo "setup-torch: installing sentence-transformers $ST_VERSION, transformers $TRANSFORMERS_VERSION"
"$VENV/bin/pip" install --quiet --no-deps "sentence-transformers==$ST_VERSION"
ST_DEPS=$(requirements sentence-transformers | grep -v -i '^transformers')
# shellcheck disable=SC2086
pip_install "transformers==$TRANSFORMERS_VERSION" $ST_DEPS

CUDA_PACKAGES=$("$VENV/bin/pip" list --format=freeze 2>/dev/null | grep -i -E '^(nvidia-|cuda-|triton)' || true)
[ -z "$CUDA_PACKAGES" ] || die "CUDA packages were installed after all: ${CUDA_PACKAGES//$'\n'/ }"
check || die "the venv does not import torch $TORCH_VERSION + sentence-transformers $ST_VERSION (see above)"
"$VENV/bin/pip" list --format=freeze 2>/dev/null | grep -i -E '^(torch|sentence[-_]transformers|transformers|tokenizers|huggingface[-_]hub|safetensors|numpy|scipy|scikit[-_]learn)==' | tr '\n' ' '
echo
echo "setup-torch: done, $VENV takes $(du -sh "$VENV" | cut -f1)"
