using Microsoft.Extensions.DependencyInjection;
using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Server.Rooms;
using RoomSignal.Server.Rooms.Redis;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Ordering;

/// <summary>
/// A node reads the change stream behind the answers of its own scripts (a busy node does, for milliseconds): the
/// changes it reads late must still be told at their place, and a change from a membership that has ended since must
/// not stand in for the one a new join is waiting for.
/// </summary>
public sealed class LateStreamTests
{
    [Fact]
    public async Task AMemberThatLeavesAndJoinsAgainBeforeItsNodeReadsItsFirstJoinGetsCreatedAtItsNewJoin()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = TestCluster.UniquePrefix();
        await using var node = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        var store = (RedisRoomStore)node.Services.GetRequiredService<IRoomStore>();
        await using var first = await Peer.ConnectAsync(node);
        await using var second = await Peer.ConnectAsync(node);
        var room = TestNames.Unique("late");
        using var reader = new ManualResetEventSlim(initialState: false);
        store.BeforeChangeRead = () => reader.Wait(TimeSpan.FromSeconds(10));
        try
        {
            // The first member joins the empty room: its answer is the room, so it needs nothing from the stream.
            var joined = await first.JoinAsync(room);
            Assert.Empty(joined.Peers);

            // The second one's join waits for its change on the stream, which the node has not read yet.
            var secondJoin = second.JoinAsync(room);
            await Eventually.UntilAsync(async () => (await TestCluster.MembersAsync(redis, prefix, room)).Length == 2, "the second join to reach Redis");

            // The first member leaves and joins again, all before the node has read even its first join.
            await first.ExitAsync(room);
            var rejoin = first.JoinAsync(room);
            await Eventually.UntilAsync(async () => (await TestCluster.MembersAsync(redis, prefix, room)).Length == 2, "the new join to reach Redis");

            reader.Set();
            var again = await rejoin;
            var secondJoined = await secondJoin;

            // Changes of the room: 1 first joins, 2 second joins, 3 first leaves, 4 first joins again.
            Assert.Equal(joined.Seq + 1, secondJoined.Seq);
            Assert.Equal([first.Id], secondJoined.Peers.Select(p => p.Id));
            Assert.Equal(joined.Seq + 3, again.Seq);
            Assert.Equal([second.Id], again.Peers.Select(p => p.Id));
            await second.WaitForJoinedAsync(first.Id, room);
            Assert.Equal([(first.Id, joined.Seq + 2)], second.Exits.Select(e => (e.From, e.Seq)));
            Assert.Equal([(first.Id, joined.Seq + 3)], second.Joined.Select(e => (e.Id, e.Seq)));
            Assert.Empty(first.Joined);
            Assert.Empty(first.Exits);
        }
        finally
        {
            store.BeforeChangeRead = null;
            reader.Set();
        }
    }
}
