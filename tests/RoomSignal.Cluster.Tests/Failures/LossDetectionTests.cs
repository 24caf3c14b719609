using Microsoft.Extensions.DependencyInjection;
using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Redis;
using RoomSignal.Server.Rooms;
using RoomSignal.Server.Rooms.Redis;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Failures;

/// <summary>
/// Each heartbeat compares how many of the node's connections Redis holds with how many the node has: it must see
/// memberships Redis lost, and never take a busy node's joins and leaves for a loss (a false one re-reads every room
/// and sends members differences that skip seqs, which the two-node churn test caught in CI).
/// </summary>
public sealed class LossDetectionTests
{
    // A long TTL keeps the node's own heartbeat (every TTL / 3) out of the way of the beats these tests make.
    private static readonly (string, string) SlowHeartbeat = ("RoomSignal:Cluster:HeartbeatTtl", "00:01:00");

    [Fact]
    public async Task JoinsAnsweredBetweenABeatsCountInRedisAndItsCountHereAreNoLoss()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = TestCluster.UniquePrefix();
        await using var node = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix, SlowHeartbeat));
        var store = (RedisRoomStore)node.Services.GetRequiredService<IRoomStore>();
        await using var a = await Peer.ConnectAsync(node);
        await using var b = await Peer.ConnectAsync(node);
        await using var c = await Peer.ConnectAsync(node);
        var room = TestNames.Unique("beat");
        await a.JoinAsync(room);
        try
        {
            // Twice in a row, a join lands in Redis after the beat counted there and is answered before the node counts
            // (a busy node's thread pool runs the beat's continuation late): the node has one more than Redis counted.
            foreach (var joiner in new[] { b, c })
            {
                store.AfterHeartbeatScript = () => joiner.JoinAsync(room);
                Assert.Equal(HeartbeatStatus.Intact, await store.HeartbeatAsync().Within("a heartbeat with a join in it"));
            }
        }
        finally
        {
            store.AfterHeartbeatScript = null;
        }

        Assert.Equal(TestCluster.Sorted(a.Id, b.Id, c.Id), await TestCluster.MembersAsync(redis, prefix, room));
    }

    [Fact]
    public async Task AHeartbeatFindsAConnectionRedisLostWhileItsRoomsStayPut()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = TestCluster.UniquePrefix();
        await using var node = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix, SlowHeartbeat));
        var store = (RedisRoomStore)node.Services.GetRequiredService<IRoomStore>();
        await using var a = await Peer.ConnectAsync(node);
        await using var b = await Peer.ConnectAsync(node);
        var room = TestNames.Unique("lost");
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        Assert.Equal(HeartbeatStatus.Intact, await store.HeartbeatAsync().Within("a heartbeat"));

        // Redis forgets one connection of the node (a failover that lost its last writes does this), nothing else.
        var admin = await TestCluster.AdminAsync(redis);
        Assert.True(await admin.GetDatabase().SetRemoveAsync(new RedisKeyspace(prefix).NodeConnections(store.NodeId), b.Id));

        Assert.Equal(HeartbeatStatus.Lost, await store.HeartbeatAsync().Within("a heartbeat"));
    }
}
