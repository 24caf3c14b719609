using System.Diagnostics;
using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Failures;

/// <summary>
/// Redis restarted without persistence, or wiped with FLUSHALL: the nodes put back the memberships of their
/// live connections within 10 s, and nobody who left meanwhile comes back as a ghost.
/// </summary>
public sealed class RedisWipeTests
{
    private static readonly TimeSpan RecoveryDeadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task RedisRestartedEmptyGetsTheLiveMembershipsBackWithinTenSeconds()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        var prefix = TestCluster.UniquePrefix();
        await using var nodeA = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await using var nodeB = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await using var a = await Peer.ConnectAsync(nodeA);
        await using var b = await Peer.ConnectAsync(nodeB);
        var leaver = await Peer.ConnectAsync(nodeA);
        var room = TestNames.Unique("restart");
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        await leaver.JoinAsync(room);

        await redis.KillAsync();
        var leaverId = leaver.Id;
        await leaver.DisposeAsync(); // leaves while Redis is down
        await redis.RestartAsync();
        var answering = Stopwatch.StartNew();

        await Eventually.UntilAsync(
            async () => (await TestCluster.TryMembersAsync(redis, prefix, room))?.SequenceEqual(TestCluster.Sorted(a.Id, b.Id)) == true,
            "the live members to be back in Redis",
            RecoveryDeadline);
        Assert.True(answering.Elapsed < RecoveryDeadline, $"recovered after {answering.Elapsed}");

        await using var late = await Peer.ConnectAsync(nodeB);
        var joined = await late.JoinAsync(room);
        Assert.Equal(TestCluster.Sorted(a.Id, b.Id), TestCluster.Sorted([.. joined.Peers.Select(p => p.Id)]));
        Assert.DoesNotContain(leaverId, joined.Peers.Select(p => p.Id));

        // The nodes resubscribed: a relay across nodes and a join notice still arrive.
        await a.WaitForJoinedAsync(late.Id, room);
        await a.OfferAsync(late.Id, room, "v=0 after restart");
        await Eventually.UntilAsync(() => late.Offers.Any(o => o.From == a.Id), "the offer across nodes after the restart");
    }

    [Fact]
    public async Task FlushAllIsRepairedWithinTenSeconds()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        var prefix = TestCluster.UniquePrefix();
        await using var nodeA = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await using var nodeB = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await using var a = await Peer.ConnectAsync(nodeA);
        await using var b = await Peer.ConnectAsync(nodeB);
        var room = TestNames.Unique("flush");
        var other = TestNames.Unique("flush-other");
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        await b.JoinAsync(other);

        var admin = await TestCluster.AdminAsync(redis);
        await admin.GetServer(redis.Host, redis.Port).FlushAllDatabasesAsync();

        var flushed = Stopwatch.StartNew();
        await Eventually.UntilAsync(
            async () => (await TestCluster.MembersAsync(redis, prefix, room)).SequenceEqual(TestCluster.Sorted(a.Id, b.Id))
                && (await TestCluster.MembersAsync(redis, prefix, other)).SequenceEqual([b.Id]),
            "the memberships to be put back after FLUSHALL",
            RecoveryDeadline);
        Assert.True(flushed.Elapsed < RecoveryDeadline, $"recovered after {flushed.Elapsed}");

        await using var late = await Peer.ConnectAsync(nodeA);
        var joined = await late.JoinAsync(room);
        Assert.Equal(TestCluster.Sorted(a.Id, b.Id), TestCluster.Sorted([.. joined.Peers.Select(p => p.Id)]));
        await b.OfferAsync(late.Id, room);
        await Eventually.UntilAsync(() => late.Offers.Any(o => o.From == b.Id), "the offer across nodes after FLUSHALL");
    }

    [Fact]
    public async Task ANodeStartedWhileRedisIsDownServesRoomsOnceRedisAnswers()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        var prefix = TestCluster.UniquePrefix();
        await using var nodeA = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await redis.KillAsync();
        await using var nodeB = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await redis.RestartAsync();

        // Clients arrive at once, without waiting for /readyz: a connection is refused until the node reaches Redis
        // again, and a join until the node can serve it.
        await using var a = await Peer.ConnectWhenAcceptedAsync(nodeA, RecoveryDeadline);
        await using var b = await Peer.ConnectWhenAcceptedAsync(nodeB, RecoveryDeadline);
        var room = TestNames.Unique("late-redis");
        await b.JoinWhenAcceptedAsync(room, RecoveryDeadline);
        var joined = await a.JoinWhenAcceptedAsync(room, RecoveryDeadline);

        Assert.Equal([b.Id], joined.Peers.Select(p => p.Id));
        await b.WaitForJoinedAsync(a.Id, room);
        await a.OfferAsync(b.Id, room);
        await Eventually.UntilAsync(() => b.Offers.Count == 1, "the offer to the node that started without Redis");

        // And the node says so to a load balancer.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var ready = await http.GetAsync(new Uri(nodeB.BaseUri, "readyz")).Within("/readyz of the node that started without Redis");
        Assert.True(ready.IsSuccessStatusCode, $"/readyz answered {(int)ready.StatusCode}");
    }
}
