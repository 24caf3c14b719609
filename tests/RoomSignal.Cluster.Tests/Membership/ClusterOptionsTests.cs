using Microsoft.Extensions.Options;
using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Membership;

/// <summary>Cluster settings are checked when a node starts, not when a crash finally needs them.</summary>
public sealed class ClusterOptionsTests
{
    [Theory]
    [InlineData("00:00:10", "00:00:10", "SweepInterval")]
    [InlineData("00:00:00.500", "00:00:00.100", "HeartbeatTtl")]
    public async Task ANodeWithUnusableClusterTimingsRefusesToStart(string heartbeatTtl, string sweepInterval, string named)
    {
        await using var redis = await RedisServer.StartAsync();
        var configuration = TestCluster.NodeConfiguration(
            redis, TestCluster.UniquePrefix(), ("RoomSignal:Cluster:HeartbeatTtl", heartbeatTtl), ("RoomSignal:Cluster:SweepInterval", sweepInterval));

        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => RoomSignalNode.StartAsync(configuration));

        Assert.Contains(named, refused.Message, StringComparison.Ordinal);
    }
}
