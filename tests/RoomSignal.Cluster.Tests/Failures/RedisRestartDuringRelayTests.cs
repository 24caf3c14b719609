using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.SignalR;
using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Failures;

/// <summary>
/// redis-server killed and started again (empty) while two peers on two node processes relay to each other without
/// pause: nothing hangs, what could not be delivered is refused to its sender with a clear error (and counted), no
/// relay the server accepted is lost uncounted (but the one in flight at the instant Redis dies), <c>/readyz</c> goes
/// 503 and back to 200, relaying resumes, and each node logs the outage once.
/// </summary>
public sealed class RedisRestartDuringRelayTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task RelaysAcrossNodesResumeAfterRedisRestartsAndTheOutageIsLoggedOnceAndSaidToSenders()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        var configuration = TestCluster.NodeConfiguration(redis, TestCluster.UniquePrefix(), ("RoomSignal:Metrics:Prometheus", "true"));
        await using var nodeA = await RoomSignalProcess.StartAsync(configuration);
        await using var nodeB = await RoomSignalProcess.StartAsync(configuration);
        await using var a = await Peer.ConnectAsync(nodeA);
        await using var b = await Peer.ConnectAsync(nodeB);
        var room = TestNames.Unique("restart-relay");
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        await a.WaitForJoinedAsync(b.Id, room);

        // a offers to b, b answers a, one after the other, every 10 ms, numbered; every call is time-boxed.
        var accepted = new System.Collections.Concurrent.ConcurrentBag<string>();
        var timings = new System.Collections.Concurrent.ConcurrentDictionary<string, (long Start, long End)>();
        var refusals = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var sent = 0;
        long killStart = 0, killEnd = 0;
        var relay = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref sent).ToString(CultureInfo.InvariantCulture);
                await Attempt(() => a.OfferAsync(b.Id, room, "v=0 offer " + n), "offer " + n);
                await Attempt(() => b.AnswerAsync(a.Id, room, "v=0 answer " + n), "answer " + n);
                await Task.Delay(10);
            }
        });

        async Task Attempt(Func<Task> call, string what)
        {
            var start = Stopwatch.GetTimestamp();
            try
            {
                await call().Within(what, TimeSpan.FromSeconds(5)); // nothing may hang
                accepted.Add(what);
                timings[what] = (start, Stopwatch.GetTimestamp());
            }
            catch (HubException ex)
            {
                refusals.Enqueue($"{what}: {ex.Message}");
            }
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        async Task<HttpStatusCode> ReadyAsync(RoomSignalProcess node) => (await http.GetAsync(new Uri(node.BaseUri, "readyz"))).StatusCode;

        try
        {
            await Eventually.UntilAsync(() => b.Offers.Count >= 20 && a.Answers.Count >= 20, "the relay to run across the nodes", Deadline);

            killStart = Stopwatch.GetTimestamp();
            await redis.KillAsync();
            killEnd = Stopwatch.GetTimestamp();
            await Eventually.UntilAsync(async () => await ReadyAsync(nodeA) == HttpStatusCode.ServiceUnavailable && await ReadyAsync(nodeB) == HttpStatusCode.ServiceUnavailable,
                "both nodes' /readyz to report 503 while Redis is down", Deadline);
            var refusedBefore = refusals.Count;
            await Eventually.UntilAsync(() => refusals.Count >= refusedBefore + 10, "relays to be refused while Redis is down", Deadline);

            await redis.RestartAsync();
            await Eventually.UntilAsync(async () => await ReadyAsync(nodeA) == HttpStatusCode.OK && await ReadyAsync(nodeB) == HttpStatusCode.OK,
                "both nodes' /readyz to report 200 again", Deadline);

            // Relaying resumes both ways.
            var offers = b.Offers.Count;
            var answers = a.Answers.Count;
            await Eventually.UntilAsync(() => b.Offers.Count >= offers + 20 && a.Answers.Count >= answers + 20, "the relay to resume across the nodes", Deadline);
        }
        finally
        {
            await stop.CancelAsync();
            await relay.Within("the relay loop to stop");
        }

        // Every relay the server accepted arrived, except those published in the moment after the restart when the
        // receiving node had not resubscribed yet: Redis tells the sender no node heard them, and they are counted.
        // The one exception: the relay in flight while Redis was being killed (the loop sends one at a time). PUBLISH
        // answers how many subscribers Redis queued the message for, not how many it reached: the answer to the publisher
        // and the message to the subscriber are separate writes, and a SIGKILL between them loses a relay its sender saw
        // accepted (seen once in CI: offer 22, sent as the kill landed; docs/operations.md says so).
        var scrapeA = await PrometheusScrape.ReadAsync(nodeA);
        var scrapeB = await PrometheusScrape.ReadAsync(nodeB);
        var unheard = scrapeA.Sum("roomsignal_backplane_unheard_total") + scrapeB.Sum("roomsignal_backplane_unheard_total");
        string[] lost = [];
        try
        {
            await Eventually.UntilAsync(
                () =>
                {
                    var received = b.Offers.Select(o => o.Sdp["v=0 ".Length..]).Concat(a.Answers.Select(x => x.Sdp["v=0 ".Length..])).ToHashSet(StringComparer.Ordinal);
                    lost = [.. accepted.Where(x => !received.Contains(x) && !InFlightAtTheKill(x)).Order(StringComparer.Ordinal)];
                    return lost.Length <= unheard;
                },
                "every accepted relay to arrive or be counted as unheard",
                TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{lost.Length} of {accepted.Count} accepted relays never arrived and only {unheard} were counted unheard: {string.Join(", ", lost.Take(20))}");
        }

        var inFlight = accepted.Where(InFlightAtTheKill).ToArray();
        Assert.True(inFlight.Length <= 2, $"{inFlight.Length} accepted relays overlapped the kill (one at a time was sent): {string.Join(", ", inFlight)}");

        bool InFlightAtTheKill(string what) => timings.TryGetValue(what, out var t) && t.Start <= killEnd && t.End >= killStart;

        // What was refused was said in words a user can act on, and counted by reason.
        Assert.NotEmpty(refusals);
        var unspecific = refusals.Where(r => !r.Contains("cannot reach Redis", StringComparison.Ordinal) && !r.Contains("not a member", StringComparison.Ordinal)).ToArray();
        Assert.True(unspecific.Length == 0, $"{unspecific.Length} refusals did not say why, e.g. {unspecific.FirstOrDefault()}");
        var counted = scrapeA.Sum("roomsignal_relay_refusals_total", ("kind", "offer")) + scrapeB.Sum("roomsignal_relay_refusals_total", ("kind", "answer"));
        Assert.Equal(refusals.Count, counted);
        Assert.True(scrapeA.Sum("roomsignal_relay_refusals_total", ("reason", "unavailable")) > 0, "no refusal of node A was counted as unavailable");
        Assert.True(scrapeA.Sum("roomsignal_backplane_publish_errors_total") > 0, "node A counted no failed publish");

        // The outage is logged once per node when it starts and once when it ends, and no error is logged per message.
        foreach (var node in new[] { nodeA, nodeB })
        {
            var lines = node.Output.Split(Environment.NewLine);
            Assert.Equal(1, lines.Count(l => l.Contains("Lost Redis at", StringComparison.Ordinal)));
            Assert.Equal(1, lines.Count(l => l.Contains("is back; resubscribing", StringComparison.Ordinal)));
            var errors = lines.Where(l => l.Contains("fail:", StringComparison.Ordinal) || l.Contains("crit:", StringComparison.Ordinal)).ToArray();
            Assert.True(errors.Length <= 3, $"{errors.Length} errors logged during the outage:{Environment.NewLine}{string.Join(Environment.NewLine, errors.Take(10))}");
        }
    }
}
