#!/usr/bin/env bash
# Throwaway PostgreSQL 15 + pgvector cluster for tests and CI.
#   install        apt-install PostgreSQL 15, build pgvector 0.8.x (both skipped when present)
#   start [dir]    fresh cluster; prints its URL as the only line on stdout
#   stop [dir]     stop the cluster and delete its directory
#   url [dir]      URL of the running cluster, or exit 1
# The default dir is per user so two people (or root and a user) never share one.
set -Eeuo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
EXT_DIR=/usr/share/postgresql/15/extension
DB=session_bridge_test
FIRST_PORT=54329 # away from 5432 so a system cluster, if any, is never touched
me=$(basename "$0")
die() { echo "$me: $*" >&2; exit 1; }
say() { echo "$me: $*" >&2; }
# Any unexpected failure still ends in one line that says where.
trap 'die "failed (line $LINENO): $BASH_COMMAND"' ERR

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

# Runs a noisy step with its output kept in a log: silent when it works, and when it
# fails the log tail plus one line naming the step (CI loses files, so show the tail).
quiet() {
  local what=$1 log; shift
  log=$(mktemp /tmp/pg-test-cluster.XXXXXX.log)
  if "$@" >"$log" 2>&1; then rm -f "$log"; return 0; fi
  tail -n 15 "$log" | sed 's/^/  | /' >&2
  die "$what failed (full log: $log)"
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

# The mirror the machine already uses (deb.debian.org or a proxy/snapshot mirror),
# taken from the stanza or line that serves this release, so trixie comes from the same place.
debian_mirror() {
  local codename m
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk -v c="$codename" '$1 == "deb" { sub(/\[[^]]*\] */, ""); if ($3 == c) { print $2; exit } }' || true)
  [ -n "$m" ] || m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v c="$codename" '
    BEGIN { RS = ""; FS = "\n" }
    { u = ""; ok = 0
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); u = a[2] }
        if ($i ~ /^Suites:/ && (" " $i " ") ~ (" " c " ")) ok = 1 }
      if (ok && u != "") { print u; exit } }' || true)
  echo "${PG_TEST_DEBIAN_MIRROR:-${m:-http://deb.debian.org/debian}}"
}

