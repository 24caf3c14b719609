using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Testing;
using Xunit.Abstractions;

namespace RoomSignal.Cluster.Tests.Ordering;

/// <summary>
/// Rule 9 through failures in the middle of churn on two nodes: a node's crash and sweep, and a Redis wipe. Every
/// member still never sees a duplicate <c>joined</c>, an unknown <c>exit</c> or an event outside its membership, and
/// its view ends equal to the room in Redis. (A wipe is a recovery: the nodes send the difference at the room's
/// current seq, so there seq may jump and repeat, never go back.)
/// </summary>
public sealed class ChurnRecoveryTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ANodeCrashingInTheMiddleOfChurnIsSweptAndEveryViewStaysExact()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = TestCluster.UniquePrefix();
        // A short TTL, so that the sweep of the crashed node lands inside the churn.
        var configuration = TestCluster.NodeConfiguration(redis, prefix, TestCluster.FastSweep);
        await using var doomed = await RoomSignalProcess.StartAsync(configuration);
        await using var survivor = await RoomSignalNode.StartAsync(configuration);
        var checker = new RoomViewChecker(contiguousSeq: true);
        var churn = new RoomChurn([doomed, survivor], checker, new RoomChurnOptions { Peers = 120, RoomSize = 4, Duration = TimeSpan.FromSeconds(5) });

        var result = await churn.RunAsync(
            rooms => ClusterViews.MembersInRedisAsync(redis, prefix, rooms),
            duringChurn: async () =>
            {
                await Task.Delay(TimeSpan.FromSeconds(1.5));
                await doomed.KillAsync();
            });

        output.WriteLine(result.ToString());
        output.WriteLine(checker.Report());
        Assert.True(result.Cycles >= 200, $"the churn should be heavy: {result}");
        // The sweep's exits are ordinary changes of the rooms: seqs stay contiguous for the survivors' members.
        checker.AssertNone();
    }

    [Fact]
    public async Task ARedisWipeInTheMiddleOfChurnIsRecoveredAndEveryViewEndsExact()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        var prefix = TestCluster.UniquePrefix();
        await using var nodeA = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await using var nodeB = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        var checker = new RoomViewChecker(allowRecovery: true);
        var churn = new RoomChurn([nodeA, nodeB], checker, new RoomChurnOptions { Peers = 120, RoomSize = 4, Duration = TimeSpan.FromSeconds(7) });

        var result = await churn.RunAsync(
            rooms => ClusterViews.MembersInRedisAsync(redis, prefix, rooms),
            duringChurn: async () =>
            {
                await Task.Delay(TimeSpan.FromSeconds(2.5));
                var admin = await TestCluster.AdminAsync(redis);
                await admin.GetServer(redis.Host, redis.Port).FlushAllDatabasesAsync();
            });

        output.WriteLine(result.ToString());
        output.WriteLine(checker.Report());
        Assert.True(result.Cycles >= 300, $"the churn should be heavy: {result}");
        checker.AssertNone();
    }
}
