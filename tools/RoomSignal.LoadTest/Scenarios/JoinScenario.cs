using System.Diagnostics;
using RoomSignal.LoadTest.Metrics;
using RoomSignal.LoadTest.Wire;

namespace RoomSignal.LoadTest.Scenarios;

/// <summary>
/// <c>join</c>: R rooms × P peers, connected first (not measured), then joining at <c>--rate</c> joins/s
/// (0 = all at once), rooms interleaved so each room fills over the run. Measures invoke → join result,
/// invoke → <c>created</c>, and the last joiner's invoke → every member of its room knowing everyone; checks
/// every view (no duplicate or missing <c>joined</c>).
/// </summary>
internal sealed class JoinScenario(RunContext run)
{
    private readonly Histogram _result = new();
    private readonly Histogram _created = new();
    private readonly Histogram _settled = new();
    private readonly ViewAnomalies _anomalies = new();

    public async Task<int> RunAsync()
    {
        var o = run.Options;
        var rooms = o.Int("rooms", 100, 1, 100_000);
        var size = o.Int("peers", 10, 1, 1000);
        var rate = o.Double("rate", 500, 0, 1_000_000);
        var settleSeconds = o.Double("settle", 10, 0, 120);
        o.RejectUnknown();

        var total = rooms * size;
        run.PlanSources(total);
        var peers = new LeanConnection[total];
        var views = new RoomView[total];
        var invokedAt = new long[total];
        var lastInvokeInRoom = new long[rooms];
        var fullRooms = new int[rooms];
        var roomsSettled = 0;
        var names = Enumerable.Range(0, rooms).Select(r => $"join-{run.RunId}-{r}").ToArray();

        await RunContext.ForEachAsync(total, 64, async i =>
        {
            var room = i % rooms;
            var member = i / rooms;
            var c = await run.ConnectAsync(i, member);
            c.Index = i;
            var view = views[i] = new RoomView(names[room], _anomalies);
            c.OnMessage = (self, m) =>
            {
                if (m.Target is not (HubTarget.Created or HubTarget.Joined or HubTarget.Exit))
                {
                    return;
                }

                var now = Stopwatch.GetTimestamp();
                if (m.Target == HubTarget.Created && m.Room == view.Room && !view.Created)
                {
                    _created.Record(LeanConnection.Micros(Volatile.Read(ref invokedAt[i]), now));
                }

                if (view.Apply(m) == size - 1 && view.FullAt == 0)
                {
                    view.FullAt = now;
                    if (Interlocked.Increment(ref fullRooms[room]) == size)
                    {
                        _settled.Record(LeanConnection.Micros(Volatile.Read(ref lastInvokeInRoom[room]), now));
                        Interlocked.Increment(ref roomsSettled);
                    }
                }
            };
            peers[i] = c;
        });
        Console.Error.WriteLine($"[join] {total} peers connected over {run.Urls.Count} node(s); joining {rooms} rooms at {(rate > 0 ? $"{rate}/s" : "once")}");

        var errors = 0L;
        var joinsDone = 0L;
        using var progressStop = new CancellationTokenSource();
        var progress = run.ProgressAsync(() => $"joined {Interlocked.Read(ref joinsDone)}/{total} rooms settled {Volatile.Read(ref roomsSettled)}/{rooms} result p99 {_result.Quantile(0.99):F2} ms errors {errors}", progressStop.Token);
        var cpuStart = await run.CpuAsync();
        var started = Stopwatch.GetTimestamp();
        var joins = new List<Task>(total);
        // Join order: member 0 of every room, then member 1 of every room, ...
        for (var k = 0; k < total && !run.PastDeadline; k++)
        {
            if (rate > 0)
            {
                var due = started + (long)(k / rate * Stopwatch.Frequency);
                var wait = (due - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency;
                if (wait > 0.001)
                {
                    await Task.Delay(TimeSpan.FromSeconds(wait));
                }
            }

            var i = k;
            var room = i % rooms;
            var t0 = Stopwatch.GetTimestamp();
            Volatile.Write(ref invokedAt[i], t0);
            Volatile.Write(ref lastInvokeInRoom[room], t0);
            joins.Add(Task.Run(async () =>
            {
                try
                {
                    var result = await peers[i].InvokeAsync("CreateAndJoinRoom", new Payload { Room = names[room] }, TimeSpan.FromSeconds(30));
                    _result.Record(LeanConnection.Micros(t0, Stopwatch.GetTimestamp()));
                    if (result.Error is not null)
                    {
                        Interlocked.Increment(ref errors);
                        run.Problem($"join refused: {result.Error}");
                    }

                    peers[i].ConnectionId = result.Id;
                }
                catch (Exception ex) when (ex is TimeoutException or IOException)
                {
                    Interlocked.Increment(ref errors);
                    run.Problem($"join failed: {ex.Message}");
                }

                Interlocked.Increment(ref joinsDone);
            }));
        }

        await Task.WhenAll(joins);
        var joinSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cpuEnd = await run.CpuAsync();
        var settleUntil = Stopwatch.GetTimestamp() + (long)(settleSeconds * Stopwatch.Frequency);
        while (Volatile.Read(ref roomsSettled) < rooms && Stopwatch.GetTimestamp() < settleUntil)
        {
            await Task.Delay(20);
        }

        progressStop.Cancel();
        await progress;
        _anomalies.CompareWithTruth(views);
        await RunContext.ForEachAsync(total, 64, i => peers[i].CloseAsync(TimeSpan.FromSeconds(2)));

        if (_anomalies.Total != 0)
        {
            run.Problem($"{_anomalies.Total} view anomalies");
        }

        if (roomsSettled < rooms)
        {
            run.Problem($"{rooms - roomsSettled} rooms never had every member know every other within {settleSeconds} s");
        }

        var results = new
        {
            rooms,
            peers_per_room = size,
            peers = total,
            nodes = run.Urls.Count,
            rate,
            joins = total,
            join_seconds = Math.Round(joinSeconds, 3),
            joins_per_s = Math.Round(total / joinSeconds, 1),
            errors,
            rooms_settled = roomsSettled,
            result_latency = _result.Summary(),
            created_latency = _created.Summary(),
            room_settled_after_last_join = _settled.Summary(),
            anomalies = _anomalies.Summary(),
        };
        return run.Finish(results, run.CpuSummary(cpuStart, cpuEnd, total));
    }
}
