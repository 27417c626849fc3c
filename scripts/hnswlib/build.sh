#!/usr/bin/env bash
# Rebuilds hnswlib-node's addon (node_modules/hnswlib-node) for the CPU of the
# machine it runs on.
#
# hnswlib-node's binding.gyp sets no -march, so node-gyp compiles hnswlib for
# the x86-64 baseline: hnswlib.h turns on its AVX and AVX-512 distance kernels
# only when the compiler defines __AVX__ / __AVX512F__, and without them every
# distance runs on SSE. Built with -march=native instead, the addon gets the
# same kernels as hnswlib's PyPI build (see BENCHMARKS.md, "HNSW against
# hnswlib (Python)").
#
# Usage: bash scripts/hnswlib/build.sh [--portable | --native] [--force] [--quiet]
#
#   (default)   -march=native, then a recall check of the new addon in a fresh
#               node process; if the build or the check fails, falls back to
#               the portable build and says so
#   --portable  no -march: the build npm itself makes
#   --native    -march=native even when TRELLIS_PORTABLE_HNSW=1
#   --force     rebuild even when the addon already matches the request
#   --quiet     print one summary line; the full log is kept in /tmp only when
#               something failed
#
# TRELLIS_PORTABLE_HNSW=1 makes --portable the default. Set it wherever
# node_modules is built on one machine and used on others (container images,
# CI caches, shared volumes): a -march=native addon can die with SIGILL on a
# CPU that lacks an instruction set of the machine that built it.
#
# Before building, search-batch.patch (beside this script) adds one method to
# the addon: searchKnnBatch(Float32Array of n queries, k), which searches all
# n in one call and reads the queries straight from the typed array, where
# searchKnn copies a number[] element by element and answers with two JS
# arrays per query. trellis uses it when the addon has it. A package whose
# source the patch does not fit is built as it is, and says so.
#
# What was built goes to node_modules/hnswlib-node/build/Release/
# trellis-build.json (read by `trellis env`). `node-gyp rebuild`, which npm
# runs when it (re)installs hnswlib-node, deletes build/ and with it that
# record, so a missing record means "npm's portable build".
#
# Paths come from this file's location, never the working directory, so the
# script can run as the root package's postinstall.
#
# Exit status: 0 when a verified addon is in place (native, or portable after a
# fallback), 1 when not even the portable build works or a prerequisite is
# missing, 2 for a usage error.

set -euo pipefail

readonly NAME=hnswlib-node
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly ROOT
readonly PKG="$ROOT/node_modules/hnswlib-node"
readonly ADDON="$PKG/build/Release/addon.node"
readonly RECORD="$PKG/build/Release/trellis-build.json"
readonly PATCH="$ROOT/scripts/hnswlib/search-batch.patch"

usage() { sed -n '/^# Usage:/,/^# TRELLIS_PORTABLE_HNSW=1 makes/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

mode=native
[[ "${TRELLIS_PORTABLE_HNSW:-}" == 1 ]] && mode=portable
force=0
quiet=0
for arg in "$@"; do
  case "$arg" in
    --portable) mode=portable ;;
    --native) mode=native ;;
    --force) force=1 ;;
    --quiet) quiet=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "$NAME build: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

say() { ((quiet)) || echo "[$NAME build] $*"; }
die() { echo "$NAME build: $*" >&2; exit 1; }

# --- prerequisites -----------------------------------------------------------
# Checked up front: node-gyp's own errors for these arrive after a long log.

[[ -f "$PKG/binding.gyp" ]] || die "$PKG not found: run 'npm ci' in $ROOT first"
command -v node >/dev/null || die "node not found on PATH: install Node.js 20+"
cxx="${CXX:-g++}"
command -v "$cxx" >/dev/null || die "C++ compiler '$cxx' not found: install g++ (Debian: apt-get install g++ make python3) or set CXX"
command -v make >/dev/null || die "make not found: install make (Debian: apt-get install make)"
python="${npm_config_python:-${PYTHON:-python3}}"
command -v "$python" >/dev/null || die "Python '$python' not found (node-gyp runs gyp with it): install python3 or set PYTHON"

