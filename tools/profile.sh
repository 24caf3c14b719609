#!/usr/bin/env bash
# Profiles the relay under the same load on each target: dotnet-counters (thread-pool work items,
# allocation rate, GC, JIT, lock contention) read while the driver runs an open loop, after a 10 s
# warm-up. Output: $PROFILE_OUT (default bench-results/profile-<UTC time>/).
#
#   tools/profile.sh [TARGET...]   targets: 1node ceiling 2nodes (default: 1node ceiling)
#   RATE=2500 tools/profile.sh 1node 2nodes   # the 1-node / 2-node comparison below saturation
#
# 1node also records a sampled thread-time trace (dotnet-trace report topN). 2nodes starts a private
# redis-server and two nodes, measures what the idle cluster costs (CPU of both nodes and Redis over
# 10 s with no client), then reads both nodes' counters under load and Redis's INFO commandstats
# before and after the run, so the summary gives Redis commands per delivered message.
# Needs the Release build, redis-server, and the dotnet-counters and dotnet-trace global tools
# (dotnet tool install -g dotnet-counters / dotnet-trace). Every measured run goes through
# `/work/bin/heavy --all` on the shared box; the whole script takes about 40 s per target.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$HOME/.dotnet/tools"
OUT=${PROFILE_OUT:-$PWD/bench-results/profile-$(date -u +%Y%m%dT%H%M%SZ)}
RATE=${RATE:-5000}
TARGETS=${*:-1node ceiling}
mkdir -p "$OUT"
TOOL=tools/RoomSignal.LoadTest/bin/Release/net10.0/RoomSignal.LoadTest.dll
SERVER_DIR=src/RoomSignal.Server/bin/Release/net10.0
command -v dotnet-counters >/dev/null && command -v dotnet-trace >/dev/null || { echo "install dotnet-counters and dotnet-trace first" >&2; exit 2; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
free_port() { local p; while :; do p=$(( 20000 + RANDOM % 12000 )); (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }; done; }
wait_port() { for _ in $(seq 150); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; echo "nothing listens on $1" >&2; return 1; }
cpu_s() { awk '{ printf "%.3f", ($14 + $15) / 100 }' "/proc/$1/stat"; } # utime + stime, clock ticks of 1/100 s
start_node() { # PORT [REDIS_PORT NODE_ID] -> LAST_PID
  local env=(RoomSignal__Limits__MaxConnectionsPerIp=0 RoomSignal__Limits__InvocationsPerSecond=1000000 RoomSignal__Limits__InvocationBurst=10000000)
  [ -n "${2:-}" ] && env+=("RoomSignal__Redis__Configuration=127.0.0.1:$2" "RoomSignal__NodeId=$3")
  (cd "$SERVER_DIR" && exec env "${env[@]}" dotnet RoomSignal.Server.dll --urls "http://127.0.0.1:$1") >"$OUT/node-$1.log" 2>&1 &
  LAST_PID=$!; pids+=("$LAST_PID"); wait_port "$1"
}
profile() { # NAME URLS PIDS [REDIS_PORT]
  local name=$1 urls=$2 redis=${4:-} extra=()
  [ -n "$redis" ] && extra=(--redis "127.0.0.1:$redis")
  IFS=, read -ra ps <<<"$3"
  dotnet "$TOOL" relay --urls "$urls" --rooms 50 --peers 4 --mode open --rate "$RATE" --duration 12 --warmup 10 --server-pids "$3" "${extra[@]}" >"$OUT/$name-relay.json" 2>/dev/null &
  local d=$!
  sleep 12
  [ -n "$redis" ] && redis-cli -p "$redis" INFO commandstats >"$OUT/$name-redis-before.txt"
  local w0; w0=$(date +%s.%N)
  local counters=()
  for p in "${ps[@]}"; do
    dotnet-counters collect -p "$p" --duration 00:00:00:05 --format json -o "$OUT/$name-counters-$p.json" --counters System.Runtime >/dev/null 2>&1 &
    counters+=($!)
  done
  wait "${counters[@]}"
  [ -n "$redis" ] && redis-cli -p "$redis" INFO commandstats >"$OUT/$name-redis-after.txt"
  local window; window=$(echo "$(date +%s.%N) - $w0" | bc) # dotnet-counters' start-up makes it longer than 5 s
  [ "$name" = 1node ] && dotnet-trace collect -p "${ps[0]}" --profile dotnet-sampled-thread-time --duration 00:00:00:04 -o "$OUT/$name.nettrace" >/dev/null 2>&1
  wait "$d"
  node -e '
    const fs = require("fs");
    const [name, out, pids, redis, window] = process.argv.slice(1);
    const r = JSON.parse(fs.readFileSync(`${out}/${name}-relay.json`, "utf8"));
    const msgs = r.results.delivered_per_s;
    console.log(`== ${name}: ${msgs} delivered/s, server µs/msg ${r.cpu.server_us_per_msg}, redis µs/msg ${r.cpu.redis_us_per_msg}, p99 ${r.results.latency.p99_ms} ms, lost ${r.results.lost}`);
    for (const pid of pids.split(",")) {
      const d = JSON.parse(fs.readFileSync(`${out}/${name}-counters-${pid}.json`, "utf8"));
      const by = {};
      for (const e of d.Events) (by[e.name] ??= []).push(e.value);
      console.log(`-- process ${pid} (rates per second, averaged over the 5 s; per delivered message in brackets; cpu.time is per core)`);
      for (const [k, v] of Object.entries(by)) {
        const avg = v.reduce((a, b) => a + b, 0) / v.length;
        const per = /\/ 1 sec/.test(k) && msgs > 0 ? `  (${(avg / msgs).toFixed(2)} per delivered message)` : "";
        console.log(`${k}: ${avg.toFixed(3)}${per}`);
      }
    }
    if (redis) {
      const parse = (f) => Object.fromEntries(fs.readFileSync(f, "utf8").split(/\r?\n/).filter((l) => l.startsWith("cmdstat_"))
        .map((l) => [l.slice(8, l.indexOf(":")), +/calls=(\d+)/.exec(l)[1]]));
      const a = parse(`${out}/${name}-redis-before.txt`), b = parse(`${out}/${name}-redis-after.txt`);
      console.log(`-- redis commands between the two INFO calls (${(+window).toFixed(1)} s), per delivered message (delivered/s × that time)`);
      for (const k of Object.keys(b).sort()) {
        const n = b[k] - (a[k] ?? 0);
        if (n > 0) console.log(`${k}: ${n} (${(n / (msgs * +window)).toFixed(3)} per delivered message)`);
      }
    }
  ' "$name" "$OUT" "$3" "$redis" | tee "$OUT/$name-summary.txt"
}
for target in $TARGETS; do
  case $target in
    1node)
      p=$(free_port); start_node "$p"; a=$LAST_PID
      profile 1node "ws://127.0.0.1:$p/hubs/room" "$a"
      kill "$a"; wait "$a" 2>/dev/null
      [ -f "$OUT/1node.nettrace" ] && dotnet-trace report "$OUT/1node.nettrace" topN -n 25 >"$OUT/1node-topN.txt" 2>&1
      ;;
    ceiling)
      p=$(free_port)
      DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 DOTNET_gcServer=1 dotnet "$TOOL" ceiling --listen "http://127.0.0.1:$p" --inline >/dev/null 2>&1 &
      c=$!; pids+=("$c"); wait_port "$p"
      profile ceiling "ws://127.0.0.1:$p/hubs/room" "$c"
      kill "$c"; wait "$c" 2>/dev/null
      ;;
    2nodes)
      rp=$(free_port)
      redis-server --port "$rp" --bind 127.0.0.1 --save '' --appendonly no >"$OUT/redis.log" 2>&1 &
      r=$!; pids+=("$r"); wait_port "$rp"
      p1=$(free_port); start_node "$p1" "$rp" nodeA; a=$LAST_PID
      p2=$(free_port); start_node "$p2" "$rp" nodeB; b=$LAST_PID
      sleep 5 # past start-up
      redis-cli -p "$rp" INFO commandstats >"$OUT/idle-redis-before.txt"
      c0="$(cpu_s "$a") $(cpu_s "$b") $(cpu_s "$r")"; sleep 10; c1="$(cpu_s "$a") $(cpu_s "$b") $(cpu_s "$r")"
      redis-cli -p "$rp" INFO commandstats >"$OUT/idle-redis-after.txt"
      echo "$c0 $c1" | awk '{ printf "== idle cluster, 10 s without clients: nodeA %.3f cores, nodeB %.3f cores, redis %.3f cores\n", ($4-$1)/10, ($5-$2)/10, ($6-$3)/10 }' | tee "$OUT/idle-cluster.txt"
      profile 2nodes "ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room" "$a,$b" "$rp"
      kill "$a" "$b" "$r"; wait "$a" "$b" "$r" 2>/dev/null
      ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
  esac
done
echo "profiles in $OUT"
