using System.Diagnostics;
using System.Net.WebSockets;
using RoomSignal.Contracts;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Testing;
using Xunit.Abstractions;

namespace RoomSignal.Server.Tests.Limits;

/// <summary>
/// One connection floods the node with invocations (and reconnects each time it is dropped for it) while a
/// well-behaved room on the same node relays offer/answer round trips. Baseline and flood are measured in the same
/// run, in 30 interleaved blocks, so the machine's other load falls on both alike; and alone, after the suite's
/// parallel tests, so those are not what it measures. Up to five such measurements: the latency rule must hold in one.
/// </summary>
/// <remarks>
/// The rule is what a user of the calm room would notice: its p99 round trip under the flood stays within twice the
/// baseline's, or within <see cref="NoticeableDelay"/> of it. On this 2-core machine the flooder, the calm clients and
/// the server share the cores, so the flood's own CPU adds a few milliseconds to the calm room's tail whatever the
/// server does (fresh-clone CI runs saw a baseline p99 of 2.8-4.4 ms become 6.6-8.8 ms); a server that let the flood
/// queue ahead of other rooms adds tens to hundreds. That the flooder is refused and dropped is asserted separately.
/// </remarks>
[Collection(nameof(FloodIsolationTests))]
public sealed class FloodIsolationTests(ITestOutputHelper output)
{
    private const int Blocks = 30;
    private const int RoundTripsPerBlock = 50;
    private const int MaxMeasurements = 5;

    /// <summary>Invocations per second the flooder sends: 50 times the default rate limit.</summary>
    private const int FloodRate = 10_000;

    /// <summary>The calm peer sends at most one offer per interval: 100 a second, half the default rate limit.</summary>
    private static readonly TimeSpan PacingInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>Extra tail latency no one setting up a call notices: the absolute slack of the latency rule.</summary>
    private const double NoticeableDelay = 10;

    [Fact]
    public async Task AFloodOnOneConnectionLeavesAnotherRoomsLatencyUnnoticeablyChangedAndLosesNothing()
    {
        // The real defaults: 200 invocations/s with a burst of 1000, dropped after 100 refusals within 10 s.
        // The server runs as its own process, as in production: the test's clients and flooder do not share its thread pool or GC.
        await using var node = await RoomSignalProcess.StartAsync(new Dictionary<string, string?>());
        var room = TestNames.Unique("calm");
        await using var a = await TestPeer.ConnectAsync(node);
        await using var b = await TestPeer.ConnectAsync(node);
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        var aId = a.Id;
        var bId = b.Id;

        TaskCompletionSource<SdpMessage>? pending = null;
        a.Client.Answer += m =>
        {
            Volatile.Read(ref pending)?.TrySetResult(m);
            return Task.CompletedTask;
        };
        b.Client.Offer += m => b.Client.SendAnswerAsync(m.From, m.Room, "answer-" + m.Sdp);

        // Warm up (JIT, first sends) outside the measurement.
        for (var i = 0; i < 100; i++)
        {
            var warm = new TaskCompletionSource<SdpMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref pending, warm);
            await a.Client.SendOfferAsync(bId, room, "warm-" + i).Within("a warm-up offer");
            await warm.Task.Within("a warm-up answer");
        }

        var floodStats = new FloodStats();
        var sent = 0;
        // One flooder for the whole test, flooding in the flood blocks and idle in the others, so it reaches its
        // rate limit, is dropped and comes back, as a hostile client would.
        var flooding = false;
        using var stopFlood = new CancellationTokenSource();
        // It gets a thread of its own, as an attacker has its own machine: a send loop that completes synchronously
        // would otherwise hold a thread-pool thread and starve the test's own clients, not the server.
        var flood = Task.Factory.StartNew(() => Flood(node.HubUri, floodStats, () => Volatile.Read(ref flooding), stopFlood.Token), TaskCreationOptions.LongRunning);