# npm's lifecycle hands its bundled node-gyp over in npm_config_node_gyp; a
# plain shell has to find the copy inside npm.
gyp_js="${npm_config_node_gyp:-}"
if [[ -z "$gyp_js" || ! -f "$gyp_js" ]] && command -v npm >/dev/null; then
  gyp_js="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
fi
if [[ -f "$gyp_js" ]]; then
  gyp=(node "$gyp_js")
elif command -v node-gyp >/dev/null; then
  gyp=(node-gyp)
else
  die "node-gyp not found (it ships with npm): install npm, or 'npm install -g node-gyp'"
fi

# Without a nodedir, node-gyp downloads headers, and this machine may have no
# route to nodejs.org; the system's headers are the ones npm ci used.
if [[ -z "${npm_config_nodedir:-}" && -f /usr/include/node/node.h ]]; then
  export npm_config_nodedir=/usr
fi
node_version="$(node -p process.versions.node)"
if [[ -n "${npm_config_nodedir:-}" ]]; then
  [[ -f "$npm_config_nodedir/include/node/node.h" ]] ||
    die "no Node headers at $npm_config_nodedir/include/node/node.h (npm_config_nodedir): point npm_config_nodedir at a Node install prefix that has include/node/node.h"
elif [[ ! -f "${npm_config_devdir:-$HOME/.cache/node-gyp}/$node_version/include/node/node.h" ]]; then
  die "no Node $node_version headers (/usr/include/node/node.h or node-gyp's cache): install Node's headers, set npm_config_nodedir to a prefix with include/node/node.h, or run '${gyp[*]} install' once with network access"
fi

compiler="$("$cxx" --version | head -n 1)"

# --- helpers -------------------------------------------------------------------

# The flags recorded and compared: node-gyp's -O level, then what the
# environment and this script add (they come last on the compile line, so they win).
flags_for() { # MODE OLEVEL
  local extra=""
  [[ "$1" == native ]] && extra="-march=native"
  echo "$2${CXXFLAGS:+ $CXXFLAGS}${extra:+ $extra}"
}

# The SIMD macros the compiler defines for FLAGS: they decide which of
# hnswlib's kernels get compiled in.
simd_for() { # FLAGS
  local -a f
  read -ra f <<<"$1"
  local defined simd=() m
  defined="$("$cxx" "${f[@]}" -dM -E -x c++ - </dev/null | grep -oE '__(SSE|AVX|AVX2|AVX512F|FMA)__' || true)"
  for m in SSE AVX AVX2 FMA AVX512F; do
    grep -qx "__${m}__" <<<"$defined" && simd+=("${m,,}")
  done
  echo "${simd[*]}"
}

# hnswlib's widest kernel for those macros (it still checks the CPU at run time).
kernel_for() { # SIMD
  case " $1 " in
    *" avx512f "*) echo AVX-512 ;;
    *" avx "*) echo AVX ;;
    *" sse "*) echo SSE ;;
    *) echo scalar ;;
  esac
}

record_field() { # FIELD
  node -e 'try { const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(r[process.argv[2]] ?? ""); } catch { console.log(""); }' "$RECORD" "$1"
}

# --- already built? ------------------------------------------------------------

# The -O level of node-gyp's Release flags last time; none means nothing
# usable is built.
olevel_now="$(awk '/^CFLAGS_Release/ { on = 1; next } on && !/\\$/ { on = 0 } on' \
  "$PKG/build/addon.target.mk" 2>/dev/null | grep -oE -- '-O[0-9sgz]?' | tail -n 1 || true)"
if ((!force)) && [[ -f "$RECORD" && -f "$ADDON" && -n "$olevel_now" && ! "$ADDON" -nt "$RECORD" ]] &&
  [[ "$(record_field march)" == "$mode" ]] &&
  [[ "$(record_field flags)" == "$(flags_for "$mode" "$olevel_now")" ]] &&
  [[ "$(record_field compiler)" == "$compiler" ]] &&
  [[ "$(record_field searchBatch)" == true ]]; then
  if [[ "$mode" == native ]]; then
    echo "$NAME: already built for this machine ($(record_field flags)); --force rebuilds"
  else
    echo "$NAME: portable build already in place ($(record_field flags)); --force rebuilds"
  fi
  exit 0
