using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Membership;

/// <summary>Membership keys live exactly as long as the membership.</summary>
public sealed class ChurnTests
{
    [Fact]
    public async Task AThousandJoinExitCyclesAcrossNodesLeaveNoKeyBehind()
    {
        const int peersPerNode = 4;
        const int cyclesPerPeer = 125; // 2 nodes x 4 peers x 125 = 1,000 cycles
        await using var redis = await RedisServer.StartAsync();
        var prefix = TestCluster.UniquePrefix();
        // Each peer joins as fast as Redis answers, far past the per-connection join rate a real client needs.
        (string, string)[] unlimited = [("RoomSignal:Limits:JoinsPerSecond", "100000"), ("RoomSignal:Limits:JoinBurst", "100000")];
        await using var nodeA = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix, unlimited));
        await using var nodeB = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix, unlimited));
        var peers = new List<Peer>();
        for (var i = 0; i < peersPerNode; i++)
        {
            peers.Add(await Peer.ConnectAsync(nodeA));
            peers.Add(await Peer.ConnectAsync(nodeB));
        }

        var rooms = Enumerable.Range(0, 3).Select(i => TestNames.Unique("churn" + i)).ToArray();
        var cycles = 0;
        await Task.WhenAll(peers.Select(async (peer, index) =>
        {
            for (var cycle = 0; cycle < cyclesPerPeer; cycle++)
            {
                var room = rooms[(index + cycle) % rooms.Length];
                await peer.JoinAsync(room);
                if (cycle % 5 == 0)
                {
                    await peer.JoinAsync(rooms[(index + cycle + 1) % rooms.Length]); // in two rooms at once for a while
                    await peer.ExitAsync(rooms[(index + cycle + 1) % rooms.Length]);
                }

                await peer.ExitAsync(room);
                Interlocked.Increment(ref cycles);
            }
        })).Within("1,000 join/exit cycles", TimeSpan.FromMinutes(2));
        Assert.Equal(1000, cycles);

        // The last round leaves by disconnecting instead of exiting.
        foreach (var (peer, index) in peers.Select((p, i) => (p, i)))
        {
            await peer.JoinAsync(rooms[index % rooms.Length]);
        }

        foreach (var peer in peers)
        {
            await peer.DisposeAsync();
        }

        await Eventually.UntilAsync(
            async () => (await TestCluster.KeysAsync(redis, prefix)).All(IsNodeRegistration),
            "only node registrations to remain in Redis");
        var left = await TestCluster.KeysAsync(redis, prefix);
        Assert.DoesNotContain(left, k => k.Contains(":room:", StringComparison.Ordinal) || k.Contains(":rooms-of:", StringComparison.Ordinal));

        // The emptied rooms' seq counters stay a while, so that a room created again soon goes on counting; they expire.
        var admin = await TestCluster.AdminAsync(redis);
        foreach (var room in rooms)
        {
            var ttl = await admin.GetDatabase().KeyTimeToLiveAsync($"{prefix}:room-seq:{room}");
            Assert.True(ttl is { } t && t > TimeSpan.Zero && t <= TimeSpan.FromMinutes(10), $"the seq counter of emptied room {room} should expire, TTL {ttl}");
        }

        bool IsNodeRegistration(string key)
            => key == $"{prefix}:cluster:nodes" || key == $"{prefix}:room-seq" || key == $"{prefix}:cluster:sweep-lock"
                || key.StartsWith($"{prefix}:room-seq:", StringComparison.Ordinal)
                || key.StartsWith($"{prefix}:cluster:alive:", StringComparison.Ordinal);
    }
}
