#!/usr/bin/env bash
# Profiles the relay under the same load on each target: dotnet-counters (thread-pool work items,
# allocation rate, GC, JIT, lock contention) read while the driver runs an open loop, after a 10 s
# warm-up. Output: $PROFILE_OUT (default bench-results/profile-<UTC time>/).
#
#   tools/profile.sh [TARGET...]   targets: 1node ceiling 2nodes perf-1node perf-ceiling perf-2nodes switches-1node
#                                  switches-ceiling switches-2nodes alloc-1node alloc-ceiling syscalls-1node syscalls-ceiling
#                                  (default: 1node ceiling)
#   RATE=2500 tools/profile.sh 1node 2nodes   # the 1-node / 2-node comparison below saturation
#   PROFILE_SERVER_DIR=/tmp/before tools/profile.sh 1node   # the same against a copy of an earlier server build
#   tools/profile.sh alloc-1node alloc-ceiling   # bytes allocated per delivered message, by type and by method
#   tools/profile.sh syscalls-1node syscalls-ceiling   # system calls per delivered message (futex: threads waking each other)
#   tools/profile.sh perf-1node perf-ceiling  # where the CPU goes: kernel, runtime, managed code by owner
#   tools/profile.sh switches-1node switches-ceiling switches-2nodes   # context switches per message by thread group
#   PROFILE_NODE_ENV="..." adds settings to the nodes (and the ceiling) of the switches-*, perf-*, alloc-* and syscalls-*
#   targets: "RoomSignal__Redis__SocketManager=Dedicated" for the two nodes' other Redis I/O threads,
#   "RoomSignal__Transport__InlineIO=false", "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT=1", ...
#
# 1node also records a sampled thread-time trace (dotnet-trace report topN). 2nodes starts a private
# redis-server and two nodes, measures what the idle cluster costs (CPU of both nodes and Redis over
# 10 s with no client), then reads both nodes' counters under load and Redis's INFO commandstats
# before and after the run, so the summary gives Redis commands per delivered message.
# perf-* sample each server's CPU with Linux perf (cpu-clock, 1,999 Hz, call graphs) for PERF_SECONDS (default 6)
# while the driver holds RATE, after a warm-up (10 s, 45 s for two nodes), and split the server's CPU per delivered
# message into kernel, runtime (libcoreclr, libclrjit, libSystem.Native), libc and managed code, the managed part by
# owner (RoomSignal, System.Text.Json, SignalR, Kestrel, pipelines, ...). The servers run with the settings that ship
# plus DOTNET_PerfMapEnabled=1 (JIT symbols for perf), DOTNET_ReadyToRun=0 (so framework code is JIT-compiled and
# named too) and DOTNET_EnableWriteXorExecute=0. Needs perf (Debian: linux-perf).
# Needs the Release build, redis-server, and the dotnet-counters and dotnet-trace global tools
# (dotnet tool install -g dotnet-counters / dotnet-trace). Run it on a quiet machine; it takes about 40 s per
# target (perf-2nodes about 70 s).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$HOME/.dotnet/tools"
OUT=${PROFILE_OUT:-$PWD/bench-results/profile-$(date -u +%Y%m%dT%H%M%SZ)}
RATE=${RATE:-5000}
TARGETS=${*:-1node ceiling}
mkdir -p "$OUT"
TOOL=tools/RoomSignal.LoadTest/bin/Release/net10.0/RoomSignal.LoadTest.dll
ALLOC_REPORT=tools/RoomSignal.AllocReport/bin/Release/net10.0/RoomSignal.AllocReport.dll
SERVER_DIR=${PROFILE_SERVER_DIR:-src/RoomSignal.Server/bin/Release/net10.0} # another build of the server: before/after of a code change
[[ " $TARGETS " =~ \ (1node|ceiling|2nodes|alloc-1node|alloc-ceiling)\  ]] && { command -v dotnet-counters >/dev/null && command -v dotnet-trace >/dev/null || { echo "install dotnet-counters and dotnet-trace first" >&2; exit 2; }; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
. tools/bench-lib.sh # free_port, wait_port, start_redis, CEILING_BEST_ENV
cpu_s() { awk '{ printf "%.3f", ($14 + $15) / 100 }' "/proc/$1/stat"; } # utime + stime, clock ticks of 1/100 s
delivered_per_s() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results.delivered_per_s)' "$OUT/$1-relay.json"; } # NAME
PERF_ENV=(DOTNET_PerfMapEnabled=1 DOTNET_ReadyToRun=0 DOTNET_EnableWriteXorExecute=0)
start_node() { # PORT [REDIS_PORT NODE_ID] -> LAST_PID (env: NODE_EXTRA_ENV)
  local env=(RoomSignal__Limits__MaxConnectionsPerIp=0 RoomSignal__Limits__InvocationsPerSecond=1000000 RoomSignal__Limits__InvocationBurst=10000000 ${NODE_EXTRA_ENV:-})
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
# warm_and_load NAME URLS PIDS WARM_SECONDS DURATION WARMUP [relay args...]: WARM_SECONDS of discarded open loop at
# RATE, then the measured one (DURATION s after WARMUP s) in the background, its summary in $OUT/NAME-relay.json;
# sets LOAD_PID. The profilers read the servers while it runs.
warm_and_load() {
  local name=$1 urls=$2 pids=$3 warm=$4 duration=$5 warmup=$6; shift 6
  dotnet "$TOOL" relay --urls "$urls" --rooms 50 --peers 4 --mode open --rate "$RATE" --duration "$warm" --warmup 0 >/dev/null 2>&1
  dotnet "$TOOL" relay --urls "$urls" --rooms 50 --peers 4 --mode open --rate "$RATE" --duration "$duration" --warmup "$warmup" \
    --server-pids "$pids" "$@" >"$OUT/$name-relay.json" 2>/dev/null &
  LOAD_PID=$!
}
perf_profile() { # NAME URLS PIDS WARM_SECONDS [REDIS_PORT]
  local name=$1 urls=$2 warm=$4 redis=${5:-} extra=() seconds=${PERF_SECONDS:-6} p
  command -v perf >/dev/null || { echo "perf-* targets need perf (apt-get install linux-perf)" >&2; exit 2; }
  [ -n "$redis" ] && extra=(--redis "127.0.0.1:$redis")
  IFS=, read -ra ps <<<"$3"
  warm_and_load "$name" "$urls" "$3" "$warm" $((seconds + 4)) 3 "${extra[@]}"
  local d=$LOAD_PID recs=()
  sleep 5
  for p in "${ps[@]}"; do
    perf record -q -e cpu-clock -F 1999 -g -p "$p" -o "$OUT/$name-$p.perf.data" -- sleep "$seconds" >/dev/null 2>&1 &
    recs+=($!)
  done
  wait "${recs[@]}" "$d"
  for p in "${ps[@]}"; do
    perf report -i "$OUT/$name-$p.perf.data" --no-children --sort dso,sym --stdio -q -g none --show-nr-samples --percent-limit 0 2>/dev/null >"$OUT/$name-$p.report.txt"
  done
  node -e '
    const fs = require("fs");
    const [name, out, pids] = process.argv.slice(1);
    const r = JSON.parse(fs.readFileSync(`${out}/${name}-relay.json`, "utf8"));
    const perMsg = r.cpu.server_us_per_msg; // all server pids together
    console.log(`== ${name}: ${r.results.delivered_per_s} delivered/s, server ${perMsg} µs/msg, p99 ${r.results.latency.p99_ms} ms, lost ${r.results.lost} (perf attached)`);
    const owners = [["RoomSignal", /\bRoomSignal\./], ["System.Text.Json", /System\.Text\.Json/], ["MessagePack", /MessagePack/],
      ["SignalR", /Microsoft\.AspNetCore\.SignalR|Microsoft\.AspNetCore\.Http\.Connections/], ["Kestrel", /Kestrel/],
      ["StackExchange.Redis", /StackExchange\.Redis|Pipelines\.Sockets\.Unofficial/], ["System.IO.Pipelines", /System\.IO\.Pipelines/],
      ["sockets, WebSockets", /System\.Net\./], ["threading, tasks", /System\.Threading|System\.Runtime\.CompilerServices/],
      ["other managed", /./]];
    const all = {}; let total = 0;
    for (const pid of pids.split(",")) {
      const before = total;
      for (const line of fs.readFileSync(`${out}/${name}-${pid}.report.txt`, "utf8").split("\n")) {
        const m = /^\s*([\d.]+)%\s+(\d+)\s+(.+?)\s+\[(.)\]\s+(.*)$/.exec(line); // the dso of JIT code is "[JIT] tid N"
        if (!m) continue;
        const samples = +m[2], dso = m[3], sym = m[5]; // cpu-clock at a fixed rate: samples are CPU time, summed over processes
        let key;
        if (m[4] === "k" || dso.startsWith("[kernel")) key = "kernel";
        else if (/^perf-\d+\.map$/.test(dso) || /^\[JIT\]/.test(dso) || /^memfd:doublemapper/.test(dso)) key = "managed: " + owners.find(([, re]) => re.test(sym))[0];
        else if (/libcoreclr|libclrjit|libSystem\.|libclrgc/.test(dso)) key = "runtime (" + dso + ")";
        else if (/^libc[.-]|^libm[.-]|ld-linux/.test(dso)) key = "libc";
        else key = "other (" + dso + ")";
        all[key] = (all[key] ?? 0) + samples;
        total += samples;
      }
      if (total === before) console.log(`(no samples for process ${pid}: its perf recording failed; the split below is of the others)`);
    }
    const rows = Object.entries(all).sort((a, b) => b[1] - a[1]);
    let managed = 0;
    for (const [k, v] of rows) {
      if (k.startsWith("managed")) managed += v;
      console.log(`${k.padEnd(40)} ${(100 * v / total).toFixed(1).padStart(5)}%  ${(perMsg * v / total).toFixed(1).padStart(6)} µs/msg`);
    }
    console.log(`${"managed code in all".padEnd(40)} ${(100 * managed / total).toFixed(1).padStart(5)}%  ${(perMsg * managed / total).toFixed(1).padStart(6)} µs/msg (${total} samples)`);
  ' "$name" "$OUT" "$3" | tee "$OUT/$name-summary.txt"
}
# Allocations per delivered message by type and by method: a gc-verbose EventPipe trace (the runtime samples an
# allocation about every 100 KB, with its stack) of each server over ALLOC_SECONDS (default 5) of the open loop, read by
# tools/RoomSignal.AllocReport. The total is the trace's; dotnet-counters' total_allocated (target 1node) agrees within
# a few percent.
alloc_profile() { # NAME URLS PIDS WARM_SECONDS
  local name=$1 urls=$2 warm=$4 seconds=${ALLOC_SECONDS:-5} p
  IFS=, read -ra ps <<<"$3"
  warm_and_load "$name" "$urls" "$3" "$warm" $((seconds + 6)) 3
  local d=$LOAD_PID
  sleep 5
  for p in "${ps[@]}"; do
    dotnet-trace collect -p "$p" --profile gc-verbose --duration "00:00:00:$(printf %02d "$seconds")" -o "$OUT/$name-$p.nettrace" >/dev/null 2>&1
  done
  wait "$d"
  local rate; rate=$(delivered_per_s "$name")
  for p in "${ps[@]}"; do
    echo "== $name (process $p): $rate delivered/s; $seconds s traced" | tee "$OUT/$name-$p-alloc.txt"
    dotnet "$ALLOC_REPORT" "$OUT/$name-$p.nettrace" "$(echo "$rate * $seconds" | bc)" | tee -a "$OUT/$name-$p-alloc.txt"
  done
}
# System calls per delivered message, by call: perf's syscall tracepoints counted on the server over SYSCALL_SECONDS
# (default 5) of the open loop. Futex calls are threads waking each other; sendto/recvfrom the socket I/O itself.
syscall_profile() { # NAME URLS PIDS WARM_SECONDS
  local name=$1 urls=$2 warm=$4 seconds=${SYSCALL_SECONDS:-5}
  command -v perf >/dev/null || { echo "syscalls-* targets need perf (apt-get install linux-perf)" >&2; exit 2; }
  warm_and_load "$name" "$urls" "$3" "$warm" $((seconds + 6)) 3
  local d=$LOAD_PID
  sleep 5
  perf stat -e 'syscalls:sys_enter_*' -p "$3" -o "$OUT/$name.perfstat" -- sleep "$seconds" >/dev/null 2>&1
  wait "$d"
  local rate; rate=$(delivered_per_s "$name")
  { echo "== $name: $rate delivered/s; system calls per delivered message over $seconds s"
    awk -v n="$(echo "$rate * $seconds" | bc)" '$1 ~ /^[0-9,]+$/ && $1 != "0" { gsub(",", "", $1); sub("syscalls:sys_enter_", "", $2); printf "%8.3f  %s\n", $1 / n, $2 }' "$OUT/$name.perfstat" | sort -rn | head -12
  } | tee "$OUT/$name-summary.txt"
}
# Context switches by thread group (".NET TP Worker", ".NET Sockets", "DefaultSocketMa", ...), per delivered message:
# each thread's voluntary (it slept) and involuntary (it was preempted) switches and CPU time from /proc, summed by
# thread name over a 5 s window of the open loop. A thread hop that finds every worker asleep costs a wake-up and a
# sleep; this counts them.
thread_groups() { # PID -> "name vol invol cpu_ticks" per thread, names with spaces joined by _
  local t
  for t in /proc/"$1"/task/*; do
    awk -v name="$(tr ' ' _ <"$t/comm")" -v stat="$(cut -d')' -f2- "$t/stat" 2>/dev/null)" '
      /^voluntary_ctxt_switches/ { v = $2 } /^nonvoluntary_ctxt_switches/ { n = $2 }
      END { split(stat, f, " "); print name, v, n, f[12] + f[13] }' "$t/status" 2>/dev/null
  done
}
switch_profile() { # NAME URLS PIDS WARM_SECONDS
  local name=$1 urls=$2 warm=$4 p
  IFS=, read -ra ps <<<"$3"
  warm_and_load "$name" "$urls" "$3" "$warm" 9 1
  local d=$LOAD_PID
  sleep 4
  for p in "${ps[@]}"; do thread_groups "$p"; done >"$OUT/$name-threads-before.txt"
  sleep 5
  for p in "${ps[@]}"; do thread_groups "$p"; done >"$OUT/$name-threads-after.txt"
  wait "$d"
  node -e '
    const fs = require("fs");
    const [name, out] = process.argv.slice(1);
    const r = JSON.parse(fs.readFileSync(`${out}/${name}-relay.json`, "utf8"));
    const msgs = r.results.delivered_per_s * 5; // the 5 s between the two readings
    const sum = (f) => { const g = {}; for (const l of fs.readFileSync(f, "utf8").trim().split("\n")) { const [n, v, i, c] = l.split(" "); const e = (g[n] ??= [0, 0, 0]); e[0] += +v; e[1] += +i; e[2] += +c; } return g; };
    const a = sum(`${out}/${name}-threads-before.txt`), b = sum(`${out}/${name}-threads-after.txt`);
    console.log(`== ${name}: ${r.results.delivered_per_s} delivered/s, server ${r.cpu.server_us_per_msg} µs/msg, p99 ${r.results.latency.p99_ms} ms (threads that ended between the readings are not counted)`);
    console.log("thread group".padEnd(22) + "voluntary/msg  involuntary/msg  CPU µs/msg");
    let tv = 0, ti = 0;
    for (const [n, [v, i, c]] of Object.entries(b).map(([n, e]) => [n, e.map((x, k) => x - (a[n]?.[k] ?? 0))]).sort((x, y) => (y[1][0] + y[1][1]) - (x[1][0] + x[1][1]))) {
      if (v + i < msgs / 100) continue;
      tv += v; ti += i;
      console.log(n.padEnd(22) + (v / msgs).toFixed(2).padStart(13) + (i / msgs).toFixed(2).padStart(17) + (c * 10000 / msgs).toFixed(1).padStart(12));
    }
    console.log("all".padEnd(22) + (tv / msgs).toFixed(2).padStart(13) + (ti / msgs).toFixed(2).padStart(17));
  ' "$name" "$OUT" | tee "$OUT/$name-summary.txt"
}
# on_target KIND PROFILER NAME ENV: starts KIND (1node, ceiling or 2nodes: two nodes and a private Redis) with the
# extra environment ENV plus PROFILE_NODE_ENV, runs PROFILER (perf_profile, switch_profile, alloc_profile or
# syscall_profile) against it and stops what it started.
on_target() {
  local kind=$1 fn=$2 name=$3 env="$4 ${PROFILE_NODE_ENV:-}"
  case $kind in
    1node)
      p=$(free_port); NODE_EXTRA_ENV="$env" start_node "$p"; a=$LAST_PID
      "$fn" "$name" "ws://127.0.0.1:$p/hubs/room" "$a" 10
      kill "$a"; wait "$a" 2>/dev/null
      ;;
    ceiling)
      p=$(free_port)
      env $env $CEILING_BEST_ENV dotnet "$TOOL" ceiling --listen "http://127.0.0.1:$p" --inline >/dev/null 2>&1 &
      c=$!; pids+=("$c"); wait_port "$p"
      "$fn" "$name" "ws://127.0.0.1:$p/hubs/room" "$c" 10
      kill "$c"; wait "$c" 2>/dev/null
      ;;
    2nodes)
      start_redis; rp=$REDIS_PORT; r=$REDIS_PID
      p1=$(free_port); NODE_EXTRA_ENV="$env" start_node "$p1" "$rp" nodeA; a=$LAST_PID
      p2=$(free_port); NODE_EXTRA_ENV="$env" start_node "$p2" "$rp" nodeB; b=$LAST_PID
      "$fn" "$name" "ws://127.0.0.1:$p1/hubs/room,ws://127.0.0.1:$p2/hubs/room" "$a,$b" 45 "$rp"
      kill "$a" "$b" "$r"; wait "$a" "$b" "$r" 2>/dev/null
      ;;
  esac
}
for target in $TARGETS; do
  case $target in
    switches-1node|switches-ceiling|switches-2nodes) on_target "${target#switches-}" switch_profile "$target" "" ;;
    perf-1node|perf-ceiling|perf-2nodes) on_target "${target#perf-}" perf_profile "$target" "${PERF_ENV[*]}" ;;
    alloc-1node|alloc-ceiling) on_target "${target#alloc-}" alloc_profile "$target" "" ;;
    syscalls-1node|syscalls-ceiling) on_target "${target#syscalls-}" syscall_profile "$target" "" ;;
    1node)
      p=$(free_port); start_node "$p"; a=$LAST_PID
      profile 1node "ws://127.0.0.1:$p/hubs/room" "$a"
      kill "$a"; wait "$a" 2>/dev/null
      [ -f "$OUT/1node.nettrace" ] && dotnet-trace report "$OUT/1node.nettrace" topN -n 25 >"$OUT/1node-topN.txt" 2>&1
      ;;
    ceiling)
      p=$(free_port)
      env $CEILING_BEST_ENV dotnet "$TOOL" ceiling --listen "http://127.0.0.1:$p" --inline >/dev/null 2>&1 &
      c=$!; pids+=("$c"); wait_port "$p"
      profile ceiling "ws://127.0.0.1:$p/hubs/room" "$c"
      kill "$c"; wait "$c" 2>/dev/null
      ;;
    2nodes)
      start_redis; rp=$REDIS_PORT; r=$REDIS_PID
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
