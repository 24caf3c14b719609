using System.Collections.Concurrent;
using System.Diagnostics;
using RoomSignal.LoadTest.Metrics;
using RoomSignal.LoadTest.Wire;

namespace RoomSignal.LoadTest.Scenarios;

/// <summary>
/// <c>churn</c>: <c>--actors</c> concurrent actors each run cycles of connect (to a random node) → join a
/// random one of <c>--rooms</c> rooms → stay a moment → leave by <c>Exit</c> then close, by a clean close, or
/// by dropping the socket. Every member's view is checked as it goes (a <c>joined</c> for a peer already
/// known, an <c>exit</c> for one never known, events before <c>created</c>, <c>seq</c> going backwards) and,
/// at the end, after every actor joined once more and stayed, against the truth: who is in each room.
/// Server RSS is reported before the churn and after it, once everyone has gone.
/// </summary>
internal sealed class ChurnScenario(RunContext run)
{
    private readonly ViewAnomalies _anomalies = new();
    private readonly Histogram _join = new();
    private readonly ConcurrentDictionary<RoomView, byte> _live = new();
    private long _cycles;
    private long _exits;
    private long _closes;
    private long _drops;
    private long _errors;

    public async Task<int> RunAsync()
    {
        var o = run.Options;
        var cycles = o.Int("cycles", 10_000, 1, 10_000_000);
        var actors = o.Int("actors", 64, 1, 10_000);
        var rooms = o.Int("rooms", 16, 1, 100_000);
        var holdMs = o.Int("hold-ms", 20, 0, 60_000);
        var duration = o.Double("duration", 120, 1, 3600);
        var settleSeconds = o.Double("settle", 10, 1, 120);
        o.RejectUnknown();

        var names = Enumerable.Range(0, rooms).Select(r => $"churn-{run.RunId}-{r}").ToArray();
        var rssBefore = run.ServerRss();
        var redisBefore = await run.RedisUsedMemoryAsync();
        var until = Math.Min(run.Deadline, Stopwatch.GetTimestamp() + (long)(duration * Stopwatch.Frequency));
        using var progressStop = new CancellationTokenSource();
        var progress = run.ProgressAsync(() => $"cycles {Interlocked.Read(ref _cycles)}/{cycles} (exit {_exits}, close {_closes}, drop {_drops}) anomalies {_anomalies.Total} errors {_errors} join p99 {_join.Quantile(0.99):F2} ms", progressStop.Token);
        var cpuStart = await run.CpuAsync();
        var started = Stopwatch.GetTimestamp();

        var workers = Enumerable.Range(0, actors).Select(a => Task.Run(async () =>
        {
            var rng = new Random(a * 7919);
            while (Interlocked.Increment(ref _cycles) <= cycles && Stopwatch.GetTimestamp() < until)
            {
                var session = await SessionAsync(a, names[rng.Next(rooms)], rng.Next(run.Urls.Count));
                if (session is null)
                {
                    continue;
                }

                if (holdMs > 0)
                {
                    await Task.Delay(rng.Next(holdMs + 1));
                }

                await LeaveAsync(session.Value.Connection, session.Value.View, rng.Next(3));
            }
        })).ToArray();
        await Task.WhenAll(workers);
        var cycleSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cpuEnd = await run.CpuAsync();
        var done = Math.Min(Interlocked.Read(ref _cycles), cycles);
        if (done < cycles)
        {
            run.Problem($"only {done} of {cycles} cycles ran within {duration} s");
        }

        // Final check: every actor joins once more and stays; then views must match who is there.
        var final = new List<(LeanConnection Connection, RoomView View)>();
        var finalRng = new Random(1);
        for (var a = 0; a < actors; a++)
        {
            if (await SessionAsync(a, names[finalRng.Next(rooms)], finalRng.Next(run.Urls.Count)) is { } s)
            {
                final.Add(s);
            }
        }

        var settleUntil = Stopwatch.GetTimestamp() + (long)(settleSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < settleUntil && !Consistent(final.Select(f => f.View).ToArray()))
        {
            await Task.Delay(50);
        }

        _anomalies.CompareWithTruth(final.Select(f => f.View));
        await RunContext.ForEachAsync(final.Count, 64, i => final[i].Connection.CloseAsync(TimeSpan.FromSeconds(2)));
        progressStop.Cancel();
        await progress;

        // Memory after everyone left: give the server a few seconds to finish disconnect work.
        await Task.Delay(TimeSpan.FromSeconds(Math.Min(5, settleSeconds)));
        var rssAfter = run.ServerRss();
        var redisAfter = await run.RedisUsedMemoryAsync();

        if (_anomalies.Total != 0)
        {
            run.Problem($"{_anomalies.Total} view anomalies");
        }

        if (_errors != 0)
        {
            run.Problem($"{_errors} joins failed");
        }

        var results = new
        {
            cycles = done,
            actors,
            rooms,
            nodes = run.Urls.Count,
            seconds = Math.Round(cycleSeconds, 3),
            cycles_per_s = Math.Round(done / cycleSeconds, 1),
            left_by_exit = _exits,
            left_by_close = _closes,
            left_by_drop = _drops,
            join_errors = _errors,
            join_latency = _join.Summary(),
            anomalies = _anomalies.Summary(),
            anomalies_per_s = Math.Round(_anomalies.Total / cycleSeconds, 2),
            server_rss_before_bytes = rssBefore,
            server_rss_after_bytes = rssAfter,
            redis_used_memory_before_bytes = redisBefore,
            redis_used_memory_after_bytes = redisAfter,
        };
        return run.Finish(results, run.CpuSummary(cpuStart, cpuEnd, done));
    }