cmd_install() {
  local need=() p
  installed postgresql-15 || need+=(postgresql-15)
  if [ ! -f "$EXT_DIR/vector.control" ]; then
    for p in postgresql-server-dev-15 dpkg-dev build-essential; do installed "$p" || need+=("$p"); done
  fi
  if [ ${#need[@]} -gt 0 ]; then
    say "apt-get install ${need[*]}"
    # The image's package lists may be older than the mirror; stale lists mean 404s.
    quiet "apt-get update" $SUDO apt-get update -q
    quiet "apt-get install ${need[*]}" $SUDO env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends "${need[@]}"
  fi
  if [ -f "$EXT_DIR/vector.control" ]; then
    say "ready: $("$PG_BIN/postgres" --version), pgvector $(sed -n "s/^default_version = '\(.*\)'/\1/p" "$EXT_DIR/vector.control")"
    return
  fi
  # Bookworm has no pgvector; trixie's source package builds fine against PG 15. A private
  # apt config (own sources, lists and cache) fetches just that, leaving the system's apt alone.
  local tmp mirror ver
  tmp=$(mktemp -d /tmp/pg-test-cluster-pgvector.XXXXXX)
  trap "rm -rf '$tmp'" EXIT # expanded now: the local is out of scope when EXIT fires
  mirror=$(debian_mirror)
  mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/src"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$tmp/sources.list"
  # Sandbox user = ourselves: apt's _apt user cannot write into our private 0700 temp dir.
  local apt=(apt-get -q -o "Dir::Etc::SourceList=$tmp/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o "APT::Sandbox::User=$(id -un)")
  say "fetching pgvector source from trixie ($mirror)"
  quiet "apt-get update (trixie sources)" "${apt[@]}" update
  cd "$tmp/src"
  quiet "apt-get source pgvector" "${apt[@]}" source pgvector
  ver=$(ls pgvector_*.dsc | sed 's/^pgvector_\(.*\)-[^-]*\.dsc$/\1/')
  case "$ver" in 0.8.*) ;; *) die "trixie has pgvector $ver, expected 0.8.x" ;; esac
  say "building pgvector $ver"
  # OPTFLAGS="": pgvector's documented portable build; older Makefiles default to -march=native,
  # which can make the .so crash (SIGILL) on a CI runner with a different CPU.
  # with_llvm=no: skip JIT bitcode, which would need a clang matching the server's LLVM.
  local mk=(make -C "$tmp/src/pgvector-$ver" PG_CONFIG="$PG_BIN/pg_config" OPTFLAGS="" with_llvm=no)
  quiet "pgvector build" "${mk[@]}" -j"$(nproc)"
  quiet "pgvector install" $SUDO "${mk[@]}" install
  [ -f "$EXT_DIR/vector.control" ] || die "pgvector installed but $EXT_DIR/vector.control is missing"
  say "ready: $("$PG_BIN/postgres" --version), pgvector $ver"
}

dir_arg() { echo "${1:-/tmp/session-bridge-pg-$(id -un)}"; }
state() { sed -n "s/^$2=//p" "$1/state" 2>/dev/null; }
running() { [ -f "$1/state" ] && "$PG_BIN/pg_isready" -q -h "$1" -p "$(state "$1" PORT)"; }
# initdb and pg_ctl refuse root; as root the cluster belongs to postgres, otherwise to us.
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# Start/stop hold a lock on the parent dir (no lock file to litter), so concurrent starts
# neither pick the same port nor build in the same dir.
lock() { exec 9<"$(dirname "$1")"; flock -w 60 9 || die "timed out waiting for another start/stop"; }

cmd_start() {
  local dir port url
  dir=$(dir_arg "${1:-}")
  [ -x "$PG_BIN/initdb" ] && [ -f "$EXT_DIR/vector.control" ] || die "PostgreSQL 15/pgvector missing: run '$0 install' first"
  lock "$dir"
  running "$dir" && die "a cluster is already running in $dir ($(state "$dir" URL)); run '$0 stop $dir' first"
  rm -rf "$dir" # leftovers of a crashed run
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  # --no-sync: initdb's fsync of every new file was most of start's time, for data we discard.
  quiet "initdb" as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync
  # Throwaway data: durability settings off for speed; 200 connections for parallel servers.
  printf '%s\n' "listen_addresses = '127.0.0.1'" "unix_socket_directories = '$dir'" \
    "fsync = off" "synchronous_commit = off" "full_page_writes = off" "max_connections = 200" |
    as_owner tee -a "$dir/data/postgresql.conf" >/dev/null
  for ((port = FIRST_PORT; port < FIRST_PORT + 100; port++)); do
    # Skip ports something already answers on; a bind race with a non-cluster process
    # still fails the start below, which then just moves to the next port.
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
    rm -f "$dir/log"
    # 9<&-: the postmaster would otherwise inherit the lock fd and hold the lock forever.
    if as_owner "$PG_BIN/pg_ctl" start -w -t 30 -D "$dir/data" -l "$dir/log" -o "-p $port" >/dev/null 2>&1 9<&-; then break; fi
    grep -q 'could not bind\|could not create any TCP' "$dir/log" 2>/dev/null || { tail -n 15 "$dir/log" >&2 || true; die "postgres failed to start (log: $dir/log)"; }
  done
  [ "$port" -lt $((FIRST_PORT + 100)) ] || die "no free port in $FIRST_PORT-$((FIRST_PORT + 99))"
  local psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres)
  # vector in template1 so every CREATE DATABASE (one per test run) already has it.
  quiet "CREATE EXTENSION vector" "${psql[@]}" -d template1 -c 'CREATE EXTENSION IF NOT EXISTS vector'
  quiet "CREATE DATABASE $DB" "${psql[@]}" -d postgres -c "CREATE DATABASE $DB"
  url="postgres://postgres@127.0.0.1:$port/$DB"
  printf 'URL=%s\nPGDATA=%s\nPORT=%s\n' "$url" "$dir/data" "$port" >"$dir/state"
  echo "$url"
}

cmd_stop() {
  local dir
  dir=$(dir_arg "${1:-}")
  [ -d "$dir" ] || return 0
  lock "$dir"
  # Immediate: the data is deleted next, so a shutdown checkpoint is wasted time.
  [ -f "$dir/data/postmaster.pid" ] && as_owner "$PG_BIN/pg_ctl" stop -m immediate -D "$dir/data" >/dev/null 2>&1 || true
  rm -rf "$dir"
}

cmd_url() {
  local dir
  dir=$(dir_arg "${1:-}")
  running "$dir" || exit 1
  state "$dir" URL
}

case "${1:-}" in
  install) cmd_install ;;
  start | stop | url) "cmd_$1" "${2:-}" ;;
  *) die "usage: $0 install | start [dir] | stop [dir] | url [dir]" ;;
esac
