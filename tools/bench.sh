#!/usr/bin/env bash
# Reruns the benchmark set of docs/benchmarks.md and prints its tables (tools/bench-report.mjs).
#
#   tools/bench.sh [SECTION...]     sections: relay-pair transport-pair cluster-pair cluster-floor redis-io-pair protocol-pair relay ceiling product ladder join churn
#                                   idle idle-gc idle-floor connect connect-restart (default: all); diagnostics: idle-gcdump churn-gcdump;
#                                   before/after of a code change: BASELINE_DIR=<copy of an earlier server build> ... build-pair
#                                   (one node, with ceiling-best) or build-pair-cluster (two nodes + Redis)
#
# Every server runs as a child process on a free loopback port: RoomSignal on one node, two nodes
# sharing a private redis-server, and the ceiling relay (tools/RoomSignal.LoadTest ceiling). Every run
# is bounded (--max-seconds) and repeated REPEAT times (default 3; the tables show the median).
# JSON summaries land in bench-results/<UTC time>/ (or $BENCH_OUT). Run it with nothing else on the machine:
#   tools/bench.sh relay   (on a quiet machine: nothing else running)
# Needs the Release build (dotnet build RoomSignal.sln -c Release), redis-server and node.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
REPEAT=${REPEAT:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-2}
OUT=${BENCH_OUT:-$ROOT/bench-results/$(date -u +%Y%m%dT%H%M%SZ)}
TOOL="$ROOT/tools/RoomSignal.LoadTest/bin/Release/net10.0/RoomSignal.LoadTest.dll"
SERVER_DIR="$ROOT/src/RoomSignal.Server/bin/Release/net10.0"
SECTIONS=${*:-relay-pair transport-pair cluster-pair cluster-floor redis-io-pair protocol-pair relay ceiling product ladder join churn idle idle-gc idle-floor connect connect-restart}
# Some sections are groups of parts that can also run alone: `relay` is relay-1node relay-2nodes relay-ceiling,
# `join` is join-1node join-2nodes join-ceiling, `idle` is idle idle-2nodes. Give parts run separately the same
# BENCH_OUT and the report covers them all.
SECTIONS=$(echo " $SECTIONS " | sed -e 's/ relay / relay-1node relay-2nodes relay-ceiling /' -e 's/ join / join-1node join-2nodes join-ceiling /' -e 's/ idle / idle idle-2nodes /')
mkdir -p "$OUT"
[ -f "$TOOL" ] && [ -f "$SERVER_DIR/RoomSignal.Server.dll" ] || { echo "build first: dotnet build RoomSignal.sln -c Release" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "redis-server is required" >&2; exit 2; }
command -v node >/dev/null || { echo "node is required (for the report)" >&2; exit 2; }

. "$ROOT/tools/bench-lib.sh" # free_port, wait_port, start_redis, CEILING_BEST_ENV (the ceiling's best, with --inline)

