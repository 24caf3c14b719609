using Microsoft.AspNetCore.SignalR;
using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Membership;

/// <summary>The same-room check on every relay is answered by the node itself, and right after a join too.</summary>
public sealed class RelayCheckTests
{
    [Fact]
    public async Task RelaysAtSteadyStateDoNotAskRedisWhoIsInTheRoom()
    {
        await using var redis = await RedisServer.StartOwnedAsync(); // its own server, so that the command counts are ours alone
        var prefix = TestCluster.UniquePrefix();
        await using var nodeA = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await using var nodeB = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await using var a = await Peer.ConnectAsync(nodeA);
        await using var b = await Peer.ConnectAsync(nodeB);
        var room = TestNames.Unique("steady");
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        await a.OfferAsync(b.Id, room); // warm-up
        await Eventually.UntilAsync(() => b.Offers.Count == 1, "the warm-up offer");

        var before = await TestCluster.CommandCountsAsync(redis);
        for (var i = 0; i < 100; i++)
        {
            await a.CandidateAsync(b.Id, room);
            await b.CandidateAsync(a.Id, room);
        }

        await Eventually.UntilAsync(() => a.Candidates.Count == 100 && b.Candidates.Count == 100, "200 candidates across nodes");
        var after = await TestCluster.CommandCountsAsync(redis);
        foreach (var command in new[] { "hexists", "hget", "hkeys", "hgetall", "sismember", "smembers", "eval" })
        {
            Assert.Equal(before.GetValueOrDefault(command), after.GetValueOrDefault(command));
        }

        // Scripts still run for heartbeats (a few per node in this time), but not once per relay.
        Assert.True(after.GetValueOrDefault("evalsha") - before.GetValueOrDefault("evalsha") < 20, "no script per relay");
    }

    [Fact]
    public async Task ARelayToAPeerThatJustJoinedOnAnotherNodeIsNeverRefused()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = TestCluster.UniquePrefix();
        await using var nodeA = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await using var nodeB = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await using var a = await Peer.ConnectAsync(nodeA);
        var room = TestNames.Unique("fresh");
        await a.JoinAsync(room);
        for (var i = 0; i < 20; i++)
        {
            await using var b = await Peer.ConnectAsync(nodeB);
            var joined = await b.JoinAsync(room);
            await b.OfferAsync(a.Id, room); // b's node learned a from the join itself
            await a.AnswerAsync(b.Id, room); // a's node may not have seen b's join event yet
            Assert.Contains(a.Id, joined.Peers.Select(p => p.Id));
            await b.ExitAsync(room);
        }
    }

    [Fact]
    public async Task ARelayToAPeerThatLeftOnAnotherNodeIsRefused()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = TestCluster.UniquePrefix();
        await using var nodeA = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await using var nodeB = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await using var a = await Peer.ConnectAsync(nodeA);
        await using var b = await Peer.ConnectAsync(nodeB);
        var room = TestNames.Unique("gone");
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        await a.OfferAsync(b.Id, room);

        await b.ExitAsync(room);
        await a.WaitForExitAsync(b.Id, room);

        await Assert.ThrowsAsync<HubException>(() => a.OfferAsync(b.Id, room));
        Assert.Single(b.Offers);
    }
}