        // A p99 of a few milliseconds on a shared 2-core machine is noisy: another process's burst can land on the
        // flood blocks of one measurement. Noise does not repeat, starvation does: the rule must hold in one of
        // MaxMeasurements independent measurements (each its own interleaved baseline and flood), and a server that
        // lets the flood slow other rooms fails all of them.
        var verdicts = new List<string>();
        var isolated = false;
        for (var measurement = 1; measurement <= MaxMeasurements && !isolated; measurement++)
        {
            var baseline = new List<double>();
            var flooded = new List<double>();
            for (var block = 0; block < Blocks; block++)
            {
                var underFlood = block % 2 == 1;
                Volatile.Write(ref flooding, underFlood);
                // No wait for the flooder here: while the server is dropping it, it may spend seconds reconnecting, and
                // that is the flood's business; that it flooded and was dropped is asserted at the end.
                for (var i = 0; i < RoundTripsPerBlock; i++)
                {
                    var answer = new TaskCompletionSource<SdpMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
                    Volatile.Write(ref pending, answer);
                    var sdp = $"offer-{measurement}-{block}-{i}";
                    var started = Stopwatch.GetTimestamp();
                    await a.Client.SendOfferAsync(bId, room, sdp).Within("an offer");
                    var received = await answer.Task.Within($"the answer to {sdp} (lost?)");
                    var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    (underFlood ? flooded : baseline).Add(ms);
                    Assert.Equal("answer-" + sdp, received.Sdp);
                    sent++;

                    // A well-behaved peer: at most one offer per PacingInterval (well under the default 200
                    // invocations/s). Unpaced, a quiet machine completes round trips in about a millisecond and the
                    // calm peer would itself run past the rate limit, which is not what this test is about.
                    var rest = PacingInterval - Stopwatch.GetElapsedTime(started);
                    if (rest > TimeSpan.Zero)
                    {
                        await Task.Delay(rest);
                    }
                }
            }

            Volatile.Write(ref flooding, false);
            var p99Baseline = Percentile(baseline, 0.99);
            var p99Flooded = Percentile(flooded, 0.99);
            isolated = p99Flooded <= Math.Max(2 * p99Baseline, p99Baseline + NoticeableDelay);
            var verdict = $"measurement {measurement}: {baseline.Count} baseline round trips, p50 {Percentile(baseline, 0.5):F2} ms, "
                + $"p99 {p99Baseline:F2} ms; {flooded.Count} flooded, p50 {Percentile(flooded, 0.5):F2} ms, p99 {p99Flooded:F2} ms "
                + (isolated ? $"(within twice the baseline or {NoticeableDelay} ms of it)" : $"(more than twice the baseline and {NoticeableDelay} ms above it)");
            verdicts.Add(verdict);
            output.WriteLine(verdict);
        }

        await stopFlood.CancelAsync();
        await flood.Within("the flood to stop");
        output.WriteLine($"flood: {floodStats.Sent} invocations over {floodStats.Connections} connections, {floodStats.Dropped} dropped by the server");

        // Nothing lost: every offer reached b and every answer came back (each round trip above waited for it).
        Assert.Equal(sent + 100, b.Count(RoomClientEvents.Offer));
        Assert.All(b.All<SdpMessage>(RoomClientEvents.Offer), m => Assert.Equal(aId, m.From));
        // The flooder was dropped for pushing past its rate (more than once: it came back), the calm peers never.
        Assert.True(floodStats.Dropped >= 2, $"the flooder was dropped {floodStats.Dropped} times");
        Assert.Equal(Microsoft.AspNetCore.SignalR.Client.HubConnectionState.Connected, a.Client.State);
        Assert.Equal(Microsoft.AspNetCore.SignalR.Client.HubConnectionState.Connected, b.Client.State);
        Assert.True(isolated, $"p99 under flood stayed above twice the baseline and more than {NoticeableDelay} ms above it in every measurement: " + string.Join("; ", verdicts));
    }

    /// <summary>Sends relays for a room the flooder is not in, back to back, reconnecting whenever the server drops it.</summary>
    private static void Flood(Uri hubUri, FloodStats stats, Func<bool> active, CancellationToken cancellationToken)
    {
        var frame = """{"type":1,"target":"Candidate","arguments":[{"to":"nobody","room":"not-mine","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}}]}""";
        while (!cancellationToken.IsCancellationRequested)
        {
            RawHubSocket socket;
            try
            {
                socket = RawHubSocket.ConnectAsync(hubUri, cancellationToken).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Interlocked.Increment(ref stats.Connections);
            try
            {
                // Read what the server says, as a real client would: its close is how the flooder learns it was dropped.
                using var dropped = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var reader = Task.Run(async () =>
                {
                    try
                    {
                        while (await socket.ReceiveAsync(dropped.Token) is not null)
                        {
                        }
                    }
                    catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
                    {
                    }

                    await dropped.CancelAsync();
                });
                try
                {
                    var paced = Stopwatch.StartNew();
                    var sentHere = 0L;
                    while (!dropped.IsCancellationRequested)
                    {
                        if (!active())
                        {
                            Thread.Sleep(1);
                            paced.Restart();
                            sentHere = 0;
                            continue;
                        }

                        socket.SendAsync(frame, dropped.Token).GetAwaiter().GetResult();
                        Interlocked.Increment(ref stats.Sent);
                        if (++sentHere % 100 == 0)
                        {
                            // Paced at FloodRate: the generator shares this 2-core machine, and its own CPU is not what we measure.
                            var ahead = (sentHere * 1000.0 / FloodRate) - paced.Elapsed.TotalMilliseconds;
                            if (ahead > 0)
                            {
                                Thread.Sleep(TimeSpan.FromMilliseconds(ahead));
                            }
                        }
                    }
                }
                catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
                {
                }

                dropped.Cancel();
                reader.GetAwaiter().GetResult();
                if (!cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref stats.Dropped);
                }
            }
            finally
            {
                socket.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
    }

    private static double Percentile(List<double> samples, double p)
    {
        var sorted = samples.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    private sealed class FloodStats
    {
        public int Sent;
        public int Connections;
        public int Dropped;
    }
}

/// <summary>Runs <see cref="FloodIsolationTests"/> alone, after the tests that run in parallel.</summary>
[CollectionDefinition(nameof(FloodIsolationTests), DisableParallelization = true)]
public sealed class FloodIsolationCollection;
