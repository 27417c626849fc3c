#!/usr/bin/env bash
# Puts the native TensorFlow backend of @tensorflow/tfjs-node@4.22.0 (or, with
# --gpu, @tensorflow/tfjs-node-gpu@4.22.0) in place using package registries
# only.
#
# Why: the packages' own install script downloads libtensorflow from
# storage.googleapis.com. Where only registries are reachable that download
# fails, and `npm ci` then deletes the optional package with all its
# dependencies. tfjs-node 4.22.0 works against libtensorflow 2.18, which the
# registries do serve:
#   - Maven Central, org.tensorflow:tensorflow-core-native:1.1.0, classifier
#     linux-x86_64 (or linux-x86_64-gpu): libtensorflow_cc.so.2 (the C API)
#     and libtensorflow_framework.so.2;
#   - PyPI, tensorflow-cpu==2.18.0: the 14 C headers the addon compiles
#     against (the jars have none). The CPU and GPU builds share the C API,
#     so these headers serve both.
# The libraries and headers go to one cache per machine; the package's
# deps/lib and deps/include become symlinks into it, and the addon is built
# from source with node-pre-gyp (a few seconds).
#
# Usage (from anywhere; acts on this checkout's node_modules):
#   bash scripts/tensorflow/install.sh [--gpu] [--check] [--quiet] [--keep-downloads]
#     --gpu             tfjs-node-gpu with the CUDA build of libtensorflow
#     --check           only report whether the native backend loads (exit 0/1)
#     --quiet           print one summary line (for npm lifecycle hooks); the
#                       full log is kept in /tmp when the run fails
#     --keep-downloads  keep the Maven jar and the PyPI wheel in the cache
#
# Cache: ${TRELLIS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trellis}/tensorflow/2.18.0-{cpu,gpu}
# (CPU: 683 MB of libraries; GPU: about 1.25 GB). A run needs about 0.9 GB
# (CPU) or 1.9 GB (GPU) of free space there while it unpacks.
#
# --gpu is untested on a machine with a GPU (none was available); it is
# correct by construction: the CPU path with the other Maven classifier, whose
# jar holds the same two file names under
# org/tensorflow/internal/c_api/linux-x86_64-gpu/. On a machine without a GPU
# it installs, builds and loads, and runs on the CPU. TensorFlow 2.18 dlopens
# CUDA 12 and cuDNN 9 at run time (nothing CUDA is a link-time dependency), so
# the GPU is used only when those libraries are on the library path.
set -euo pipefail

readonly TFJS_VERSION=4.22.0
readonly TF_VERSION=2.18.0
readonly TF_NATIVE_ARTIFACT=org.tensorflow:tensorflow-core-native:1.1.0
readonly HEADER_WHEEL=tensorflow-cpu==2.18.0
# Pinned so that a cold run resolves the same plugin everywhere.
readonly DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
readonly HEADERS=(
  tensorflow/c/c_api.h tensorflow/c/c_api_macros.h tensorflow/c/tf_attrtype.h
  tensorflow/c/tf_buffer.h tensorflow/c/tf_datatype.h tensorflow/c/tf_status.h
  tensorflow/c/tf_tensor.h tensorflow/c/tf_tstring.h tensorflow/c/eager/c_api.h
  tensorflow/core/platform/ctstring.h tensorflow/core/platform/ctstring_internal.h
  tsl/platform/ctstring.h tsl/platform/ctstring_internal.h xla/tsl/c/tsl_status.h
)
readonly LIBS=(libtensorflow_cc.so.2 libtensorflow_framework.so.2)

variant=cpu check_only=0 quiet=0 keep_downloads=0
for arg in "$@"; do
  case "$arg" in
    --gpu) variant=gpu ;;
    --check) check_only=1 ;;
    --quiet) quiet=1 ;;
    --keep-downloads) keep_downloads=1 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ "$variant" = gpu ]; then
  PKG=@tensorflow/tfjs-node-gpu SIBLING=@tensorflow/tfjs-node CLASSIFIER=linux-x86_64-gpu need_mb=1900
else
  PKG=@tensorflow/tfjs-node SIBLING=@tensorflow/tfjs-node-gpu CLASSIFIER=linux-x86_64 need_mb=900
