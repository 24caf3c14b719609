#!/usr/bin/env bash
# Runs every RoomSignal test suite: .NET unit + integration (real Kestrel, real redis-server),
# multi-process cluster tests, the JS protocol tests and the browser tests in headless Chromium.
# Installs what a fresh Debian machine lacks (redis-server, chromium, npm packages) first.
# Exit code: 0 only when every suite passed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/test-output"
mkdir -p "$OUT"
START=$(date +%s)

step() { printf '\n==> [%4ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }
die() { echo "error: $*" >&2; exit 2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $*"; fi
}

# --- 1. prerequisites (idempotent) -------------------------------------------------------------
step "checking prerequisites"
command -v dotnet >/dev/null || die "the .NET 10 SDK is required (https://dot.net); dotnet is not on PATH"
missing=()
command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
  step "installing ${missing[*]} with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$OUT/apt.log" 2>&1 \
    || { tail -20 "$OUT/apt.log"; die "apt-get install ${missing[*]} failed"; }
fi

step "installing client-js npm packages"
if [ ! -d client-js/node_modules ] || [ client-js/package-lock.json -nt client-js/node_modules/.package-lock.json ]; then
  (cd client-js && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in client-js"
else
  echo "client-js/node_modules is up to date"
fi

# --- 2. build once -----------------------------------------------------------------------------
step "building RoomSignal.sln (Release)"
dotnet build RoomSignal.sln -c Release -nologo -clp:ErrorsOnly -v:q || die "build failed"

# --- 3. run every suite, keep going on failure, total up --------------------------------------
passed=0; failed=0; skipped=0; failures=()

run_dotnet_suite() {
  local project=$1 log="$OUT/$(basename "$1").log"
  step "dotnet test $project"
  dotnet test "$project" -c Release --no-build -nologo --logger "console;verbosity=minimal" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  # The summary line looks like: "Passed!  - Failed:     0, Passed:    41, Skipped:     0, Total: ..."
  local line; line=$(grep -E 'Failed: +[0-9]+, Passed: +[0-9]+' "$log" | tail -1)
  if [ -n "$line" ]; then
    passed=$((passed + $(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$line")))
    failed=$((failed + $(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$line")))
    skipped=$((skipped + $(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$line")))
  fi
  if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
    failures+=("$project")
    [ -z "$line" ] && failed=$((failed + 1))
  fi
}

for project in tests/RoomSignal.Server.Tests tests/RoomSignal.Redis.Tests tests/RoomSignal.Cluster.Tests; do
  run_dotnet_suite "$project"
done

step "client-js: protocol and browser tests (node --test)"
js_log="$OUT/client-js.log"
(cd client-js && npm test) 2>&1 | tee "$js_log"
js_rc=${PIPESTATUS[0]}
js_pass=$(grep -E '^# pass [0-9]+' "$js_log" | tail -1 | awk '{print $3}')
js_fail=$(grep -E '^# fail [0-9]+' "$js_log" | tail -1 | awk '{print $3}')
js_skip=$(grep -E '^# skipped [0-9]+' "$js_log" | tail -1 | awk '{print $3}')
passed=$((passed + ${js_pass:-0})); failed=$((failed + ${js_fail:-0})); skipped=$((skipped + ${js_skip:-0}))
if [ "$js_rc" -ne 0 ] || [ -z "$js_pass" ]; then
  failures+=("client-js")
  [ -z "$js_fail" ] && failed=$((failed + 1))
fi

step "done in $(( $(date +%s) - START )) s; logs in test-output/"
[ ${#failures[@]} -gt 0 ] && echo "failing suites: ${failures[*]}"
echo "total: $passed passed, $failed failed, $skipped skipped"
[ ${#failures[@]} -eq 0 ] && [ "$failed" -eq 0 ]
