using System.Diagnostics;
using RoomSignal.LoadTest.Metrics;
using RoomSignal.LoadTest.Wire;

namespace RoomSignal.LoadTest.Scenarios;

/// <summary>
/// <c>connect</c> and <c>idle</c>: N connections (TCP, WebSocket upgrade, hub handshake), at most
/// <c>--window</c> being opened at once.
/// <list type="bullet">
/// <item><c>connect</c>: as fast as the server accepts them: connections/s, refused, connect-time percentiles;
/// with <c>--hold S --reconnect</c> every dropped connection is reopened (retry with jitter) and the time from
/// the first drop until all are back is reported (restart the server during the hold).</item>
/// <item><c>idle</c>: optionally joined to rooms of <c>--room-size</c>, then held <c>--hold</c> seconds with
/// hub pings every 15 s; server RSS per connection (from /proc of <c>--server-pids</c>) and Redis
/// <c>used_memory</c> per connection (with <c>--redis</c>).</item>
/// </list>
/// </summary>
internal sealed class ConnectionsScenario(RunContext run, bool idle)
{
    private readonly Histogram _connect = new();
    private readonly Histogram _reconnect = new();
    private LeanConnection?[] _connections = [];
    private long _open;
    private long _refused;
    private long _dropped;
    private long _firstDrop;
    private long _lastBack;
    private long _reconnected;
    private readonly Dictionary<string, int> _refusals = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _reconnectFailures = new(StringComparer.Ordinal);
    private SemaphoreSlim _reconnectGate = new(1);

