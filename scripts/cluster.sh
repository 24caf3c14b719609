#!/usr/bin/env bash
# A RoomSignal cluster on this machine from local binaries, all on loopback:
#   redis-server, K RoomSignal nodes (dotnet), coturn (TURN with a shared secret), nginx in front.
#
#   scripts/cluster.sh up [--port N] [--nodes K]   start (nginx on 127.0.0.1:N, default 8080; K nodes, default 2)
#   scripts/cluster.sh status                       what runs, and whether each node and the front are ready
#   scripts/cluster.sh logs [NAME]                  the last lines of every log (or of NAME: redis, node1, nginx, coturn...)
#   scripts/cluster.sh down                         stop everything `up` started (by PID), nothing else
#
# Every RoomSignal__... variable in the environment passes through to every node, e.g.
#   RoomSignal__Limits__MaxConnections=5000 RoomSignal__Metrics__Prometheus=true scripts/cluster.sh up
# State (PIDs, logs, generated configs) lives in $ROOMSIGNAL_CLUSTER_DIR (default .cluster/ in the repository).
# Ports: nginx N; nodes N+1..N+K; redis N+100; coturn N+200 (UDP and TCP).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${ROOMSIGNAL_CLUSTER_DIR:-$ROOT/.cluster}
DLL=${ROOMSIGNAL_SERVER_DLL:-$ROOT/src/RoomSignal.Server/bin/Release/net10.0/RoomSignal.Server.dll}
READY_TIMEOUT=${ROOMSIGNAL_CLUSTER_READY_TIMEOUT:-90}

