using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Metrics;

/// <summary>
/// The Redis side of the <c>RoomSignal</c> meter, scraped at <c>/metrics</c> of real node processes (one meter per
/// process, so the figures are that node's alone) while real Redis traffic, an outage and a crash sweep happen.
/// </summary>
public sealed class RedisMetricsTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task RedisPublishesChangesRoundTripsOutagesAndSweepsShowAtMetrics()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        var configuration = TestCluster.NodeConfiguration(
            redis,
            TestCluster.UniquePrefix(),
            ("RoomSignal:Metrics:Prometheus", "true"),
            ("RoomSignal:Metrics:RedisPingInterval", "00:00:00.200"),
            ("RoomSignal:Cluster:HeartbeatTtl", "00:00:02"),
            ("RoomSignal:Cluster:SweepInterval", "00:00:00.500"));
        await using var nodeA = await RoomSignalProcess.StartAsync(configuration);
        await using var nodeB = await RoomSignalProcess.StartAsync(configuration);

        // Connected, and the PING probe fills the round-trip histogram.
        var scrape = await UntilAsync(nodeA, s => s.Sum("roomsignal_redis_connected") == 1 && s.Sum("roomsignal_redis_rtt_seconds_count") >= 3,
            "node A to report Redis connected and three round trips");
        Assert.True(scrape.Sum("roomsignal_redis_rtt_seconds_sum") > 0, "the round trips took no time");
        Assert.True(scrape.Sum("roomsignal_redis_rtt_seconds_bucket", ("le", "+Inf")) >= 3);

        // Joins on both nodes: each node publishes its own change and receives both on the change channel; an offer
        // from A to B goes through the backplane.
        var room = TestNames.Unique("metered");
        await using var a = await Peer.ConnectAsync(nodeA);
        await using var b = await Peer.ConnectAsync(nodeB);
        await using var b2 = await Peer.ConnectAsync(nodeB);
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        await b2.JoinAsync(room);
        await a.OfferAsync(b.Id, room, "v=0 metered");
        await Eventually.UntilAsync(() => b.Offers.Count == 1, "the offer across nodes");
        scrape = await UntilAsync(nodeA, s => s.Sum("roomsignal_redis_changes_received_total") >= 3 && s.Sum("roomsignal_backplane_publishes_total") >= 1,
            "node A to count the three changes it received and its backplane publish");
        Assert.Equal(1, scrape.Sum("roomsignal_redis_publishes_total", ("change", "join")));
        Assert.Equal(0, scrape.Sum("roomsignal_redis_publish_errors_total"));
        Assert.Equal(0, scrape.Sum("roomsignal_backplane_publish_errors_total"));
        await UntilAsync(nodeB, s => s.Sum("roomsignal_redis_publishes_total", ("change", "join")) == 2, "node B to count its two joins");

        // Redis down: the gauge drops, a relay to the other node and a leave fail on Redis and are counted.
        await redis.KillAsync();
        await UntilAsync(nodeA, s => s.Sum("roomsignal_redis_connected") == 0, "node A to report Redis down");
        var refused = await nodeA.NegotiateAsync();
        Assert.True(refused.Status == 503, $"negotiate while Redis is down answered {refused}");
        await UntilAsync(nodeA, s => s.Sum("roomsignal_connection_refusals_total", ("reason", "redis")) == 1, "node A to count the negotiation it refused for Redis");
        try
        {
            await a.OfferAsync(b.Id, room, "v=0 lost");
        }
        catch (Microsoft.AspNetCore.SignalR.HubException)
        {
            // Refused or lost; either way the failed publish is what is counted.
        }

        await a.ExitAsync(room);
        scrape = await UntilAsync(nodeA, s => s.Sum("roomsignal_backplane_publish_errors_total") >= 1 && s.Sum("roomsignal_redis_publish_errors_total", ("change", "leave")) >= 1,
            "node A to count the failed backplane publish and the failed leave");
        var roundTripsWhileDown = scrape.Sum("roomsignal_redis_rtt_seconds_count");

        // Back: connected again, round trips again.
        await redis.RestartAsync();
        await UntilAsync(nodeA, s => s.Sum("roomsignal_redis_connected") == 1 && s.Sum("roomsignal_redis_rtt_seconds_count") > roundTripsWhileDown,
            "node A to report Redis connected again and measure round trips");

        // B crashes with two members (put back after the empty restart): A's sweep removes both and counts them.
        await Eventually.UntilAsync(async () => (await TestCluster.TryMembersAsync(redis, configuration["RoomSignal:Redis:Prefix"]!, room))?.Length == 2,
            "node B to put its two memberships back after the restart", Deadline);
        await nodeB.KillAsync();
        scrape = await UntilAsync(nodeA, s => s.Sum("roomsignal_sweep_members_total") >= 2, "node A's sweep to remove B's two memberships");
        Assert.True(scrape.Sum("roomsignal_sweeps_total") >= 1);
    }

    private static async Task<PrometheusScrape> UntilAsync(RoomSignalProcess node, Func<PrometheusScrape, bool> condition, string because)
    {
        PrometheusScrape? last = null;
        try
        {
            await Eventually.UntilAsync(async () => condition(last = await PrometheusScrape.ReadAsync(node)), because, Deadline);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}; last scrape:{Environment.NewLine}{Filtered(last)}", ex);
        }

        return last!;
    }

    private static string Filtered(PrometheusScrape? scrape)
        => scrape is null ? "(none)" : string.Join(Environment.NewLine, scrape.Text.Split('\n').Where(l => l.StartsWith("roomsignal_", StringComparison.Ordinal)));
}