pids=(); variant_pids=()
cleanup() { local pid; for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
started=$(date +%s)
log() { printf '[bench %4ss] %s\n' "$(( $(date +%s) - started ))" "$*" >&2; }

stop() { local pid; for pid in "$@"; do kill "$pid" 2>/dev/null; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; done; } # local: callers keep their $p (port)

# VARIANT=NAME with PRODUCT_EXTRA_ENV="..." runs the relay-1node / relay-2nodes sections under other server
# settings and labels them relay/product-1node-NAME (e.g. VARIANT=workstation-gc PRODUCT_EXTRA_ENV=DOTNET_gcServer=0).
# Product settings for every run: the defaults of appsettings.json, except the per-address connection
# cap (all load comes from 127.0.0.x), the per-connection invocation and join rates (a closed-loop
# driver pushes one connection far past the 200/s a browser needs) and, for idle/connect, a connection
# cap just under the descriptor limit this machine allows (ulimit -n 20000 for the server and driver).
start_product() { # NAME PORT [REDIS_PORT] (env: PRODUCT_EXTRA_ENV) -> sets LAST_PID
  local env=(RoomSignal__Limits__MaxConnectionsPerIp=0
             RoomSignal__Limits__InvocationsPerSecond=1000000 RoomSignal__Limits__InvocationBurst=10000000
             RoomSignal__Limits__JoinsPerSecond=1000000 RoomSignal__Limits__JoinBurst=10000000
             ${PRODUCT_EXTRA_ENV:-})
  [ -n "${3:-}" ] && env+=("RoomSignal__Redis__Configuration=127.0.0.1:$3" "RoomSignal__NodeId=$1")
  (cd "${PRODUCT_DIR:-$SERVER_DIR}" && exec env "${env[@]}" dotnet RoomSignal.Server.dll --urls "http://127.0.0.1:$2") >"$OUT/$1.log" 2>&1 &
  LAST_PID=$!; pids+=("$LAST_PID"); wait_port "$2"
}
need_baseline() { # SECTION: the build-pair sections run BASELINE_DIR's build against the current one
  [ -f "${BASELINE_DIR:-}/RoomSignal.Server.dll" ] || { echo "$1 needs BASELINE_DIR=<a copy of an earlier Release build of the server>" >&2; exit 2; }
}
start_ceiling() { # NAME PORT [ceiling args...] (env: CEILING_ENV) -> sets LAST_PID
  local name=$1 port=$2; shift 2
  env ${CEILING_ENV:-} dotnet "$TOOL" ceiling --listen "http://127.0.0.1:$port" "$@" >"$OUT/$name.log" 2>&1 &
  LAST_PID=$!; pids+=("$LAST_PID"); wait_port "$port"
}
run() { # LABEL -- tool args...
  local label=$1; shift 2
  local i
  for i in $(seq "$REPEAT"); do
    local file="$OUT/${label//\//_}.$i.json"
    timeout 600 dotnet "$TOOL" "$@" --label "$label" >"$file" 2>"$file.err"
    log "$label #$i: $(node -e 'const s=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));const r=s.results;const l=r.latency||r.result_latency||r.connect_latency||r.join_latency||{};console.log(`ok=${s.ok} ${r.delivered_per_s??r.joins_per_s??r.cycles_per_s??r.connections_per_s}/s p99=${l.p99_ms}ms server=${s.cpu.server_us_per_msg}us total=${s.cpu.total_us_per_msg}us driver=${s.cpu.driver_cores} cores ${s.problems.join("; ")}`)' "$file" 2>/dev/null || echo "no summary: $(tail -2 "$file.err")")"
  done
}

RELAY=(relay --rooms 50 --peers 4 --duration "$DURATION" --warmup "$WARMUP" --max-seconds 120)
# A fresh server spends its first seconds in the JIT (tiered compilation with PGO: dotnet-counters showed
# ~0.45 s of JIT per second 6 s into a run), so every server gets WARM_SECONDS of relay before it is measured.
# Cluster nodes take longer: with JitDisasmSummary on, a node of two still promoted the relay path's
# methods to tier 1 (about 1,100 methods) between 22 and 32 s into a 2,500 msg/s run, so relay-2nodes
# warms for WARM_SECONDS_CLUSTER (45 s: the first measured run is then no slower than the others).
WARM_SECONDS=${WARM_SECONDS:-10}
WARM_SECONDS_CLUSTER=${WARM_SECONDS_CLUSTER:-45}
warm() { # URLS [driver args...], e.g. --protocol messagepack
  local urls=$1; shift
  timeout 120 dotnet "$TOOL" "${RELAY[@]}" --mode open --rate 5000 --urls "$urls" --duration "${WARM:-$WARM_SECONDS}" --warmup 0 "$@" >/dev/null 2>&1 || log "warm-up against $urls failed"
}
warm_join() { # URLS: a discarded join and churn run, so the measured ones do not pay for the JIT
  timeout 60 dotnet "$TOOL" join --rooms 100 --peers 10 --rate 500 --urls "$1" --max-seconds 50 >/dev/null 2>&1 || log "join warm-up against $1 failed"
  timeout 60 dotnet "$TOOL" churn --cycles 2000 --urls "$1" --max-seconds 50 >/dev/null 2>&1
}
# The two relay loads every set measures: open5000 (a fixed 5,000 msg/s) and closed (2 in flight per peer).
mode_args() { case $1 in open5000) echo --mode open --rate 5000 ;; closed) echo --mode closed --window 2 ;; esac; }
relay_set() { # LABEL_PREFIX URLS PIDS [REDIS]
  local redis_arg=() mode; [ -n "${4:-}" ] && redis_arg=(--redis "127.0.0.1:$4")
  warm "$2"
  for mode in open5000 closed; do
    run "$1/$mode" -- "${RELAY[@]}" $(mode_args "$mode") --urls "$2" --server-pids "$3" "${redis_arg[@]}"
  done
}