die() { echo "cluster: $*" >&2; exit 1; }
say() { echo "cluster: $*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root to run: $*"; fi
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

alive() { [ -f "$STATE/pids/$1.pid" ] && kill -0 "$(cat "$STATE/pids/$1.pid")" 2>/dev/null; }

http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1" 2>/dev/null || true; }

ensure_installed() {
  local missing=()
  command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  command -v turnserver >/dev/null || [ -x /usr/bin/turnserver ] || missing+=(coturn)
  command -v curl >/dev/null || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
    say "installing ${missing[*]} with apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v dotnet >/dev/null || die "the .NET 10 SDK (dotnet) is required to run the nodes"
  if [ ! -f "$DLL" ]; then
    say "building the server (dotnet build -c Release)"
    dotnet build "$ROOT/src/RoomSignal.Server" -c Release -nologo -clp:ErrorsOnly -v:q || die "build failed"
  fi
}

# start NAME COMMAND...: runs COMMAND in the background with its output in logs/NAME.log and its PID in pids/NAME.pid.
start() {
  local name=$1; shift
  nohup "$@" >"$STATE/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/pids/$name.pid"
}

write_nginx_conf() {
  local port=$1 nodes=$2 i
  mkdir -p "$STATE/nginx"
  "$ROOT/deploy/render-nginx-conf.sh" "127.0.0.1:$port" "$STATE" $(for i in $(seq 1 "$nodes"); do echo "127.0.0.1:$((port + i))"; done) \
    >"$STATE/nginx/nginx.conf" || die "could not render the nginx config"
}

wait_ready() {
  local port=$1 nodes=$2 deadline=$(( $(date +%s) + READY_TIMEOUT )) i pending
  while :; do
    pending=()
    for i in $(seq 1 "$nodes"); do
      if ! alive "node$i"; then
        # The free-port check at the start cannot see a client socket that holds the port as its local end.
        grep -q 'address already in use' "$STATE/logs/node$i.log" 2>/dev/null \
          && die "port $((port + i)) on 127.0.0.1 is in use (node$i could not bind it); choose another --port"
        die "node$i exited while starting; see $STATE/logs/node$i.log:$(echo; tail -20 "$STATE/logs/node$i.log")"
      fi
      [ "$(http_status "http://127.0.0.1:$((port + i))/readyz")" = 200 ] || pending+=("node$i")
    done
    [ ${#pending[@]} -eq 0 ] && [ "$(http_status "http://127.0.0.1:$port/readyz")" = 200 ] && return 0
    [ "$(date +%s)" -ge "$deadline" ] && die "not ready after ${READY_TIMEOUT}s: ${pending[*]:-nginx}; see scripts/cluster.sh logs"
    sleep 0.5
  done
}

cmd_up() {
  local port=8080 nodes=2
  while [ $# -gt 0 ]; do
    case $1 in
      --port) port=${2:?--port needs a number}; shift 2 ;;
      --nodes) nodes=${2:?--nodes needs a number}; shift 2 ;;
      *) die "unknown option $1 (up takes --port N and --nodes K)" ;;
    esac
  done
  [[ $port =~ ^[0-9]+$ && $nodes =~ ^[0-9]+$ && $nodes -ge 1 ]] || die "--port and --nodes take positive numbers"
  if ls "$STATE"/pids/*.pid >/dev/null 2>&1; then
    for f in "$STATE"/pids/*.pid; do alive "$(basename "$f" .pid)" && die "already running (see scripts/cluster.sh status); run down first"; done
  fi
  local redis_port=$((port + 100)) turn_port=$((port + 200)) p
  for p in "$port" $(seq $((port + 1)) $((port + nodes))) "$redis_port" "$turn_port"; do
    port_busy "$p" && die "port $p on 127.0.0.1 is in use; choose another --port"
  done
  ensure_installed
  # Only what an earlier up left here: ROOMSIGNAL_CLUSTER_DIR may point at a directory with other files in it.
  rm -rf "$STATE/pids" "$STATE/logs" "$STATE/nginx" "$STATE/topology" "$STATE/coturn.pid"
  mkdir -p "$STATE/pids" "$STATE/logs" "$STATE/nginx/tmp"
  # A failed up leaves nothing running: otherwise the next up finds it and refuses with "already running".
  trap 'rc=$?; [ $rc -eq 0 ] || { echo "cluster: up failed; stopping what it started" >&2; cmd_down >&2; }' EXIT
  echo "$port $nodes" >"$STATE/topology"
  local secret; secret=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')

  say "redis-server on 127.0.0.1:$redis_port"
  start redis redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$STATE"

  say "coturn on 127.0.0.1:$turn_port (use-auth-secret)"
  start coturn turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port="$turn_port" \
    --min-port=$((40000 + (port % 1000) * 20)) --max-port=$((40000 + (port % 1000) * 20 + 19)) \
    --use-auth-secret --static-auth-secret="$secret" --realm=roomsignal --fingerprint \
    --no-tls --no-dtls --no-cli --log-file=stdout --simple-log --pidfile="$STATE/coturn.pid"

  # A published server has its wwwroot beside the dll; a build output serves the project's own wwwroot.
  local i content_root
  content_root=$(dirname "$DLL")
  [ -f "$content_root/wwwroot/index.html" ] || content_root=$ROOT/src/RoomSignal.Server
  for i in $(seq 1 "$nodes"); do
    say "node$i on 127.0.0.1:$((port + i))"
    start "node$i" env \
      RoomSignal__Redis__Configuration="127.0.0.1:$redis_port" \
      RoomSignal__NodeId="node$i" \
      RoomSignal__Ice__StunUrls__0="stun:127.0.0.1:$turn_port" \
      RoomSignal__Ice__TurnUrls__0="turn:127.0.0.1:$turn_port" \
      RoomSignal__Ice__TurnSecret="$secret" \
      DOTNET_ENVIRONMENT="${DOTNET_ENVIRONMENT:-Production}" \
      dotnet "$DLL" --urls "http://127.0.0.1:$((port + i))" --contentRoot "$content_root"
  done

  write_nginx_conf "$port" "$nodes"
  nginx -t -q -c "$STATE/nginx/nginx.conf" -p "$STATE/nginx" 2>"$STATE/logs/nginx-check.log" \
    || die "nginx rejected the generated config: $(cat "$STATE/logs/nginx-check.log")"
  say "nginx on 127.0.0.1:$port"
  start nginx nginx -c "$STATE/nginx/nginx.conf" -p "$STATE/nginx"

  say "waiting for /readyz on every node and behind nginx (up to ${READY_TIMEOUT}s)"
  wait_ready "$port" "$nodes"
  say "ready: http://127.0.0.1:$port/  (nodes: $(seq -s ' ' $((port + 1)) $((port + nodes))); redis $redis_port; turn $turn_port)"
  echo "http://127.0.0.1:$port/"
}

cmd_down() {
  [ -d "$STATE/pids" ] || { say "nothing to stop"; return 0; }
  local f name pid i
  # nginx first (no new clients), then the nodes (each tells its rooms they left), coturn, redis last.
  for name in nginx $(ls "$STATE/pids" | sed -n 's/^\(node[0-9]*\)\.pid$/\1/p') coturn redis; do
    f="$STATE/pids/$name.pid"
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      if kill -0 "$pid" 2>/dev/null; then say "$name ($pid) ignored SIGTERM for 20 s; killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
      say "stopped $name ($pid)"
    fi
    rm -f "$f"
  done
}

cmd_status() {
  [ -f "$STATE/topology" ] || { say "not running (no $STATE/topology)"; return 1; }
  local port nodes rc=0 f name
  read -r port nodes <"$STATE/topology"
  ls "$STATE"/pids/*.pid >/dev/null 2>&1 || { say "not running"; return 1; }
  for f in "$STATE"/pids/*.pid; do
    [ -f "$f" ] || continue
    name=$(basename "$f" .pid)
    if alive "$name"; then printf '%-8s pid %-7s running' "$name" "$(cat "$f")"; else printf '%-8s pid %-7s DEAD' "$name" "$(cat "$f")"; rc=1; fi
    case $name in
      node*) printf '  /readyz %s' "$(http_status "http://127.0.0.1:$((port + ${name#node}))/readyz")" ;;
      nginx) printf '  front http://127.0.0.1:%s/ /readyz %s' "$port" "$(http_status "http://127.0.0.1:$port/readyz")" ;;
    esac
    echo
  done
  return $rc
}

cmd_logs() {
  [ -d "$STATE/logs" ] || die "no logs in $STATE"
  local f
  for f in "$STATE"/logs/${1:-*}.log; do
    [ -f "$f" ] || die "no log named ${1:-}"
    echo "==> $(basename "$f") <=="
    tail -n "${LINES_PER_LOG:-30}" "$f"
  done
}

case ${1:-} in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