fi
PKG_DIR=$ROOT/node_modules/$PKG
CACHE_BASE=${TRELLIS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trellis}/tensorflow
CACHE_DIR=$CACHE_BASE/$TF_VERSION-$variant
NAME=${PKG#@tensorflow/}

# --quiet: everything goes to a log; fd 3/4 keep the caller's stdout/stderr
# for the summary line and errors.
exec 3>&1 4>&2
LOG=
if [ "$quiet" = 1 ] && [ "$check_only" = 0 ]; then
  LOG=$(mktemp /tmp/trellis-tensorflow-install.XXXXXX.log)
  exec >"$LOG" 2>&1
fi
stage='' reported=0
cleanup() {
  local rc=$?
  [ -n "$stage" ] && rm -rf "$stage"
  # A failing command (set -e) rather than die(): still one line for the caller.
  if [ "$rc" != 0 ] && [ "$reported" = 0 ]; then
    echo "install.sh: $NAME setup failed (exit $rc)${LOG:+; full log in $LOG}" >&4
  fi
  if [ -n "$LOG" ] && [ "$rc" = 0 ]; then rm -f "$LOG"; fi
}
trap cleanup EXIT

say() { echo "tensorflow: $*"; }
summary() { echo "$NAME: $*" >&3; }
die() {
  [ -n "$LOG" ] && echo "install.sh: $*"
  echo "install.sh: $*${LOG:+ (full log in $LOG)}" >&4
  reported=1
  exit 1
}
# Decimal MB, the unit pip and Maven Central report.
mb() { echo "$(( ($(stat -c %s "$1") + 500000) / 1000000 )) MB"; }
dir_mb() { echo "$(( ($(du -sb "$1" | cut -f1) + 500000) / 1000000 ))"; }

# Loads the package in a fresh node process the way the app does (from the
# repository root) and runs a small matMul. Prints "OK <backend> <TF version>
# <gpu device>" or "FAIL <reason>".
# shellcheck disable=SC2016  # the single-quoted code is JavaScript
probe() {
  (cd "$ROOT" && TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}" node -e '
    let tf;
    try { tf = require(process.argv[1]); } catch (e) { console.log("FAIL " + String(e.message).split("\n")[0]); process.exit(1); }
    const c = Array.from(tf.tensor2d([[1, 2], [3, 4]]).matMul(tf.tensor2d([[5, 6], [7, 8]])).dataSync());
    if (tf.getBackend() !== "tensorflow" || c.join() !== "19,22,43,50") { console.log(`FAIL backend ${tf.getBackend()}, matMul gave ${c}`); process.exit(1); }
    console.log(`OK ${tf.getBackend()} ${tf.backend().binding.TF_Version} ${tf.backend().isUsingGpuDevice ? "gpu" : "cpu"}`);
  ' "$PKG" 2>/dev/null) || true
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  die "node/npm not found on PATH: install Node.js 20 (Debian: apt-get install nodejs)"
fi

if [ "$check_only" = 1 ]; then
  result=$(probe)
  if [[ "$result" == OK* ]]; then
    read -r _ backend version device <<<"$result"
    summary "native backend loads ($backend, libtensorflow $version, on $device)"; exit 0
  fi
  summary "native backend does not load: ${result#FAIL }"; exit 1
fi

# One run at a time per machine: runs share the cache, and a second run of the
# same checkout would race on node_modules.
mkdir -p "$CACHE_BASE"
exec 9>"$CACHE_BASE/.lock"
if command -v flock >/dev/null; then
  flock -n 9 || { say "waiting for another install run to finish"; flock 9; }
fi
# Holding the lock, any *.partial.* directory is left over from an interrupted run.
rm -rf "$CACHE_DIR".partial.*

# A tfjs-node(-gpu) without its addon must not stay installed next to the one
# that works: importing it registers all its kernels for the "tensorflow"
# backend before it fails, so the working package then logs ~170 "kernel
# already registered" warnings and runs with the other package's kernel
# functions. `npm install` of one package installs both (both are optional
# dependencies in the lockfile), and neither can load without its addon.
drop_broken_sibling() {
  local dir=$ROOT/node_modules/$SIBLING
  if [ -d "$dir" ] && ! compgen -G "$dir/lib/napi-v*/tfjs_binding.node" >/dev/null; then
    say "removing $SIBLING from node_modules: it has no native addon (npm ci would drop it too)"
    rm -rf "$dir"
  fi
}

cache_complete() {
  local f
  for f in "${LIBS[@]}"; do [ -s "$CACHE_DIR/lib/$f" ] || return 1; done
  for f in "${HEADERS[@]}"; do [ -s "$CACHE_DIR/include/$f" ] || return 1; done
  [ -f "$CACHE_DIR/SOURCE" ]
}

result=$(probe)
if [[ "$result" == OK* ]]; then
  read -r _ backend version device <<<"$result"
  drop_broken_sibling
  if [ "$(readlink -f "$PKG_DIR/deps/lib/libtensorflow_cc.so.2" 2>/dev/null)" = "$(readlink -f "$CACHE_DIR/lib/libtensorflow_cc.so.2" 2>/dev/null)" ] && cache_complete; then
    say "already in place: $NAME loads libtensorflow $version from $CACHE_DIR"
    summary "native backend already in place (libtensorflow $version, cache $CACHE_DIR)"
  else
    say "$NAME already loads its own libtensorflow $version; nothing to do"
    summary "native backend already loads (libtensorflow $version, its own copy, not this cache); nothing to do"
  fi
  exit 0
fi
say "$NAME does not load yet (${result#FAIL }); setting it up"

# Prerequisites, all checked before anything is downloaded.
need_fill=1; cache_complete && need_fill=0
command -v python3 >/dev/null || die "python3 not found: install Python 3 (Debian: apt-get install python3 python3-pip); node-gyp and the header extraction need it"
if [ "$need_fill" = 1 ]; then
  command -v mvn >/dev/null || die "mvn not found: install Maven (Debian: apt-get install maven); it fetches libtensorflow from Maven Central"
  command -v java >/dev/null || die "java not found: install a JDK (Debian: apt-get install default-jdk-headless); Maven needs it"
  python3 -m pip --version >/dev/null 2>&1 || die "pip not found for python3: install it (Debian: apt-get install python3-pip); it fetches the TensorFlow C headers from PyPI"
  free_mb=$(( $(df -Pk "$CACHE_BASE" | awk 'NR==2 {print $4}') / 1024 ))
  [ "$free_mb" -ge "$need_mb" ] || die "only $free_mb MB free under $CACHE_BASE, need $need_mb MB: free some space or set TRELLIS_CACHE"
fi
command -v "${CXX:-g++}" >/dev/null || die "no C++ compiler (${CXX:-g++}): install one (Debian: apt-get install g++ make)"
command -v make >/dev/null || die "make not found: install it (Debian: apt-get install make)"
# node-gyp run outside npm reads npm_config_* from the environment only, not
# .npmrc, and would otherwise try to download the headers from nodejs.org.
node_version=$(node -p process.versions.node)
if [ -n "${npm_config_nodedir:-}" ]; then
  [ -f "$npm_config_nodedir/include/node/node.h" ] || die "npm_config_nodedir=$npm_config_nodedir has no include/node/node.h: point it at the Node.js headers or unset it"
else
  npmrc_nodedir=$(cd "$ROOT" && npm config get nodedir 2>/dev/null || true)
  gyp_devdir=${npm_config_devdir:-${XDG_CACHE_HOME:-$HOME/.cache}/node-gyp}/$node_version
  if [ -n "$npmrc_nodedir" ] && [ -f "$npmrc_nodedir/include/node/node.h" ]; then
    export npm_config_nodedir=$npmrc_nodedir
  elif [ -f /usr/include/node/node.h ]; then
    export npm_config_nodedir=/usr
  elif [ ! -f "$gyp_devdir/include/node/node.h" ]; then
    die "Node.js headers not found (no /usr/include/node/node.h, no $gyp_devdir): install the headers of Node $node_version (NodeSource's nodejs package has them) or set npm_config_nodedir"
  fi
fi

# 1. The npm package. `npm ci` deletes it here (its install script fails), so
# bring it back without running that script. --no-save leaves package.json and
# package-lock.json as they are: both packages are in the lockfile already.
pre_gyp() { (cd "$PKG_DIR" && node -p 'require.resolve("@mapbox/node-pre-gyp/bin/node-pre-gyp")' 2>/dev/null); }
if [ ! -f "$PKG_DIR/package.json" ] || ! pre_gyp >/dev/null; then
  say "installing $PKG@$TFJS_VERSION into node_modules (npm install --no-save --ignore-scripts)"
  (cd "$ROOT" && npm install --no-save --ignore-scripts --no-audit --no-fund "$PKG@$TFJS_VERSION") \
    || die "npm could not install $PKG@$TFJS_VERSION (see npm's error above or in the log)"
fi
drop_broken_sibling
installed=$(node -p "require('$PKG_DIR/package.json').version")
[ "$installed" = "$TFJS_VERSION" ] || die "$PKG is $installed in node_modules, this script supports $TFJS_VERSION (libtensorflow $TF_VERSION): install $PKG@$TFJS_VERSION"

# 2. The cache. Filled in a staging directory next to it and renamed into place
# as a whole, so an interrupted run never leaves a half-filled cache behind.
if [ "$need_fill" = 1 ]; then
  t0=$SECONDS
  rm -rf "$CACHE_DIR"
  stage=$(mktemp -d "$CACHE_DIR.partial.XXXXXX")
  chmod 755 "$stage"
  mkdir -p "$stage/include" "$stage/lib"

  # --no-cache-dir: otherwise pip keeps a second copy of the 230 MB wheel in ~/.cache/pip.
  say "downloading $HEADER_WHEEL from PyPI for its C headers (wheel about 230 MB)"
  python3 -m pip download --no-deps --no-cache-dir --only-binary=:all: \
    --platform manylinux_2_17_x86_64 --python-version 3.11 --implementation cp \
    -d "$stage/wheel" "$HEADER_WHEEL" \
    || die "pip could not download $HEADER_WHEEL (check pip's index and proxy settings: pip config list)"
  wheel=$(compgen -G "$stage/wheel/tensorflow_cpu-$TF_VERSION-*.whl" | head -n1 || true)
  [ -n "$wheel" ] || die "pip reported success but left no tensorflow_cpu-$TF_VERSION wheel in $stage/wheel"
  say "extracting ${#HEADERS[@]} headers from $(basename "$wheel") ($(mb "$wheel"))"
  python3 - "$wheel" "tensorflow/include/" "$stage/include" "${HEADERS[@]}" <<'PY'
import os, shutil, sys, zipfile
archive, prefix, dest, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
with zipfile.ZipFile(archive) as z:
    for name in names:
        target = os.path.join(dest, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(prefix + name) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
PY

  # A throwaway local repository: with ~/.m2 the jar would be stored twice
  # (repository + cache). The price is re-fetching the dependency plugin
  # (a few MB) on each cold run, which happens once per machine.
  say "downloading $TF_NATIVE_ARTIFACT:$CLASSIFIER from Maven Central (jar $( [ "$variant" = gpu ] && echo 527 || echo 161 ) MB)"
  # Maven 3.8 -q still prints colour resets, and without -q one line per plugin
  # file: its output is shown only when it fails.
  if ! mvn -B -C -Dmaven.repo.local="$stage/m2" "$DEPENDENCY_PLUGIN:get" \
      -Dartifact="$TF_NATIVE_ARTIFACT:jar:$CLASSIFIER" -Dtransitive=false >"$stage/mvn.log" 2>&1; then
    grep -E 'ERROR|BUILD' "$stage/mvn.log" | head -n 20
    die "Maven could not fetch $TF_NATIVE_ARTIFACT:jar:$CLASSIFIER (see the errors above; check ~/.m2/settings.xml mirrors/proxies)"
  fi
  IFS=: read -r group artifact version <<<"$TF_NATIVE_ARTIFACT"
  jar=$stage/m2/${group//.//}/$artifact/$version/$artifact-$version-$CLASSIFIER.jar
  [ -s "$jar" ] || die "Maven reported success but $jar is missing"
  say "extracting ${LIBS[*]} from $(basename "$jar") ($(mb "$jar"))"
  python3 - "$jar" "org/tensorflow/internal/c_api/$CLASSIFIER/" "$stage/lib" "${LIBS[@]}" <<'PY'
import os, shutil, sys, zipfile
archive, prefix, dest, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
with zipfile.ZipFile(archive) as z:
    for name in names:
        target = os.path.join(dest, name)
        with z.open(prefix + name) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        os.chmod(target, 0o755)
PY

  if [ "$keep_downloads" = 1 ]; then
    mkdir -p "$stage/downloads" && mv "$jar" "$wheel" "$stage/downloads/"
  fi
  rm -rf "$stage/m2" "$stage/wheel" "$stage/mvn.log"
  printf '%s\n' "libtensorflow $TF_VERSION ($variant) for $PKG@$TFJS_VERSION" \
    "lib/: $TF_NATIVE_ARTIFACT:jar:$CLASSIFIER (Maven Central)" \
    "include/: $HEADER_WHEEL (PyPI)" >"$stage/SOURCE"
  mv -T "$stage" "$CACHE_DIR"
  stage=
  say "cache filled in $((SECONDS - t0)) s: $CACHE_DIR ($(dir_mb "$CACHE_DIR") MB)"
else
  say "using cached libtensorflow $TF_VERSION ($variant) in $CACHE_DIR ($(dir_mb "$CACHE_DIR") MB)"
fi

# 3. deps/ as the package expects it, as symlinks into the cache. The addon
# is linked with -ltensorflow/-ltensorflow_framework (binding.gyp) but records
# the SONAMEs, libtensorflow_cc.so.2 and libtensorflow_framework.so.2, and finds
# them through its RUNPATH $ORIGIN/../../deps/lib; the names scripts/install.js
# checks (libtensorflow.so.<its version>) make a later `npm rebuild` skip its
# download. Symlinks are fine for the loader: $ORIGIN belongs to the addon,
# which stays a real file inside the package.
say "linking $PKG/deps to the cache"
# shellcheck disable=SC2016
read -r deps_tf dest_tf deps_fw dest_fw < <(node -e '
  const c = require(process.argv[1]);
  console.log(c.depsLibTensorFlowName, c.destLibTensorFlowName, c.depsLibTensorFlowFrameworkName, c.destLibTensorFlowFrameworkName);
' "$PKG_DIR/scripts/deps-constants.js")
rm -rf "$PKG_DIR/deps"
mkdir -p "$PKG_DIR/deps/lib"
ln -s "$CACHE_DIR/include" "$PKG_DIR/deps/include"
for name in libtensorflow_cc.so.2 libtensorflow.so.2 "$deps_tf" "$dest_tf"; do
  ln -sfn "$CACHE_DIR/lib/libtensorflow_cc.so.2" "$PKG_DIR/deps/lib/$name"
done
for name in libtensorflow_framework.so.2 "$deps_fw" "$dest_fw"; do
  ln -sfn "$CACHE_DIR/lib/libtensorflow_framework.so.2" "$PKG_DIR/deps/lib/$name"
done

# 4. The addon. --build-from-source skips node-pre-gyp's attempt to fetch a
# prebuilt addon from storage.googleapis.com.
t0=$SECONDS
say "building the native addon with node-gyp (npm_config_nodedir=${npm_config_nodedir:-node-gyp cache})"
rm -rf "$PKG_DIR"/lib/napi-v*
(cd "$PKG_DIR" && npm_config_loglevel="${npm_config_loglevel:-warn}" node "$(pre_gyp)" install --build-from-source --loglevel=warn) \
  || die "building the $NAME addon failed (compiler errors above or in the log)"
addon=$(compgen -G "$PKG_DIR/lib/napi-v*/tfjs_binding.node" | head -n1 || true)
[ -n "$addon" ] || die "node-pre-gyp finished but built no lib/napi-v*/tfjs_binding.node in $PKG_DIR"
say "built ${addon#"$ROOT"/} in $((SECONDS - t0)) s"

# 5. Proof that it works, in a fresh process.
result=$(probe)
[[ "$result" == OK* ]] || die "$NAME still does not load after the build: ${result#FAIL }"
read -r _ backend version device <<<"$result"
say "verified: backend $backend, libtensorflow $version, matMul on $device"
summary "native backend installed (libtensorflow $version from $CACHE_DIR, backend $backend on $device)"