# interleave LABEL_PREFIX "NAME=URLS=PIDS[=REDIS[=DRIVER_ARGS]] ...": every target's runs taken in turn (A B C A B C ...),
# so a machine whose speed drifts over minutes (this VM's did by 20% within half an hour) moves every target alike and
# the ratios between them hold. DRIVER_ARGS: more load tool arguments joined by commas (--protocol,messagepack).
# Labels: LABEL_PREFIX/NAME/open5000/i and LABEL_PREFIX/NAME/closed/i.
interleave() {
  local prefix=$1 i mode t name urls tpids redis args extra; shift
  for i in $(seq "$REPEAT"); do
    for mode in open5000 closed; do
      for t in "$@"; do
        IFS='=' read -r name urls tpids redis args <<<"$t"
        extra=(); [ -n "$redis" ] && extra=(--redis "127.0.0.1:$redis")
        [ -n "$args" ] && extra+=(${args//,/ })
        REPEAT=1 run "$prefix/$name/$mode/$i" -- "${RELAY[@]}" $(mode_args "$mode") --urls "$urls" --server-pids "$tpids" "${extra[@]}"
      done
    done
  done
}

for section in $SECTIONS; do
  log "section $section"
  case $section in
    relay-pair)
      # The targets' ratios, interleaved: one node as shipped, the ceiling's best at 5,000 msg/s (inline scheduling,
      # inline completions, no spinning) and the ceiling's defaults (its best at the closed-loop maximum).
      p=$(free_port); start_product node1 "$p"; a=$LAST_PID; warm "ws://127.0.0.1:$p/hubs/room"
      cb=$(free_port); CEILING_ENV="$CEILING_BEST_ENV" start_ceiling ceiling-best "$cb" --inline; c1=$LAST_PID; warm "ws://127.0.0.1:$cb/hubs/room"
      pd=$(free_port); CEILING_ENV="" start_ceiling ceiling-default "$pd"; c2=$LAST_PID; warm "ws://127.0.0.1:$pd/hubs/room"
      interleave pair "product-1node=ws://127.0.0.1:$p/hubs/room=$a" "ceiling-best=ws://127.0.0.1:$cb/hubs/room=$c1" "ceiling-default=ws://127.0.0.1:$pd/hubs/room=$c2"
      stop "$a" "$c1" "$c2"
      ;;
    transport-pair)
      # The direct WebSocket transport and inline I/O (RoomSignal:Transport), each alone, both (as shipped) and neither
      # (as shipped before them), against the ceiling's best, interleaved. TRANSPORT_VARIANTS="NAME=ENV ..." replaces the
      # four (ENV: space-free assignments joined by commas).
      variants=()
      for v in ${TRANSPORT_VARIANTS:-before=RoomSignal__Transport__DirectWebSockets=false,RoomSignal__Transport__InlineIO=false direct-only=RoomSignal__Transport__InlineIO=false inline-only=RoomSignal__Transport__DirectWebSockets=false shipped=}; do
        p=$(free_port); PRODUCT_EXTRA_ENV="$(echo "${v#*=}" | tr ',' ' ')" start_product "node-${v%%=*}" "$p"; warm "ws://127.0.0.1:$p/hubs/room"
        variants+=("${v%%=*}=ws://127.0.0.1:$p/hubs/room=$LAST_PID"); variant_pids+=("$LAST_PID")
      done
      # CEILING_VARIANTS="NAME=ENV ..." adds ceilings with more settings on top of ceiling-best's (same format).
      for v in ceiling-best= ${CEILING_VARIANTS:-}; do
        cb=$(free_port); CEILING_ENV="$CEILING_BEST_ENV $(echo "${v#*=}" | tr ',' ' ')" start_ceiling "${v%%=*}" "$cb" --inline; warm "ws://127.0.0.1:$cb/hubs/room"
        variants+=("${v%%=*}=ws://127.0.0.1:$cb/hubs/room=$LAST_PID"); variant_pids+=("$LAST_PID")
      done
      interleave transport "${variants[@]}"
      stop "${variant_pids[@]}"
      ;;
    build-pair)
      # Before/after of a code change: one node of an earlier build (BASELINE_DIR: a copy of that build's
      # src/RoomSignal.Server/bin/Release/net10.0) against one of the current build, and ceiling-best, interleaved.
      need_baseline build-pair
      p=$(free_port); PRODUCT_DIR=$BASELINE_DIR start_product node-baseline "$p"; a=$LAST_PID; warm "ws://127.0.0.1:$p/hubs/room"
      p2=$(free_port); start_product node-current "$p2"; b=$LAST_PID; warm "ws://127.0.0.1:$p2/hubs/room"
      cb=$(free_port); CEILING_ENV="$CEILING_BEST_ENV" start_ceiling ceiling-best "$cb" --inline; c1=$LAST_PID; warm "ws://127.0.0.1:$cb/hubs/room"
      interleave build "baseline=ws://127.0.0.1:$p/hubs/room=$a" "current=ws://127.0.0.1:$p2/hubs/room=$b" "ceiling-best=ws://127.0.0.1:$cb/hubs/room=$c1"
      stop "$a" "$b" "$c1"
      ;;
    build-pair-cluster)
      # The same for two nodes + Redis: a cluster of the BASELINE_DIR build against one of the current build, each with
      # its own redis-server, interleaved (every pair across nodes).
      need_baseline build-pair-cluster
      start_redis redis-baseline; rb=$REDIS_PORT; xb=$REDIS_PID
      p1=$(free_port); PRODUCT_DIR=$BASELINE_DIR start_product nodeA-baseline "$p1" "$rb"; a1=$LAST_PID
      p2=$(free_port); PRODUCT_DIR=$BASELINE_DIR start_product nodeB-baseline "$p2" "$rb"; a2=$LAST_PID
      WARM=$WARM_SECONDS_CLUSTER warm "ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room"
      start_redis redis-current; rc=$REDIS_PORT; xc=$REDIS_PID
      p3=$(free_port); start_product nodeA-current "$p3" "$rc"; b1=$LAST_PID
      p4=$(free_port); start_product nodeB-current "$p4" "$rc"; b2=$LAST_PID
      WARM=$WARM_SECONDS_CLUSTER warm "ws://127.0.0.1:$p3/hubs/room,ws://127.0.0.1:$p4/hubs/room"
      interleave cbuild "baseline=ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room=$a1,$a2=$rb" \
        "current=ws://127.0.0.1:$p3/hubs/room,ws://127.0.0.1:$p4/hubs/room=$b1,$b2=$rc"
      stop "$a1" "$a2" "$b1" "$b2" "$xb" "$xc"
      ;;
    cluster-pair)
      # Two nodes + Redis (every pair across nodes) against one node, interleaved.
      p=$(free_port); start_product node1 "$p"; a=$LAST_PID; warm "ws://127.0.0.1:$p/hubs/room"
      start_redis; p1=$(free_port); start_product nodeA "$p1" "$REDIS_PORT"; na=$LAST_PID
      p2=$(free_port); start_product nodeB "$p2" "$REDIS_PORT"; nb=$LAST_PID
      WARM=$WARM_SECONDS_CLUSTER warm "ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room"
      interleave cpair "product-1node=ws://127.0.0.1:$p/hubs/room=$a" "product-2nodes=ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room=$na,$nb=$REDIS_PORT"
      stop "$a" "$na" "$nb" "$REDIS_PID"
      ;;
    protocol-pair)
      # The SignalR MessagePack hub protocol against JSON, on the same servers, interleaved: one node, the ceiling's best
      # (it speaks both) and two nodes + Redis (every pair across nodes). Each server is warmed with both protocols.
      mp=--protocol,messagepack # DRIVER_ARGS of the MessagePack targets
      p=$(free_port); start_product node1 "$p"; a=$LAST_PID
      warm "ws://127.0.0.1:$p/hubs/room"; warm "ws://127.0.0.1:$p/hubs/room" --protocol messagepack
      cb=$(free_port); CEILING_ENV="$CEILING_BEST_ENV" start_ceiling ceiling-best "$cb" --inline; c1=$LAST_PID
      warm "ws://127.0.0.1:$cb/hubs/room"; warm "ws://127.0.0.1:$cb/hubs/room" --protocol messagepack
      start_redis; p1=$(free_port); start_product nodeA "$p1" "$REDIS_PORT"; na=$LAST_PID
      p2=$(free_port); start_product nodeB "$p2" "$REDIS_PORT"; nb=$LAST_PID
      cluster="ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room"
      WARM=$((WARM_SECONDS_CLUSTER / 2)) warm "$cluster"; WARM=$((WARM_SECONDS_CLUSTER / 2)) warm "$cluster" --protocol messagepack
      interleave protocol "json-1node=ws://127.0.0.1:$p/hubs/room=$a" "msgpack-1node=ws://127.0.0.1:$p/hubs/room=$a==$mp" \
        "json-ceiling=ws://127.0.0.1:$cb/hubs/room=$c1" "msgpack-ceiling=ws://127.0.0.1:$cb/hubs/room=$c1==$mp" \
        "json-2nodes=$cluster=$na,$nb=$REDIS_PORT" "msgpack-2nodes=$cluster=$na,$nb=$REDIS_PORT=$mp"
      stop "$a" "$c1" "$na" "$nb" "$REDIS_PID"
      ;;
    cluster-floor)
      # What a cross-node message costs at the least on this stack: two ceiling nodes relaying through their own Redis
      # (the ceiling's --redis mode: one channel per node, one PUBLISH per cross-node relay) with ceiling-best's settings
      # and with its defaults, against one ceiling node, one RoomSignal node and two RoomSignal nodes, interleaved
      # (every pair across nodes).
      p=$(free_port); start_product node1 "$p"; a=$LAST_PID; warm "ws://127.0.0.1:$p/hubs/room"
      start_redis redis-product; rp=$REDIS_PORT; xp=$REDIS_PID
      p1=$(free_port); start_product nodeA "$p1" "$rp"; na=$LAST_PID
      p2=$(free_port); start_product nodeB "$p2" "$rp"; nb=$LAST_PID
      WARM=$WARM_SECONDS_CLUSTER warm "ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room"
      cb=$(free_port); CEILING_ENV="$CEILING_BEST_ENV" start_ceiling ceiling-best "$cb" --inline; c1=$LAST_PID; warm "ws://127.0.0.1:$cb/hubs/room"
      targets=(); variant_pids=()
      for name in best default; do
        if [ "$name" = best ]; then cenv=$CEILING_BEST_ENV; cargs=--inline; else cenv=; cargs=; fi
        start_redis "redis-ceiling-$name"; rc=$REDIS_PORT; variant_pids+=("$REDIS_PID")
        q1=$(free_port); CEILING_ENV="$cenv" start_ceiling "ceiling-$name-a" "$q1" $cargs --redis "127.0.0.1:$rc" --node a; variant_pids+=("$LAST_PID"); qa=$LAST_PID
        q2=$(free_port); CEILING_ENV="$cenv" start_ceiling "ceiling-$name-b" "$q2" $cargs --redis "127.0.0.1:$rc" --node b; variant_pids+=("$LAST_PID"); qb=$LAST_PID
        WARM=$WARM_SECONDS_CLUSTER warm "ws://127.0.0.1:$q1/hubs/room,ws://127.0.0.1:$q2/hubs/room"
        targets+=("ceiling-2nodes-$name=ws://127.0.0.1:$q1/hubs/room,ws://127.0.0.1:$q2/hubs/room=$qa,$qb=$rc")
      done
      interleave cfloor "product-1node=ws://127.0.0.1:$p/hubs/room=$a" "ceiling-best=ws://127.0.0.1:$cb/hubs/room=$c1" \
        "product-2nodes=ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room=$na,$nb=$rp" "${targets[@]}"
      stop "$a" "$na" "$nb" "$xp" "$c1" "${variant_pids[@]}"
      ;;
    redis-io-pair)
      # Two clusters of two nodes (each with its own Redis), every pair across nodes, interleaved: Redis socket I/O on
      # the thread pool (what ships) against StackExchange.Redis's own threads (RoomSignal:Redis:SocketManager=Dedicated).
      start_redis redis-threadpool; r1=$REDIS_PORT; rp1=$REDIS_PID
      p1=$(free_port); start_product nodeA "$p1" "$r1"; a=$LAST_PID
      p2=$(free_port); start_product nodeB "$p2" "$r1"; b=$LAST_PID
      start_redis redis-dedicated; r2=$REDIS_PORT; rp2=$REDIS_PID
      p3=$(free_port); PRODUCT_EXTRA_ENV=RoomSignal__Redis__SocketManager=Dedicated start_product nodeC "$p3" "$r2"; c=$LAST_PID
      p4=$(free_port); PRODUCT_EXTRA_ENV=RoomSignal__Redis__SocketManager=Dedicated start_product nodeD "$p4" "$r2"; d=$LAST_PID
      WARM=$WARM_SECONDS_CLUSTER warm "ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room"
      WARM=$WARM_SECONDS_CLUSTER warm "ws://127.0.0.1:$p3/hubs/room,ws://127.0.0.1:$p4/hubs/room"
      interleave iopair "threadpool=ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room=$a,$b=$r1" \
        "dedicated=ws://127.0.0.1:$p3/hubs/room,ws://127.0.0.1:$p4/hubs/room=$c,$d=$r2"
      stop "$a" "$b" "$c" "$d" "$rp1" "$rp2"
      ;;
    relay-1node)
      p=$(free_port); start_product node1 "$p"; a=$LAST_PID
      relay_set "relay/product-1node${VARIANT:+-$VARIANT}" "ws://127.0.0.1:$p/hubs/room" "$a"
      stop "$a"
      ;;
    relay-2nodes)
      start_redis; p1=$(free_port); start_product nodeA "$p1" "$REDIS_PORT"; a=$LAST_PID
      p2=$(free_port); start_product nodeB "$p2" "$REDIS_PORT"; b=$LAST_PID
      WARM=$WARM_SECONDS_CLUSTER relay_set "relay/product-2nodes${VARIANT:+-$VARIANT}" "ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room" "$a,$b" "$REDIS_PORT"
      stop "$a" "$b" "$REDIS_PID"
      ;;
    relay-ceiling)
      p=$(free_port); CEILING_ENV="$CEILING_BEST_ENV" start_ceiling ceiling "$p" --inline; c=$LAST_PID
      relay_set relay/ceiling-best "ws://127.0.0.1:$p/hubs/room" "$c"
      stop "$c"
      ;;
    ceiling)
      # One setting at a time against the defaults (no inline scheduling, batching on, workstation GC).
      # CEILING_VARIANTS="default servergc" runs only those (one variant takes about 70 s).
      for variant in "default||" "inline|--inline|" "inline+completions|--inline|DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1" \
                     "no-batch|--batch false|" "servergc|--inline|DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 DOTNET_gcServer=1" \
                     "nonconcurrent-gc|--inline|DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 DOTNET_gcConcurrent=0" \
                     "spin0|--inline|$CEILING_BEST_ENV" \
                     "default+spin0||DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0" \
                     "servergc-nodatas|--inline|DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 DOTNET_gcServer=1 DOTNET_GCDynamicAdaptationMode=0"; do
        IFS='|' read -r name args envs <<<"$variant"
        [ -n "${CEILING_VARIANTS:-}" ] && [[ " $CEILING_VARIANTS " != *" $name "* ]] && continue
        p=$(free_port); CEILING_ENV="$envs" start_ceiling "ceiling-$name" "$p" $args; c=$LAST_PID
        relay_set "ceiling/$name" "ws://127.0.0.1:$p/hubs/room" "$c"
        stop "$c"
      done
      ;;
    product)
      # The server's own settings, one at a time against what ships (appsettings.json / runtimeconfig).
      # PRODUCT_VARIANTS="shipped spinning" runs only those (one variant takes about 70 s). What ships includes the
      # runtimeconfig's UnfairSemaphoreSpinLimit=0 and GC DynamicAdaptationMode=0; `spinning` and `datas` each put
      # back the runtime's default (the environment variables override the runtimeconfig).
      for variant in "shipped|" "spinning|DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=70" "datas|DOTNET_GCDynamicAdaptationMode=1" \
                     "inline|Kestrel__Sockets__UnsafePreferInlineScheduling=true" \
                     "inline+completions|Kestrel__Sockets__UnsafePreferInlineScheduling=true DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1" \
                     "workstation-nonconcurrent-gc|DOTNET_gcServer=0 DOTNET_gcConcurrent=0" \
                     "all|Kestrel__Sockets__UnsafePreferInlineScheduling=true DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 DOTNET_gcServer=0 DOTNET_gcConcurrent=0"; do
        IFS='|' read -r name envs <<<"$variant"
        [ -n "${PRODUCT_VARIANTS:-}" ] && [[ " $PRODUCT_VARIANTS " != *" $name "* ]] && continue
        p=$(free_port); PRODUCT_EXTRA_ENV="$envs" start_product "product-$name" "$p"; a=$LAST_PID
        relay_set "product/$name" "ws://127.0.0.1:$p/hubs/room" "$a"
        stop "$a"
      done
      ;;
    ladder)
      # Latency against offered load (LADDER_REPEAT runs per point, default 3, the median plotted) for the plot.
      saved=$REPEAT; REPEAT=${LADDER_REPEAT:-3}
      p=$(free_port); start_product node1 "$p"; a=$LAST_PID; warm "ws://127.0.0.1:$p/hubs/room"
      for rate in 1000 2500 5000 7500 10000 12500 15000 20000; do
        run "ladder/product-1node/$rate" -- "${RELAY[@]}" --mode open --rate "$rate" --urls "ws://127.0.0.1:$p/hubs/room" --server-pids "$a"
      done
      stop "$a"
      start_redis; p1=$(free_port); start_product nodeA "$p1" "$REDIS_PORT"; a=$LAST_PID
      p2=$(free_port); start_product nodeB "$p2" "$REDIS_PORT"; b=$LAST_PID
      WARM=$WARM_SECONDS_CLUSTER warm "ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room"
      for rate in 1000 2500 5000 7500 10000 12500 15000; do
        run "ladder/product-2nodes/$rate" -- "${RELAY[@]}" --mode open --rate "$rate" --urls "ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room" --server-pids "$a,$b" --redis "127.0.0.1:$REDIS_PORT"
      done
      stop "$a" "$b" "$REDIS_PID"
      p=$(free_port); CEILING_ENV="$CEILING_BEST_ENV" start_ceiling ceiling "$p" --inline; c=$LAST_PID; warm "ws://127.0.0.1:$p/hubs/room"
      for rate in 1000 2500 5000 7500 10000 12500 15000 20000; do
        run "ladder/ceiling-best/$rate" -- "${RELAY[@]}" --mode open --rate "$rate" --urls "ws://127.0.0.1:$p/hubs/room" --server-pids "$c"
      done
      stop "$c"
      REPEAT=$saved
      ;;
    join-1node)
      p=$(free_port); start_product node1 "$p"; a=$LAST_PID; warm_join "ws://127.0.0.1:$p/hubs/room"
      run join/product-1node -- join --rooms 100 --peers 10 --rate 500 --urls "ws://127.0.0.1:$p/hubs/room" --server-pids "$a" --max-seconds 60
      stop "$a"
      ;;
    join-2nodes)
      start_redis; p1=$(free_port); start_product nodeA "$p1" "$REDIS_PORT"; a=$LAST_PID
      p2=$(free_port); start_product nodeB "$p2" "$REDIS_PORT"; b=$LAST_PID; warm_join "ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room"
      run join/product-2nodes -- join --rooms 100 --peers 10 --rate 500 --urls "ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room" --server-pids "$a,$b" --redis "127.0.0.1:$REDIS_PORT" --max-seconds 60
      stop "$a" "$b" "$REDIS_PID"
      ;;
    join-ceiling)
      # The same joins against the ceiling (rooms and events written by hand, no SignalR): the latency floor
      # of this box and driver, to tell the server's share of the join tail from the machine's.
      p=$(free_port); CEILING_ENV="$CEILING_BEST_ENV" start_ceiling ceiling-join "$p" --inline; c=$LAST_PID
      warm_join "ws://127.0.0.1:$p/hubs/room"
      run join/ceiling-best -- join --rooms 100 --peers 10 --rate 500 --urls "ws://127.0.0.1:$p/hubs/room" --server-pids "$c" --max-seconds 60
      stop "$c"
      ;;
    churn)
      # Fresh nodes (and Redis) for every repetition, as for idle: "memory back to its baseline" compares a run's
      # own before and after, and a second run on the same nodes would start from the first one's high-water mark.
      for i in $(seq "$REPEAT"); do
        p=$(free_port); start_product node1 "$p"; a=$LAST_PID; warm_join "ws://127.0.0.1:$p/hubs/room"
        REPEAT=1 run "churn/product-1node/$i" -- churn --cycles 10000 --actors 64 --rooms 16 --urls "ws://127.0.0.1:$p/hubs/room" --server-pids "$a" --duration 90 --max-seconds 150
        stop "$a"
      done
      for i in $(seq "$REPEAT"); do
        start_redis; p1=$(free_port); start_product nodeA "$p1" "$REDIS_PORT"; a=$LAST_PID
        p2=$(free_port); start_product nodeB "$p2" "$REDIS_PORT"; b=$LAST_PID; warm_join "ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room"
        REPEAT=1 run "churn/product-2nodes/$i" -- churn --cycles 10000 --actors 64 --rooms 16 --urls "ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room" --server-pids "$a,$b" --redis "127.0.0.1:$REDIS_PORT" --duration 90 --max-seconds 150
        stop "$a" "$b" "$REDIS_PID"
      done
      ;;
    churn-gcdump)
      # Is what churn leaves behind kept? The same node (CHURN_NODES=2: two nodes and Redis) churned REPEAT times, a
      # heap dump (dotnet-gcdump, which forces a full GC first) of each node before and after every run: the live heap
      # against the RSS. Not a measured run (the dumps' collections change the RSS that follows); logs one line each.
      export PATH="$PATH:$HOME/.dotnet/tools"
      command -v dotnet-gcdump >/dev/null || { echo "churn-gcdump needs dotnet-gcdump (dotnet tool install -g dotnet-gcdump)" >&2; exit 2; }
      if [ "${CHURN_NODES:-1}" = 2 ]; then
        start_redis; p1=$(free_port); start_product nodeA "$p1" "$REDIS_PORT"; a=$LAST_PID
        p2=$(free_port); start_product nodeB "$p2" "$REDIS_PORT"; b=$LAST_PID
        urls="ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room"; cpids="$a,$b"; tag=2nodes
      else
        p=$(free_port); start_product node1 "$p"; a=$LAST_PID; urls="ws://127.0.0.1:$p/hubs/room"; cpids="$a"; tag=1node
      fi
      warm_join "$urls"
      dump_all() { # NAME: live heap of every node, then their RSS
        local q line=""
        for q in ${cpids//,/ }; do
          dotnet-gcdump collect -p "$q" -o "$OUT/churn-$tag-$1-$q.gcdump" >/dev/null 2>&1
          line+="$(dotnet-gcdump report "$OUT/churn-$tag-$1-$q.gcdump" 2>/dev/null | head -1 | tr -s ' ')"
        done
        log "churn-gcdump $tag $1: live heap$line; RSS after the dump $(for q in ${cpids//,/ }; do awk '/VmRSS/{printf "%d ", $2/1024}' "/proc/$q/status"; done)MiB"
      }
      dump_all baseline
      for i in $(seq "$REPEAT"); do
        REPEAT=1 run "diag/churn-gcdump-$tag/$i" -- churn --cycles 10000 --actors 64 --rooms 16 --urls "$urls" --server-pids "$cpids" --duration 90 --max-seconds 150
        dump_all "after-run-$i"
      done
      stop ${cpids//,/ }
      [ "$tag" = 2nodes ] && stop "$REDIS_PID"
      ;;
    idle)
      N=${IDLE_CONNECTIONS:-19000}
      for i in $(seq "$REPEAT"); do # a fresh server each time, so the baseline is a fresh process
        p=$(free_port); PRODUCT_EXTRA_ENV="RoomSignal__Limits__MaxConnections=$((N + 200))" start_product node1 "$p"; a=$LAST_PID
        REPEAT=1 run "idle/product-1node/$i" -- idle --connections "$N" --room-size 4 --hold 20 --settle 5 --urls "ws://127.0.0.1:$p/hubs/room" --server-pids "$a" --max-seconds 180
        stop "$a"
        p=$(free_port); start_ceiling ceiling-idle "$p" --inline; c=$LAST_PID
        REPEAT=1 run "idle/ceiling/$i" -- idle --connections "$N" --room-size 4 --hold 20 --settle 5 --urls "ws://127.0.0.1:$p/hubs/room" --server-pids "$c" --max-seconds 180
        stop "$c"
      done
      ;;
    idle-floor)
      # The idle memory floor of the stack under RoomSignal: the ceiling with --lean (no buffer held by an idle
      # connection, so what is left is Kestrel, its WebSockets and a minimal room state), served through Kestrel's HTTP
      # layer (ceiling-lean-*) and by a connection handler below it (--raw: ceiling-lean-raw-*), under the tool's GC
      # (workstation, non-concurrent) and under the product's (server GC, DATAS off), each REPEAT times, fresh.
      N=${IDLE_CONNECTIONS:-19000}
      for stack in lean= lean-raw=--raw; do
        for variant in workstation=DOTNET_gcServer=0 servergc=DOTNET_gcServer=1,DOTNET_GCDynamicAdaptationMode=0; do
          for i in $(seq "$REPEAT"); do
            p=$(free_port); CEILING_ENV="$(echo "${variant#*=}" | tr ',' ' ')" start_ceiling "ceiling-${stack%%=*}" "$p" --inline --lean ${stack#*=}; c=$LAST_PID
            REPEAT=1 run "idle/ceiling-${stack%%=*}-${variant%%=*}/$i" -- idle --connections "$N" --room-size 4 --hold 20 --settle 5 --urls "ws://127.0.0.1:$p/hubs/room" --server-pids "$c" --max-seconds 180
            stop "$c"
          done
        done
      done
      ;;
    idle-gc)
      # Idle memory under the GC settings the product's runtimeconfig could ship instead of server GC
      # (the Web SDK's default): IDLE_VARIANTS picks some (default: all), each run REPEAT times on a fresh node.
      N=${IDLE_CONNECTIONS:-19000}
      for variant in ${IDLE_VARIANTS:-servergc workstation workstation-nonconcurrent servergc-conserve workstation-conserve}; do
        case $variant in
          servergc) envs="" ;;
          workstation) envs="DOTNET_gcServer=0" ;;
          workstation-nonconcurrent) envs="DOTNET_gcServer=0 DOTNET_gcConcurrent=0" ;;
          servergc-conserve) envs="DOTNET_GCConserveMemory=5" ;;
          workstation-conserve) envs="DOTNET_gcServer=0 DOTNET_GCConserveMemory=5" ;;
          *) envs="$IDLE_ENV" ;; # any other name: the settings in IDLE_ENV
        esac
        for i in $(seq "$REPEAT"); do
          p=$(free_port); PRODUCT_EXTRA_ENV="RoomSignal__Limits__MaxConnections=$((N + 200)) $envs" start_product node1 "$p"; a=$LAST_PID
          REPEAT=1 run "idle/product-1node-$variant/$i" -- idle --connections "$N" --room-size 4 --hold 20 --settle 5 --urls "ws://127.0.0.1:$p/hubs/room" --server-pids "$a" --max-seconds 180
          stop "$a"
        done
      done
      ;;
    idle-gcdump)
      # Where an idle connection's memory goes: N idle connections as in `idle`, and once they are joined and
      # settled a heap dump by type (dotnet-gcdump, which forces a full GC first), the GC's own figures and the
      # process's memory map totals. Not a measured run: the dump's GC changes the RSS that follows.
      N=${IDLE_CONNECTIONS:-19000}
      export PATH="$PATH:$HOME/.dotnet/tools"
      command -v dotnet-gcdump >/dev/null || { echo "idle-gcdump needs dotnet-gcdump (dotnet tool install -g dotnet-gcdump)" >&2; exit 2; }
      p=$(free_port); PRODUCT_EXTRA_ENV="RoomSignal__Limits__MaxConnections=$((N + 200)) ${IDLE_ENV:-}" start_product node1 "$p"; a=$LAST_PID
      err="$OUT/diag_idle-gcdump${VARIANT:+-$VARIANT}.1.json.err"; rm -f "$err"
      REPEAT=1 run "diag/idle-gcdump${VARIANT:+-$VARIANT}" -- idle --connections "$N" --room-size 4 --hold 60 --settle 5 --urls "ws://127.0.0.1:$p/hubs/room" --server-pids "$a" --max-seconds 180 &
      driver=$!
      for _ in $(seq 900); do grep -q 'connections open in' "$err" 2>/dev/null && break; sleep 0.2; done
      sleep 35 # the joins (about 20 s for 19,000) and the settle time
      dump="$OUT/idle${VARIANT:+-$VARIANT}.gcdump"
      cp "/proc/$a/smaps_rollup" "$OUT/idle${VARIANT:+-$VARIANT}.smaps_rollup.txt"
      dotnet-gcdump collect -p "$a" -o "$dump" >/dev/null 2>&1 && dotnet-gcdump report "$dump" >"$dump.txt" 2>&1
      cp "/proc/$a/smaps_rollup" "$OUT/idle${VARIANT:+-$VARIANT}.smaps_rollup-after-gc.txt"
      log "heap dump: $dump.txt ($(head -3 "$dump.txt" | tr '\n' ' '))"
      wait "$driver"; stop "$a"
      ;;
    idle-2nodes)
      # Redis used_memory per connection: N connections over two nodes (N/2 each), joined to rooms of 4.
      # Fresh nodes and Redis for every repetition: a node that held connections before does not give its memory
      # back, so a second run on it would start from the first one's RSS.
      N=${IDLE_CONNECTIONS:-19000}
      for i in $(seq "$REPEAT"); do
        start_redis; p1=$(free_port); PRODUCT_EXTRA_ENV="RoomSignal__Limits__MaxConnections=$((N + 200)) ${IDLE_ENV:-}" start_product nodeA "$p1" "$REDIS_PORT"; a=$LAST_PID
        p2=$(free_port); PRODUCT_EXTRA_ENV="RoomSignal__Limits__MaxConnections=$((N + 200)) ${IDLE_ENV:-}" start_product nodeB "$p2" "$REDIS_PORT"; b=$LAST_PID
        REPEAT=1 run "idle/product-2nodes/$i" -- idle --connections "$N" --room-size 4 --hold 20 --settle 5 --urls "ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room" --server-pids "$a,$b" --redis "127.0.0.1:$REDIS_PORT" --max-seconds 180
        stop "$a" "$b" "$REDIS_PID"
      done
      ;;
    connect)
      N=${CONNECT_CONNECTIONS:-19000}
      for i in $(seq "$REPEAT"); do
        p=$(free_port); PRODUCT_EXTRA_ENV="RoomSignal__Limits__MaxConnections=$((N + 200))" start_product node1 "$p"; a=$LAST_PID
        REPEAT=1 run "connect/product-1node/$i" -- connect --connections "$N" --window 256 --urls "ws://127.0.0.1:$p/hubs/room" --server-pids "$a" --max-seconds 120
        stop "$a"
      done
      ;;
    connect-restart)
      # Restart: open N connections and hold them, SIGTERM the node once the driver says all are open (not
      # after a fixed sleep: opening 19,000 takes longer than any guess on a shared box), start it again on
      # the same port; every dropped connection retries (100 ms doubling to 2 s, with jitter, at most
      # --window attempts at once) until it is back. The tool reports first drop -> last one back.
      N=${CONNECT_CONNECTIONS:-19000}
      p=$(free_port); PRODUCT_EXTRA_ENV="RoomSignal__Limits__MaxConnections=$((N + 200))" start_product node1 "$p"; a=$LAST_PID
      err="$OUT/connect_product-restart.1.json.err"; rm -f "$err" # a previous run's line must not start the restart
      REPEAT=1 run connect/product-restart -- connect --connections "$N" --window 256 --hold 60 --reconnect --urls "ws://127.0.0.1:$p/hubs/room" --max-seconds 150 &
      driver=$!
      for _ in $(seq 600); do grep -q 'connections open in' "$err" 2>/dev/null && break; sleep 0.2; done
      log "$(grep 'connections open in' "$err")"
      t0=$(date +%s.%N); stop "$a"; t1=$(date +%s.%N)
      PRODUCT_EXTRA_ENV="RoomSignal__Limits__MaxConnections=$((N + 200))" start_product node1-restarted "$p"; a=$LAST_PID
      t2=$(date +%s.%N)
      log "node on port $p stopped in $(echo "$t1 - $t0" | bc) s, listening again $(echo "$t2 - $t0" | bc) s after the SIGTERM"
      wait "$driver"; stop "$a"
      # The target counts from the restart: last connection back minus the moment the new node listened.
      node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const r = s.results;
        const back = r.last_back_utc ? (Date.parse(r.last_back_utc) / 1000 - +process.argv[2]).toFixed(2) : "never";
        console.log(JSON.stringify({ sigterm_to_exit_s: +(+process.argv[3] - +process.argv[4]).toFixed(2), restart_listening_utc: new Date(+process.argv[2] * 1000).toISOString(), all_back_after_restart_s: back }));' \
        "$OUT/connect_product-restart.1.json" "$t2" "$t1" "$t0" | tee "$OUT/connect_product-restart.restart.txt" >&2
      ;;
    *) echo "unknown section $section" >&2; exit 2 ;;
  esac
done

log "done; summaries in $OUT"
node "$ROOT/tools/bench-report.mjs" "$OUT"
