#!/usr/bin/env bash
# trellis local Neo4j: start | stop | status.
#
# Runs Neo4j 5.26 LTS Community embedded (scripts/neo4j/src/main/java/...)
# with the Bolt connector on 127.0.0.1:7687 and auth disabled. The launcher is
# built with Maven the first time (Maven Central only). Everything it writes
# lives under work/neo4j/ (git ignores work/):
#   work/neo4j/launcher/   build output and the runtime classpath
#   work/neo4j/home/       the store (data/) and Neo4j's logs (logs/)
#   work/neo4j/neo4j.pid   the JVM's pid while it runs
#   work/neo4j/neo4j.log   the launcher's stdout and stderr
#
# Environment: NEO4J_PORT (default 7687), NEO4J_HEAP (default 2g),
# NEO4J_START_TIMEOUT in seconds (default 120).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$ROOT/work/neo4j"
LAUNCHER="$WORK/launcher"
JAR="$LAUNCHER/target/trellis-neo4j-launcher.jar"
CLASSPATH_FILE="$LAUNCHER/classpath.txt"
HOME_DIR="$WORK/home"
PID_FILE="$WORK/neo4j.pid"
LOG_FILE="$WORK/neo4j.log"
HOST=127.0.0.1
PORT="${NEO4J_PORT:-7687}"
HEAP="${NEO4J_HEAP:-2g}"
TIMEOUT="${NEO4J_START_TIMEOUT:-120}"
URI="bolt://$HOST:$PORT"

say() { printf 'neo4j: %s\n' "$*"; }
die() { printf 'neo4j: error: %s\n' "$*" >&2; exit 1; }

# True when a Bolt server answers the handshake on HOST:PORT: send the magic
# preamble and four proposed versions (5.0-5.4, 4.4, 4.0-4.4, 3.0), expect a
# non-zero 4-byte version back.
bolt_answers() {
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "\x60\x60\xb0\x17\x00\x04\x04\x05\x00\x00\x04\x04\x00\x04\x04\x04\x00\x00\x00\x03" >&3
    reply=$(head -c 4 <&3 | od -An -tx1 | tr -d " \n")
    exec 3>&-
    [[ ${#reply} -eq 8 && $reply != 00000000 ]]
  ' "$HOST" "$PORT" 2>/dev/null
}

running_pid() {
  [[ -f $PID_FILE ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

build() {
  if [[ -f $JAR && -f $CLASSPATH_FILE && $JAR -nt $HERE/pom.xml && $JAR -nt $HERE/src/main/java/dev/trellis/neo4j/Launcher.java ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn is not installed (apt-get install maven)."
  command -v java >/dev/null || die "java is not installed (apt-get install openjdk-17-jdk-headless)."
  say "building the launcher (mvn -q package; the first build downloads Neo4j from Maven Central)"
  # Maven's console prints colour resets even with -q -B; strip them (pipefail keeps mvn's exit code).
  (cd "$HERE" && mvn -q -B package 2>&1 | sed -e $'s/\x1b\\[[0-9;]*m//g' -e '/^$/d') || die "the Maven build failed (see the output above)."
}

start() {
  local pid
  if pid="$(running_pid)"; then
    if bolt_answers; then
      say "already running (pid $pid) on $URI"
      return 0
    fi
  elif bolt_answers; then
    say "a Bolt server not started by this script already answers on $URI; using it"
    return 0
  fi
  if [[ -z ${pid:-} ]]; then
    build
    mkdir -p "$HOME_DIR"
    # The --add-opens flags are the ones Neo4j's own launcher passes on Java 17.
    nohup java -Xms256m "-Xmx$HEAP" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
      -Dfile.encoding=UTF-8 \
      --add-opens=java.base/java.nio=ALL-UNNAMED \
      --add-opens=java.base/java.io=ALL-UNNAMED \
      --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
      --add-opens=java.base/java.lang=ALL-UNNAMED \
      --add-exports=java.base/sun.nio.ch=ALL-UNNAMED \
      -cp "$JAR:$(cat "$CLASSPATH_FILE")" dev.trellis.neo4j.Launcher "$HOME_DIR" "$HOST" "$PORT" \
      >"$LOG_FILE" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PID_FILE"
    say "starting (pid $pid, heap $HEAP, log $LOG_FILE)"
  fi
  local waited=0
  until [[ -f $HOME_DIR/ready ]] && bolt_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      tail -n 20 "$LOG_FILE" >&2 || true
      die "the server exited during start-up (log: $LOG_FILE)."
    fi
    if (( waited >= TIMEOUT )); then
      die "Bolt did not answer on $URI within ${TIMEOUT} s (pid $pid still running; log: $LOG_FILE). Stop it with 'npm run neo4j:stop'."
    fi
    sleep 1
    waited=$((waited + 1))
  done
  say "ready on $URI (auth disabled; NEO4J_URI=$URI)"
  echo "$URI"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    say "not running"
    return 0
  fi
  kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if (( waited >= 60 )); then
      say "still running after 60 s; sending SIGKILL to pid $pid"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 1
    waited=$((waited + 1))
  done
  rm -f "$PID_FILE" "$HOME_DIR/ready"
  say "stopped (pid $pid)"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    if bolt_answers; then
      say "running (pid $pid) on $URI"
    else
      say "process $pid is up but Bolt does not answer on $URI yet"
      return 1
    fi
  elif bolt_answers; then
    say "no server started by this script, but Bolt answers on $URI"
  else
    say "not running"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  build) build ;;
  *) echo "usage: scripts/neo4j/neo4j.sh start|stop|status|build" >&2; exit 2 ;;
esac
