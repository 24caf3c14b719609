using Microsoft.AspNetCore.SignalR;
using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Membership;

/// <summary>Joins racing from several nodes never admit more members than the room holds.</summary>
public sealed class CapacityRaceTests
{
    [Fact]
    public async Task ThreeNodesRacingJoinsIntoOneRoomNeverExceedItsCapacity()
    {
        const int capacity = 3;
        const int peersPerNode = 4;
        await using var redis = await RedisServer.StartAsync();
        var prefix = TestCluster.UniquePrefix();
        var configuration = TestCluster.NodeConfiguration(redis, prefix, ("RoomSignal:Rooms:MaxPeers", capacity.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await using var node1 = await RoomSignalNode.StartAsync(configuration);
        await using var node2 = await RoomSignalNode.StartAsync(configuration);
        await using var node3 = await RoomSignalNode.StartAsync(configuration);
        var peers = new List<Peer>();
        try
        {
            foreach (var node in new[] { node1, node2, node3 })
            {
                for (var i = 0; i < peersPerNode; i++)
                {
                    peers.Add(await Peer.ConnectAsync(node));
                }
            }

            for (var round = 0; round < 5; round++)
            {
                var room = TestNames.Unique("race");
                var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var attempts = peers.Select(async p =>
                {
                    await start.Task;
                    try
                    {
                        return (Peer: p, Joined: (RoomSignal.Contracts.RoomJoined?)await p.JoinAsync(room));
                    }
                    catch (HubException ex) when (ex.Message.Contains("full", StringComparison.Ordinal))
                    {
                        return (Peer: p, Joined: null);
                    }
                }).ToArray();
                start.SetResult();
                var results = await Task.WhenAll(attempts);

                var admitted = results.Where(r => r.Joined is not null).ToArray();
                Assert.Equal(capacity, admitted.Length);
                Assert.Equal(admitted.Select(r => r.Peer.Id).Order(StringComparer.Ordinal), await TestCluster.MembersAsync(redis, prefix, room));

                // Every admitted member saw exactly the members admitted before it: one of them saw nobody,
                // the last saw all the others.
                Assert.Equal([0, 1, 2], admitted.Select(r => r.Joined!.Peers.Count).Order());
            }
        }
        finally
        {
            foreach (var peer in peers)
            {
                await peer.DisposeAsync();
            }
        }
    }
}
