using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Testing;
using static RoomSignal.Testing.TestNames;

namespace RoomSignal.Redis.Tests.Backplane;

/// <summary>A node that shuts down takes only its own connections with it.</summary>
public sealed class NodeLossTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task StoppingANodeLosesOnlyItsOwnConnections()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 3);
        var clients = await cluster.ConnectAsync(6);
        var group = Unique("group");
        foreach (var member in clients)
        {
            await member.InvokeAsync(nameof(BackplaneTestHub.AddToGroup), member.Id, group);
        }

        await cluster[2].StopAsync();

        var onC = new[] { clients[2], clients[5] };
        var survivors = new[] { clients[0], clients[1], clients[3], clients[4] };
        await Eventually.UntilAsync(() => onC.All(c => c.Connection.State == HubConnectionState.Disconnected), "the clients of node C to be disconnected");
        Assert.All(survivors, c => Assert.Equal(HubConnectionState.Connected, c.Connection.State));

        var toAll = Unique("all");
        var toGroup = Unique("group");
        var direct = Unique("direct");
        await clients[1].InvokeAsync(nameof(BackplaneTestHub.SendAll), toAll);
        await clients[1].InvokeAsync(nameof(BackplaneTestHub.SendToGroup), group, toGroup);
        await clients[0].InvokeAsync(nameof(BackplaneTestHub.SendToConnection), clients[4].Id, direct);

        await Task.WhenAll(survivors.Select(c => c.WaitForAsync(toAll)));
        await Task.WhenAll(survivors.Select(c => c.WaitForAsync(toGroup)));
        await clients[4].WaitForAsync(direct);

        // A send to a connection of the stopped node is dropped, not an error.
        await clients[0].InvokeAsync(nameof(BackplaneTestHub.SendToConnection), clients[2].Id, Unique("to-the-departed"));
    }
}
