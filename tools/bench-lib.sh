# Shared by tools/bench.sh, tools/profile.sh and tools/loadtest-smoke.sh (sourced, not run).

# A free loopback port in 20000-32199: below the kernel's ephemeral range (32768 and up), so no client socket
# holds it as its local end between this check and the server's bind.
free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 12000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# Waits up to 30 s for something to listen on PORT.
wait_port() { for _ in $(seq 150); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; echo "nothing listens on $1" >&2; return 1; }

# A private redis-server on a free loopback port, no persistence; the caller's $OUT holds its log and its pids array
# the pid, so the caller's cleanup stops it.
start_redis() { # [NAME] -> REDIS_PORT REDIS_PID (log in $OUT/NAME.log, default redis.log)
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$OUT/${1:-redis}.log" 2>&1 &
  REDIS_PID=$!; pids+=("$REDIS_PID"); wait_port "$REDIS_PORT"
}

# The ceiling's best settings at 5,000 msg/s (docs/benchmarks.md, "The ceiling's settings"), with its --inline flag:
# socket completions on the epoll thread and thread-pool workers that do not spin before sleeping.
CEILING_BEST_ENV="DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0"