    public async Task<int> RunAsync()
    {
        var o = run.Options;
        var count = o.Int("connections", idle ? 1000 : 1000, 1, 1_000_000);
        var window = o.Int("window", 256, 1, 100_000);
        var hold = o.Double("hold", idle ? 30 : 0, 0, 3600);
        var reconnect = !idle && o.Flag("reconnect");
        var roomSize = idle ? o.Int("room-size", 4, 0, 1000) : 0;
        var settle = idle ? o.Double("settle", 5, 0, 120) : 0;
        var timeout = o.Double("connect-timeout", 10, 0.1, 120);
        o.RejectUnknown();

        run.PlanSources(count);

        // Reconnects after a restart go through the same window as the first connects: thousands of
        // attempts at once would all wait in the server's accept queue past their timeout and retry
        // together, so none would ever complete.
        _reconnectGate = new SemaphoreSlim(window);
        _connections = new LeanConnection?[count];
        var rssBefore = run.ServerRss();
        var redisBefore = await run.RedisUsedMemoryAsync();
        using var stop = new CancellationTokenSource();
        var progress = run.ProgressAsync(() => $"open {Interlocked.Read(ref _open)}/{count} refused {_refused} dropped {_dropped} reconnected {_reconnected} connect p99 {_connect.Quantile(0.99):F1} ms; server RSS {run.ServerRss() / 1048576.0:F0} MiB", stop.Token);
        var keepAlive = RunContext.KeepAliveAsync(() => _connections, stop.Token);

        var cpuStart = await run.CpuAsync();
        var started = Stopwatch.GetTimestamp();
        await RunContext.ForEachAsync(count, window, async i =>
        {
            if (run.PastDeadline)
            {
                return;
            }

            var t0 = Stopwatch.GetTimestamp();
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeout));
                var c = await run.ConnectAsync(i, i, 1024, cts.Token);
                _connect.Record(LeanConnection.Micros(t0, Stopwatch.GetTimestamp()));
                c.Index = i;
                _connections[i] = c;
                Interlocked.Increment(ref _open);
            }
            catch (Exception ex) when (ex is ConnectRefusedException or IOException or OperationCanceledException or System.Net.Sockets.SocketException or System.Net.WebSockets.WebSocketException)
            {
                Refused(ex);
            }
        });
        var connectSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cpuEnd = await run.CpuAsync();
        Console.Error.WriteLine($"[{run.Scenario}] {_open} of {count} connections open in {connectSeconds:F2} s ({_open / connectSeconds:F0}/s), {_refused} refused");

        var joinErrors = 0L;
        if (roomSize > 0)
        {
            await RunContext.ForEachAsync(count, 64, async i =>
            {
                if (_connections[i] is { } c && !run.PastDeadline)
                {
                    try
                    {
                        var r = await c.InvokeAsync("CreateAndJoinRoom", new Payload { Room = $"idle-{run.RunId}-{i / roomSize}" }, TimeSpan.FromSeconds(30));
                        if (r.Error is not null)
                        {
                            Interlocked.Increment(ref joinErrors);
                        }
                    }
                    catch (Exception ex) when (ex is TimeoutException or IOException)
                    {
                        Interlocked.Increment(ref joinErrors);
                    }
                }
            });
        }

        if (settle > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(settle));
        }

        var rssLoaded = run.ServerRss();
        var redisLoaded = await run.RedisUsedMemoryAsync();

        // Hold: watch for drops; with --reconnect, reopen each one until it is back.
        var reconnects = new List<Task>();
        var holdUntil = Math.Min(run.Deadline, Stopwatch.GetTimestamp() + (long)(hold * Stopwatch.Frequency));
        for (var i = 0; i < count; i++)
        {
            if (_connections[i] is { } c)
            {
                var index = i;
                reconnects.Add(WatchAsync(c, index, reconnect, holdUntil, timeout));
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, (holdUntil - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency)));
        var rssEnd = run.ServerRss();
        var redisEnd = await run.RedisUsedMemoryAsync();
        var stillOpen = _connections.Count(c => c is not null && !c.Closed.IsCompleted);
        stop.Cancel();
        await progress;
        await keepAlive;
        await Task.WhenAll(reconnects);
        await RunContext.ForEachAsync(count, 256, async i =>
        {
            if (_connections[i] is { } c)
            {
                await c.CloseAsync(TimeSpan.FromSeconds(1));
            }
        });

        if (_refused != 0)
        {
            run.Problem($"{_refused} connections refused: {string.Join("; ", _refusals.Select(r => $"{r.Value}× {r.Key}"))}");
        }

        if (joinErrors != 0)
        {
            run.Problem($"{joinErrors} joins failed");
        }

        if (!reconnect && stillOpen != _open)
        {
            run.Problem($"{_open - stillOpen} connections dropped during the hold");
        }

        if (reconnect && _dropped > 0 && _reconnected < _dropped)
        {
            run.Problem($"{_dropped - _reconnected} dropped connections did not come back during the hold; failed attempts: {string.Join("; ", _reconnectFailures.Select(r => $"{r.Value}× {r.Key}"))}");
        }

        var perConnection = _open > 0 ? (rssLoaded - rssBefore) / (double)_open : 0;
        var results = new
        {
            connections = count,
            opened = _open,
            refused = _refused,
            connect_seconds = Math.Round(connectSeconds, 3),
            connections_per_s = Math.Round(_open / connectSeconds, 1),
            connect_latency = _connect.Summary(),
            room_size = roomSize,
            join_errors = joinErrors,
            hold_s = hold,
            open_at_end_of_hold = stillOpen,
            dropped = _dropped,
            reconnected = _reconnected,
            first_drop_utc = _firstDrop != 0 ? Utc(_firstDrop) : null,
            last_back_utc = _lastBack != 0 ? Utc(_lastBack) : null,
            all_back_after_first_drop_s = _reconnected > 0 && _reconnected == _dropped ? Math.Round((_lastBack - _firstDrop) / (double)Stopwatch.Frequency, 3) : (double?)null,
            reconnect_latency = _reconnect.Summary(),
            reconnect_failures = _reconnectFailures,
            server_rss_before_bytes = rssBefore,
            server_rss_loaded_bytes = rssLoaded,
            server_rss_end_of_hold_bytes = rssEnd,
            server_rss_per_connection_bytes = Math.Round(perConnection, 0),
            server_rss_per_connection_kib = Math.Round(perConnection / 1024, 2),
            redis_used_memory_before_bytes = redisBefore,
            redis_used_memory_loaded_bytes = redisLoaded,
            redis_used_memory_end_of_hold_bytes = redisEnd,
            redis_bytes_per_connection = _open > 0 && run.Redis.Length > 0 ? Math.Round((redisLoaded - redisBefore) / (double)_open, 0) : (double?)null,
        };
        return run.Finish(results, run.CpuSummary(cpuStart, cpuEnd, _open));
    }

    /// <summary>A <see cref="Stopwatch"/> timestamp as UTC wall-clock time, so a script can line it up with a restart it logged.</summary>
    private static string Utc(long timestamp) =>
        (DateTime.UtcNow - Stopwatch.GetElapsedTime(timestamp)).ToString("O", System.Globalization.CultureInfo.InvariantCulture);

    private void Refused(Exception ex)
    {
        Interlocked.Increment(ref _refused);
        var reason = ex is ConnectRefusedException ? ex.Message : ex.GetType().Name + ": " + ex.Message;
        lock (_refusals)
        {
            if (_refusals.Count < 20 || _refusals.ContainsKey(reason))
            {
                _refusals[reason] = _refusals.GetValueOrDefault(reason) + 1;
            }
        }
    }

    private async Task WatchAsync(LeanConnection c, int index, bool reconnect, long holdUntil, double timeout)
    {
        var remaining = (holdUntil - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency;
        if (remaining <= 0 || await Task.WhenAny(c.Closed, Task.Delay(TimeSpan.FromSeconds(remaining))) != c.Closed)
        {
            return;
        }

        var droppedAt = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _dropped);
        Interlocked.CompareExchange(ref _firstDrop, droppedAt, 0);
        Interlocked.Decrement(ref _open);
        if (!reconnect)
        {
            return;
        }

        // The dropped connection still holds its socket (the receive loop ended, nothing closed it):
        // free the descriptor first, or N dropped plus N new sockets exceed the descriptor limit.
        c.Abort();
        var rng = new Random(index);
        var delay = 100;
        while (Stopwatch.GetTimestamp() < holdUntil)
        {
            await Task.Delay(rng.Next(delay / 2, delay));
            var remainingHold = (holdUntil - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency;
            if (remainingHold <= 0 || !await _reconnectGate.WaitAsync(TimeSpan.FromSeconds(remainingHold)))
            {
                break;
            }

            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeout));
                var fresh = await run.ConnectAsync(index, index, 1024, cts.Token);
                fresh.Index = index;
                _connections[index] = fresh;
                var now = Stopwatch.GetTimestamp();
                _reconnect.Record(LeanConnection.Micros(droppedAt, now));
                Interlocked.Increment(ref _reconnected);
                Interlocked.Increment(ref _open);
                long seen;
                while (now > (seen = Interlocked.Read(ref _lastBack)) && Interlocked.CompareExchange(ref _lastBack, now, seen) != seen)
                {
                }

                return;
            }
            catch (Exception ex) when (ex is ConnectRefusedException or IOException or OperationCanceledException or System.Net.Sockets.SocketException or System.Net.WebSockets.WebSocketException)
            {
                var reason = ex is ConnectRefusedException ? ex.Message : ex.GetType().Name + ": " + ex.Message;
                lock (_reconnectFailures)
                {
                    if (_reconnectFailures.Count < 20 || _reconnectFailures.ContainsKey(reason))
                    {
                        _reconnectFailures[reason] = _reconnectFailures.GetValueOrDefault(reason) + 1;
                    }
                }

                delay = Math.Min(delay * 2, 2000);
            }
            finally
            {
                _reconnectGate.Release();
            }
        }
    }
}