fi

# --- build, check, record ------------------------------------------------------

log="$(mktemp /tmp/trellis-hnswlib-build.XXXXXX.log)"
keep_log=0
trap '((keep_log)) || rm -f "$log"' EXIT

reason=""
built_flags=""
search_batch=false

# Applies search-batch.patch once (the source keeps it across rebuilds; npm
# reinstalling the package brings the original back).
patch_source() {
  if grep -q searchKnnBatch "$PKG/src/addon.cc"; then
    search_batch=true
  elif ! command -v patch >/dev/null; then
    say "patch not found (Debian: apt-get install patch): building without searchKnnBatch"
  elif patch --forward --silent -p1 -d "$PKG" <"$PATCH" >>"$log" 2>&1; then
    search_batch=true
    say "applied $(basename "$PATCH") (searchKnnBatch)"
  else
    say "$(basename "$PATCH") does not apply to this hnswlib-node: building without searchKnnBatch"
  fi
}

build() { # MODE
  patch_source
  local extra=""
  [[ "$1" == native ]] && extra="-march=native"
  local add="${extra:+ $extra}"
  say "node-gyp rebuild ($1) in $PKG"
  echo "=== $NAME: node-gyp rebuild ($1), CXXFLAGS='${CXXFLAGS:-}$add'" >>"$log"
  # V=1 makes make echo the compile line, the only proof of the flags the
  # compiler got. npm_config_debug would silently switch to build/Debug.
  local -a cmd=(env -u npm_config_debug V=1
    CXXFLAGS="${CXXFLAGS:-}$add" CFLAGS="${CFLAGS:-}$add" "${gyp[@]}" rebuild)
  local status=0
  if ((quiet)); then
    (cd "$PKG" && "${cmd[@]}") >>"$log" 2>&1 || status=$?
  else
    (cd "$PKG" && "${cmd[@]}") 2>&1 | tee -a "$log" || status=$?
  fi
  if ((status != 0)) || [[ ! -f "$ADDON" ]]; then
    reason="node-gyp rebuild failed with exit $status"
    return 1
  fi
  local line
  line="$(grep -E 'src/addon\.cc' "$log" | grep -E ' -c( |$)' | tail -n 1 || true)"
  if [[ -z "$line" ]]; then
    reason="no compile line for src/addon.cc in the build log"
    return 1
  fi
  if [[ -n "$extra" && " $line " != *" $extra "* ]]; then
    reason="$extra did not reach the compiler"
    return 1
  fi
  local olevel
  olevel="$(grep -oE -- ' -O[0-9sgz]?( |$)' <<<"$line" | tail -n 1 | tr -d ' ' || true)"
  built_flags="$(flags_for "$1" "${olevel:--O?}")"
}

