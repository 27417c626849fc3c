# Shared by setup-torch.sh and setup-train.sh (sourced; they set VENV and PY).

# The requirements a package declares, less extras and the CUDA stack: read
# from the installed metadata so a new pin needs no list edited here.
requirements() {
  "$PY" - "$1" <<'EOF'
import importlib.metadata, re, sys
for r in importlib.metadata.requires(sys.argv[1]) or []:
    spec, _, marker = r.partition(';')
    name = re.match(r'[A-Za-z0-9._-]+', spec).group(0).lower().replace('_', '-')
    if 'extra' in marker or name == 'torch' or re.match(r'(nvidia-|cuda-|triton)', name):
        continue
    print(spec.replace(' ', ''))
EOF
}
# pip reports torch's CUDA requirements as unmet after every install: that
# is the point, so those lines are dropped and anything else is shown.
pip_install() {
  "$VENV/bin/pip" install --quiet "$@" 2>&1 | { grep -v -E "^(ERROR: pip's dependency resolver does not|torch [^ ]+ requires (nvidia-|cuda-|triton))" || true; }
}
