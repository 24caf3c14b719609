using System.Diagnostics;
using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Failures;

/// <summary>A node killed with <c>kill -9</c> leaves no ghosts: its peers hear <c>exit</c> within 15 s.</summary>
public sealed class NodeCrashTests
{
    [Fact]
    public async Task MembersOfAKilledNodeAreReportedGoneWithinFifteenSecondsWithDefaultSettings()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = TestCluster.UniquePrefix();
        var configuration = TestCluster.NodeConfiguration(redis, prefix);
        await using var doomed = await RoomSignalProcess.StartAsync(configuration);
        await using var survivor = await RoomSignalProcess.StartAsync(configuration);
        await using var a1 = await Peer.ConnectAsync(doomed);
        await using var a2 = await Peer.ConnectAsync(doomed);
        await using var b = await Peer.ConnectAsync(survivor);
        var room = TestNames.Unique("crash");
        await a1.JoinAsync(room);
        await a2.JoinAsync(room);
        var joined = await b.JoinAsync(room);
        Assert.Equal(TestCluster.Sorted(a1.Id, a2.Id), TestCluster.Sorted([.. joined.Peers.Select(p => p.Id)]));

        var killedAt = Stopwatch.StartNew();
        await doomed.KillAsync();

        await b.WaitForExitAsync(a1.Id, room, TimeSpan.FromSeconds(15));
        await b.WaitForExitAsync(a2.Id, room, TimeSpan.FromSeconds(15) - killedAt.Elapsed);
        Assert.Equal(2, b.Exits.Count);
        Assert.Equal([b.Id], await TestCluster.MembersAsync(redis, prefix, room));

        await using var c = await Peer.ConnectAsync(survivor);
        var late = await c.JoinAsync(room);
        Assert.Equal([b.Id], late.Peers.Select(p => p.Id));
        Assert.DoesNotContain(await TestCluster.KeysAsync(redis, prefix), k => k.Contains(":rooms-of:" + a1.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AShortHeartbeatTtlReportsACrashSooner()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = TestCluster.UniquePrefix();
        var configuration = TestCluster.NodeConfiguration(redis, prefix, TestCluster.FastSweep);
        await using var doomed = await RoomSignalProcess.StartAsync(configuration);
        await using var survivor = await RoomSignalNode.StartAsync(configuration);
        await using var a = await Peer.ConnectAsync(doomed);
        await using var b = await Peer.ConnectAsync(survivor);
        var room = TestNames.Unique("crash-fast");
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        await doomed.KillAsync();

        await b.WaitForExitAsync(a.Id, room, TimeSpan.FromSeconds(6));
        Assert.Equal([b.Id], await TestCluster.MembersAsync(redis, prefix, room));
    }

    [Fact]
    public async Task ANodeThatWasFrozenPastItsTtlForgetsTheMembersItsPeersWereToldAreGone()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = TestCluster.UniquePrefix();
        var configuration = TestCluster.NodeConfiguration(redis, prefix, TestCluster.FastSweep);
        await using var frozen = await RoomSignalProcess.StartAsync(configuration);
        await using var survivor = await RoomSignalNode.StartAsync(configuration);
        await using var a = await Peer.ConnectAsync(frozen);
        await using var b = await Peer.ConnectAsync(survivor);
        var room = TestNames.Unique("frozen");
        await a.JoinAsync(room);
        await b.JoinAsync(room);

        await frozen.SuspendAsync();
        try
        {
            await b.WaitForExitAsync(a.Id, room, TimeSpan.FromSeconds(8));
        }
        finally
        {
            await frozen.ResumeAsync();
        }

        // Back to life, the node must not quietly put a back: b was told a left.
        await Eventually.UntilAsync(
            async () =>
            {
                try
                {
                    await a.OfferAsync(b.Id, room);
                    return false;
                }
                catch (Microsoft.AspNetCore.SignalR.HubException)
                {
                    return true;
                }
            },
            "the thawed node to refuse a's relays into the room its peers were told it left");
        Assert.Equal([b.Id], await TestCluster.MembersAsync(redis, prefix, room));

        var again = await a.JoinAsync(room);
        Assert.Equal([b.Id], again.Peers.Select(p => p.Id));
        await b.WaitForJoinedAsync(a.Id, room);
    }
}