    private static bool Consistent(RoomView[] views)
    {
        var truth = views.Where(v => v.SelfId is not null).GroupBy(v => v.Room)
            .ToDictionary(g => g.Key, g => g.Select(v => v.SelfId!).ToHashSet(StringComparer.Ordinal));
        foreach (var v in views)
        {
            lock (v)
            {
                if (v.SelfId is null || !truth[v.Room].SetEquals(v.Known.Append(v.SelfId)))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private async Task<(LeanConnection Connection, RoomView View)?> SessionAsync(int actor, string room, int node)
    {
        LeanConnection c;
        try
        {
            c = await run.ConnectAsync(actor, node, 8 * 1024);
        }
        catch (Exception ex) when (ex is ConnectRefusedException or IOException or System.Net.Sockets.SocketException)
        {
            Interlocked.Increment(ref _errors);
            run.Problem($"connect failed: {ex.Message}");
            return null;
        }

        var view = new RoomView(room, _anomalies);
        c.OnMessage = (_, m) =>
        {
            if (m.Target is HubTarget.Created or HubTarget.Joined or HubTarget.Exit)
            {
                view.Apply(m);
            }
        };
        var t0 = Stopwatch.GetTimestamp();
        try
        {
            var result = await c.InvokeAsync("CreateAndJoinRoom", new Payload { Room = room }, TimeSpan.FromSeconds(10));
            _join.Record(LeanConnection.Micros(t0, Stopwatch.GetTimestamp()));
            if (result.Error is not null)
            {
                Interlocked.Increment(ref _errors);
                run.Problem($"join refused: {result.Error}");
                await c.CloseAsync(TimeSpan.FromSeconds(1));
                return null;
            }

            c.ConnectionId = result.Id;
        }
        catch (Exception ex) when (ex is TimeoutException or IOException)
        {
            Interlocked.Increment(ref _errors);
            run.Problem($"join failed: {ex.Message}");
            c.Abort();
            return null;
        }

        _live[view] = 0;
        return (c, view);
    }

    private async Task LeaveAsync(LeanConnection c, RoomView view, int how)
    {
        _live.TryRemove(view, out _);
        switch (how)
        {
            case 0:
                try
                {
                    var result = await c.InvokeAsync("Exit", new Payload { Room = view.Room }, TimeSpan.FromSeconds(10));
                    if (result.Error is not null)
                    {
                        run.Problem($"exit refused: {result.Error}");
                    }
                }
                catch (Exception ex) when (ex is TimeoutException or IOException)
                {
                    run.Problem($"exit failed: {ex.Message}");
                }

                Interlocked.Increment(ref _exits);
                await c.CloseAsync(TimeSpan.FromSeconds(2));
                break;
            case 1:
                Interlocked.Increment(ref _closes);
                await c.CloseAsync(TimeSpan.FromSeconds(2));
                break;
            default:
                Interlocked.Increment(ref _drops);
                c.Abort();
                break;
        }
    }
}
