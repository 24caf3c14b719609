using Microsoft.AspNetCore.SignalR;
using RoomSignal.Testing;
using static RoomSignal.Testing.TestNames;

namespace RoomSignal.Redis.Tests.Backplane;

/// <summary>Every send of a hub reaches exactly its targets when they are spread over three nodes.</summary>
public sealed class CrossNodeDeliveryTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task BroadcastReachesEveryConnectionOnEveryNode()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 3);
        var clients = await cluster.ConnectAsync(6);
        var message = Unique("all");

        await clients[1].InvokeAsync(nameof(BackplaneTestHub.SendAll), message);

        await Task.WhenAll(clients.Select(c => c.WaitForAsync(message)));
        await cluster.FenceAsync(clients[1], clients);
        Assert.All(clients, c => Assert.Equal(1, c.CountOf(message)));
    }

    [Fact]
    public async Task BroadcastExceptSkipsTheExcludedConnectionsOnOtherNodes()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 3);
        var clients = await cluster.ConnectAsync(6);
        var message = Unique("all-except");
        string[] excluded = [clients[1].Id, clients[2].Id, clients[3].Id];

        await clients[0].InvokeAsync(nameof(BackplaneTestHub.SendAllExcept), message, excluded);

        await cluster.FenceAsync(clients[0], clients);
        Assert.Equal([true, false, false, false, true, true], clients.Select(c => c.Has(message)));
    }

    [Fact]
    public async Task DirectSendReachesAConnectionOnAnotherNodeOnly()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 3);
        var clients = await cluster.ConnectAsync(6);
        var message = Unique("direct");

        await clients[0].InvokeAsync(nameof(BackplaneTestHub.SendToConnection), clients[2].Id, message);

        await clients[2].WaitForAsync(message);
        await cluster.FenceAsync(clients[0], clients);
        Assert.Equal([false, false, true, false, false, false], clients.Select(c => c.Has(message)));
    }

    [Fact]
    public async Task SendToSeveralConnectionsReachesEachOnItsOwnNode()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 3);
        var clients = await cluster.ConnectAsync(6);
        var message = Unique("many");

        // One local (same node as the sender), two on node B, one on node C.
        await clients[0].InvokeAsync(nameof(BackplaneTestHub.SendToConnections), new[] { clients[3].Id, clients[1].Id, clients[4].Id, clients[2].Id }, message);

        await cluster.FenceAsync(clients[0], clients);
        Assert.Equal([false, true, true, true, true, false], clients.Select(c => c.Has(message)));
        Assert.All(clients, c => Assert.True(c.CountOf(message) <= 1));
    }

    [Fact]
    public async Task GroupSendReachesItsMembersOnEveryNodeAndNoOneElse()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 3);
        var clients = await cluster.ConnectAsync(6);
        var group = Unique("group");
        foreach (var member in new[] { clients[0], clients[1], clients[5] })
        {
            await member.InvokeAsync(nameof(BackplaneTestHub.AddToGroup), member.Id, group);
        }

        var message = Unique("to-group");
        await clients[2].InvokeAsync(nameof(BackplaneTestHub.SendToGroup), group, message);

        await cluster.FenceAsync(clients[2], clients);
        Assert.Equal([true, true, false, false, false, true], clients.Select(c => c.Has(message)));
    }

    [Fact]
    public async Task SendToSeveralGroupsReachesTheMembersOfEach()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 3);
        var clients = await cluster.ConnectAsync(6);
        var red = Unique("red");
        var blue = Unique("blue");
        await clients[1].InvokeAsync(nameof(BackplaneTestHub.AddToGroup), clients[1].Id, red);
        await clients[5].InvokeAsync(nameof(BackplaneTestHub.AddToGroup), clients[5].Id, blue);
        await clients[3].InvokeAsync(nameof(BackplaneTestHub.AddToGroup), clients[3].Id, blue);

        var message = Unique("to-groups");
        await clients[0].InvokeAsync(nameof(BackplaneTestHub.SendToGroups), new[] { red, blue }, message);

        await cluster.FenceAsync(clients[0], clients);
        Assert.Equal([false, true, false, true, false, true], clients.Select(c => c.Has(message)));
    }

    [Fact]
    public async Task GroupExceptSkipsTheExcludedMemberOnAnotherNode()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 3);
        var clients = await cluster.ConnectAsync(6);
        var group = Unique("group");
        foreach (var member in clients)
        {
            await member.InvokeAsync(nameof(BackplaneTestHub.AddToGroup), member.Id, group);
        }

        var message = Unique("group-except");
        await clients[0].InvokeAsync(nameof(BackplaneTestHub.SendToGroupExcept), group, message, new[] { clients[4].Id, clients[0].Id });

        await cluster.FenceAsync(clients[0], clients);
        Assert.Equal([false, true, true, true, false, true], clients.Select(c => c.Has(message)));
    }

    [Fact]
    public async Task OthersInGroupSkipsOnlyTheCaller()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 3);
        var clients = await cluster.ConnectAsync(3);
        var group = Unique("group");
        foreach (var member in clients)
        {
            await member.InvokeAsync(nameof(BackplaneTestHub.AddToGroup), member.Id, group);
        }

        var message = Unique("others");
        await clients[1].InvokeAsync(nameof(BackplaneTestHub.SendToOthersInGroup), group, message);

        await cluster.FenceAsync(clients[1], clients);
        Assert.Equal([true, false, true], clients.Select(c => c.Has(message)));
    }

    [Fact]
    public async Task UserSendReachesEveryConnectionOfThatUserAcrossNodes()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 3);
        var alice = Unique("alice");
        var bob = Unique("bob");
        var carol = Unique("carol");

        // alice on A and C, bob on B, carol on C.
        var clients = await cluster.ConnectAsync(6, i => i switch { 0 or 2 => alice, 1 => bob, 5 => carol, _ => null });
        var toAlice = Unique("to-alice");
        var toBobAndCarol = Unique("to-bob-carol");

        await clients[4].InvokeAsync(nameof(BackplaneTestHub.SendToUser), alice, toAlice);
        await clients[4].InvokeAsync(nameof(BackplaneTestHub.SendToUsers), new[] { bob, carol }, toBobAndCarol);

        await cluster.FenceAsync(clients[4], clients);
        Assert.Equal([true, false, true, false, false, false], clients.Select(c => c.Has(toAlice)));
        Assert.Equal([false, true, false, false, false, true], clients.Select(c => c.Has(toBobAndCarol)));
    }

    [Fact]
    public async Task MessagesToAConnectionOnAnotherNodeArriveInTheOrderTheyWereSent()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 2);
        var clients = await cluster.ConnectAsync(2);
        var prefix = Unique("seq");
        const int count = 200;

        // As a relay does: offer, then a burst of candidates, each sent without waiting for delivery.
        for (var i = 0; i < count; i++)
        {
            await cluster[0].HubContext.Clients.Client(clients[1].Id).SendAsync(BackplaneTestHub.Receive, $"{prefix}-{i}");
        }

        await clients[1].WaitForAsync($"{prefix}-{count - 1}");
        var received = clients[1].Received.Where(m => m.StartsWith(prefix, StringComparison.Ordinal)).ToArray();
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"{prefix}-{i}"), received);
    }

    [Fact]
    public async Task ADirectSendToAConnectionThatNoNodeHasIsDroppedQuietly()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 2);
        var clients = await cluster.ConnectAsync(2);

        await cluster[0].HubContext.Clients.Client("no-such-connection").SendAsync(BackplaneTestHub.Receive, "lost").Within("the send to nobody");

        await cluster.FenceAsync(clients[0], clients);
        Assert.All(clients, c => Assert.False(c.Has("lost")));
    }
}
