using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Testing;
using Xunit.Abstractions;

namespace RoomSignal.Cluster.Tests.Ordering;

/// <summary>
/// Rule 9 across nodes: under heavy churn on two nodes sharing a Redis, every member sees its rooms' changes once,
/// in the room's order with contiguous seqs, whichever node made them, and its view ends equal to the room in Redis.
/// </summary>
public sealed class ClusterChurnViewTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TwoHundredPeersChurningOnTwoNodesSeeEveryChangeOnceAndInOrder()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = TestCluster.UniquePrefix();
        await using var nodeA = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await using var nodeB = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        var checker = new RoomViewChecker(contiguousSeq: true);
        // Peer i starts on node i % 2 and, after each disconnect, connects to the other node: rooms mix both nodes.
        var churn = new RoomChurn([nodeA, nodeB], checker, new RoomChurnOptions { Peers = 200, RoomSize = 4, Duration = TimeSpan.FromSeconds(6) });

        var result = await churn.RunAsync(rooms => ClusterViews.MembersInRedisAsync(redis, prefix, rooms));

        output.WriteLine(result.ToString());
        output.WriteLine(checker.Report());
        Assert.True(result.Cycles >= 1000, $"the churn should be heavy: {result}");
        Assert.True(result.Disconnects > 0, $"some leaves should be disconnects: {result}");
        Assert.Empty(result.FailedCalls);
        checker.AssertNone();
    }

    [Fact]
    public async Task TheSamePeersRacingInAndOutOfTwoRoomsFromBothNodesSeeEveryChangeOnceAndInOrder()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = TestCluster.UniquePrefix();
        // Each peer joins and leaves as fast as the server answers, far past the join rate a real client needs.
        (string, string)[] unlimited = [("RoomSignal:Limits:JoinsPerSecond", "100000"), ("RoomSignal:Limits:JoinBurst", "100000")];
        await using var nodeA = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix, unlimited));
        await using var nodeB = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix, unlimited));
        var checker = new RoomViewChecker(contiguousSeq: true);
        // 16 peers, 8 per node, all moving between the same two rooms with almost no pause: joins and leaves of the
        // same rooms race on both nodes all the time.
        var churn = new RoomChurn([nodeA, nodeB], checker, new RoomChurnOptions
        {
            Peers = 16, RoomSize = 8, Duration = TimeSpan.FromSeconds(4), HoldMilliseconds = (0, 5), MaxPauseMilliseconds = 2, DisconnectShare = 0.1,
        });

        var result = await churn.RunAsync(rooms => ClusterViews.MembersInRedisAsync(redis, prefix, rooms));

        output.WriteLine(result.ToString());
        output.WriteLine(checker.Report());
        Assert.True(result.Cycles >= 500, $"the race should be busy: {result}");
        Assert.Empty(result.FailedCalls);
        checker.AssertNone();
    }
}

/// <summary>The rooms as Redis holds them, for <see cref="RoomChurn.RunAsync"/>.</summary>
internal static class ClusterViews
{
    public static async Task<IReadOnlyDictionary<string, IReadOnlySet<string>>> MembersInRedisAsync(RedisServer redis, string prefix, IReadOnlyList<string> rooms)
    {
        var members = await Task.WhenAll(rooms.Select(r => TestCluster.MembersAsync(redis, prefix, r)));
        return rooms.Select((r, i) => (r, members[i]))
            .ToDictionary(x => x.r, x => (IReadOnlySet<string>)x.Item2.ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
    }
}