# A small index against brute force in a fresh process: a kernel the CPU cannot
# run dies with SIGILL, and a wrong one shows in recall and distances.
# shellcheck disable=SC2016 # JavaScript, not shell
readonly CHECK_JS='
const addon = require(process.argv[1]);
const dim = 64, n = 2000, nq = 50, k = 10, ef = 100;
let s = 0x9e3779b9;
const rand = () => {
  s = (s + 0x6d2b79f5) | 0;
  let t = Math.imul(s ^ (s >>> 15), 1 | s);
  t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const unit = () => {
  const v = Array.from({ length: dim }, () => rand() * 2 - 1);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
};
const base = Array.from({ length: n }, unit);
const queries = Array.from({ length: nq }, unit);
const index = new addon.HierarchicalNSW("cosine", dim);
index.initIndex(n, 16, 200, 100);
base.forEach((v, i) => index.addPoint(v, i));
index.setEf(ef);
const dot = (a, b) => a.reduce((sum, x, i) => sum + x * b[i], 0);
let hits = 0, worst = 0;
for (const q of queries) {
  const exact = base.map((v, i) => [1 - dot(q, v), i]).sort((a, b) => a[0] - b[0]).slice(0, k).map((p) => p[1]);
  const { neighbors, distances } = index.searchKnn(q, k);
  const got = new Set(neighbors);
  hits += exact.filter((i) => got.has(i)).length;
  neighbors.forEach((i, j) => { worst = Math.max(worst, Math.abs(distances[j] - (1 - dot(q, base[i])))); });
}
let batchMismatches = 0;
if (typeof index.searchKnnBatch === "function") {
  const flat = new Float32Array(nq * dim);
  queries.forEach((q, i) => flat.set(q, i * dim));
  const batch = index.searchKnnBatch(flat, k);
  queries.forEach((q, i) => {
    const one = index.searchKnn(Array.from(flat.subarray(i * dim, (i + 1) * dim)), k);
    one.neighbors.forEach((id, j) => { if (batch.neighbors[i * k + j] !== id) batchMismatches++; });
  });
}
const recall = hits / (nq * k);
console.log(JSON.stringify({ recall, worstDistanceError: worst, batchMismatches }));
process.exit(recall >= 0.95 && worst < 1e-4 && batchMismatches === 0 ? 0 : 3);
'

check_recall=""
check() {
  say "checking $ADDON in a fresh node process"
  echo "=== $NAME: recall check" >>"$log"
  local out status=0
  local -a limit=()
  command -v timeout >/dev/null && limit=(timeout 300)
  out="$(cd "$PKG" && "${limit[@]}" node -e "$CHECK_JS" "$ADDON" 2>>"$log")" || status=$?
  echo "$out" >>"$log"
  check_recall="$(grep -oE '"recall":[0-9.]+' <<<"$out" | cut -d: -f2 || true)"
  case "$status" in
    0) return 0 ;;
    132) reason="the addon died with SIGILL, an instruction this CPU lacks" ;;
    3) reason="wrong results, $out; recall@10 must be >= 0.95 at ef 100 and searchKnnBatch must agree with searchKnn" ;;
    124) reason="the check timed out" ;;
    *) reason="the check failed with exit $status" ;;
  esac
  return 1
}

write_record() { # MODE FALLBACK
  local simd
  simd="$(simd_for "$built_flags")"
  TB_MARCH="$1" TB_FLAGS="$built_flags" TB_COMPILER="$compiler" TB_SIMD="$simd" \
    TB_KERNEL="$(kernel_for "$simd")" TB_RECALL="$check_recall" TB_FALLBACK="$2" TB_SEARCH_BATCH="$search_batch" node -e '
      const e = process.env;
      const record = {
        march: e.TB_MARCH,
        flags: e.TB_FLAGS,
        compiler: e.TB_COMPILER,
        simd: e.TB_SIMD.split(" ").filter(Boolean),
        hnswlibKernel: e.TB_KERNEL,
        checkRecallAt10: Number(e.TB_RECALL),
        searchBatch: e.TB_SEARCH_BATCH === "true",
        ...(e.TB_FALLBACK ? { fallbackFrom: "native", fallbackReason: e.TB_FALLBACK } : {}),
        builtAt: new Date().toISOString(),
      };
      require("fs").writeFileSync(process.argv[1], JSON.stringify(record, null, 2) + "\n");
    ' "$RECORD"
  kernel_for "$simd"
}

if [[ "$mode" == native ]]; then
  if build native && check; then
    kernel="$(write_record native "")"
    echo "$NAME: built for this machine ($built_flags; hnswlib kernels: $kernel), check passed: recall@10 $check_recall at ef 100"
    exit 0
  fi
  keep_log=1
  native_failure="$reason"
  say "native build unusable: $native_failure; rebuilding portable"
fi

if build portable && check; then
  kernel="$(write_record portable "${native_failure:-}")"
  if [[ -n "${native_failure:-}" ]]; then
    echo "$NAME: native build unusable: $native_failure (log: $log); portable build ($built_flags; hnswlib kernels: $kernel) in place instead, check passed: recall@10 $check_recall"
  else
    echo "$NAME: portable build ($built_flags; hnswlib kernels: $kernel), check passed: recall@10 $check_recall at ef 100"
  fi
  exit 0
fi
# shellcheck disable=SC2034 # read by the EXIT trap
keep_log=1
die "portable build unusable too: $reason (log: $log)"
