using System.Diagnostics;
using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Failures;

/// <summary>A node stopped with SIGTERM tells the rooms of its connections before it exits.</summary>
public sealed class GracefulShutdownTests
{
    [Fact]
    public async Task SigtermOfANodeSendsItsMembersExitsToPeersOnOtherNodesAtOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = TestCluster.UniquePrefix();
        // A long heartbeat TTL, so that a sweep cannot be what sends the exits.
        var configuration = TestCluster.NodeConfiguration(redis, prefix, ("RoomSignal:Cluster:HeartbeatTtl", "00:01:00"));
        await using var stopping = await RoomSignalProcess.StartAsync(configuration);
        await using var staying = await RoomSignalNode.StartAsync(configuration);
        await using var a = await Peer.ConnectAsync(stopping);
        await using var b = await Peer.ConnectAsync(staying);
        await using var c = await Peer.ConnectAsync(staying);
        var room = TestNames.Unique("sigterm");
        var otherRoom = TestNames.Unique("sigterm-other");
        await a.JoinAsync(room);
        await a.JoinAsync(otherRoom);
        await b.JoinAsync(room);
        await c.JoinAsync(otherRoom);

        var signalled = Stopwatch.StartNew();
        await stopping.TerminateAsync();

        await b.WaitForExitAsync(a.Id, room, TimeSpan.FromSeconds(5));
        await c.WaitForExitAsync(a.Id, otherRoom, TimeSpan.FromSeconds(5));
        Assert.True(signalled.Elapsed < TimeSpan.FromSeconds(5), $"exits took {signalled.Elapsed}");
        Assert.Equal([b.Id], await TestCluster.MembersAsync(redis, prefix, room));
        Assert.Equal([c.Id], await TestCluster.MembersAsync(redis, prefix, otherRoom));

        await stopping.WaitForExitAsync();
        Assert.Single(b.Exits); // the disconnect that follows the drain sends no second exit
        Assert.Single(c.Exits);
        Assert.DoesNotContain(await TestCluster.KeysAsync(redis, prefix), k => k.Contains(":rooms-of:" + a.Id, StringComparison.Ordinal));
    }
}
