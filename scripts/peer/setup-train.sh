#!/usr/bin/env bash
# Adds sentence-transformers' "train" extra (datasets, accelerate) to the venv
# that scripts/peer/setup-torch.sh made: SentenceTransformerTrainer and
# CrossEncoderTrainer (and the fit() wrappers around them) need both, and
# scripts/peer/st_pipeline.py trains with them. PyPI only.
#
# Both packages go in with --no-deps, then their requirements less torch, for
# the reason setup-torch.sh gives: accelerate requires torch, and a resolver
# run that sees torch would try to add its CUDA stack. The script fails if an
# nvidia-*, cuda-* or triton package ends up installed.
#
# Usage: bash scripts/peer/setup-train.sh [VENV]   (default work/peer/torch-venv)
# Reruns are cheap: nothing is installed when the pinned versions import.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${1:-$ROOT/work/peer/torch-venv}"
DATASETS_VERSION=5.2.0
ACCELERATE_VERSION=1.16.0

die() { echo "setup-train: $*" >&2; exit 1; }
PY="$VENV/bin/python"
[ -x "$PY" ] || die "$VENV has no python; run scripts/peer/setup-torch.sh first"

check() {
  "$PY" - "$DATASETS_VERSION" "$ACCELERATE_VERSION" <<'EOF'
import sys
import accelerate
import datasets
from sentence_transformers import SentenceTransformerTrainer  # noqa: F401 (fails without the extra)
from sentence_transformers.cross_encoder import CrossEncoderTrainer  # noqa: F401
assert datasets.__version__ == sys.argv[1], f'datasets {datasets.__version__}, want {sys.argv[1]}'
assert accelerate.__version__ == sys.argv[2], f'accelerate {accelerate.__version__}, want {sys.argv[2]}'
print(f'datasets {datasets.__version__}, accelerate {accelerate.__version__}')
EOF
}

if check 2>/dev/null; then
  echo "setup-train: $VENV already has the train extra"
  exit 0
fi

. "$(dirname "$0")/pip-lib.sh"

echo "setup-train: installing datasets $DATASETS_VERSION, accelerate $ACCELERATE_VERSION without their dependencies"
"$VENV/bin/pip" install --quiet --no-deps "datasets==$DATASETS_VERSION" "accelerate==$ACCELERATE_VERSION"
DEPS="$(requirements datasets) $(requirements accelerate)"
echo "setup-train: their other dependencies: $(echo $DEPS)"
# shellcheck disable=SC2086 # one requirement per word
pip_install $DEPS

CUDA_PACKAGES=$("$VENV/bin/pip" list --format=freeze 2>/dev/null | grep -i -E '^(nvidia-|cuda-|triton)' || true)
[ -z "$CUDA_PACKAGES" ] || die "CUDA packages were installed after all: $(echo $CUDA_PACKAGES)"
check || die "the venv does not import datasets $DATASETS_VERSION + accelerate $ACCELERATE_VERSION with the trainers (see above)"
echo "setup-train: done, $VENV takes $(du -sh "$VENV" | cut -f1)"
