using System.Diagnostics;
using RoomSignal.Testing;
using StackExchange.Redis;
using static RoomSignal.Testing.TestNames;

namespace RoomSignal.Redis.Tests.Backplane;

/// <summary>Adding and removing a connection that lives on another node to and from a group.</summary>
public sealed class RemoteGroupMembershipTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task AddingAConnectionOnAnotherNodeHoldsOnEveryNodeWhenTheAwaitReturns()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 3);
        var clients = await cluster.ConnectAsync(3);
        var group = Unique("group");

        // A adds B's connection; right after, C sends to the group.
        await clients[0].InvokeAsync(nameof(BackplaneTestHub.AddToGroup), clients[1].Id, group);
        var message = Unique("after-add");
        await clients[2].InvokeAsync(nameof(BackplaneTestHub.SendToGroup), group, message);

        await clients[1].WaitForAsync(message);
        await cluster.FenceAsync(clients[2], clients);
        Assert.Equal([false, true, false], clients.Select(c => c.Has(message)));
    }

    [Fact]
    public async Task RemovingAConnectionOnAnotherNodeHoldsOnEveryNodeWhenTheAwaitReturns()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 3);
        var clients = await cluster.ConnectAsync(3);
        var group = Unique("group");
        await clients[0].InvokeAsync(nameof(BackplaneTestHub.AddToGroup), clients[1].Id, group);
        await clients[0].InvokeAsync(nameof(BackplaneTestHub.AddToGroup), clients[2].Id, group);
        var before = Unique("before-remove");
        await clients[0].InvokeAsync(nameof(BackplaneTestHub.SendToGroup), group, before);
        await clients[1].WaitForAsync(before);

        await clients[0].InvokeAsync(nameof(BackplaneTestHub.RemoveFromGroup), clients[1].Id, group);
        var after = Unique("after-remove");
        await clients[2].InvokeAsync(nameof(BackplaneTestHub.SendToGroup), group, after);

        await clients[2].WaitForAsync(after);
        await cluster.FenceAsync(clients[2], clients);
        Assert.False(clients[1].Has(after));
    }

    [Fact]
    public async Task AddingAConnectionThatNoNodeHasWaitsForTheBackplanesAcknowledgementTimeout()
    {
        // The official backplane's known limit (aspnet/SignalR#1956): nobody answers for a connection that exists
        // nowhere, so the add waits for the acknowledgement timeout, then throws. The room hub never adds a remote
        // connection to a group (docs/backplane.md); this test pins the behaviour an application would inherit.
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 2);
        await cluster.ConnectAsync(2);
        var watch = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<Exception>(
            () => cluster[0].HubContext.Groups.AddToGroupAsync("no-such-connection", "g").Within("the add to give up", TimeSpan.FromSeconds(60)));

        Assert.True(watch.Elapsed > TimeSpan.FromSeconds(5), $"gave up after {watch.Elapsed}; the backplane now fails fast, update docs/backplane.md");
    }

    [Fact]
    public async Task ADisconnectedMemberLeavesItsGroupsOnItsNode()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 2);
        var clients = await cluster.ConnectAsync(4);
        var group = Unique("group");
        foreach (var member in clients)
        {
            await clients[0].InvokeAsync(nameof(BackplaneTestHub.AddToGroup), member.Id, group);
        }

        await clients[3].Connection.StopAsync().Within("a member on B to leave");
        await clients[1].Connection.StopAsync().Within("the other member on B to leave");

        // Node B holds no member any more and has let go of the group's channel.
        using var admin = await redis.Server.ConnectAsync();
        var channel = $"{cluster.Prefix}:{typeof(BackplaneTestHub).FullName}:group:{group}";
        await Eventually.UntilAsync(
            async () => (long)((RedisResult[])(await admin.GetDatabase().ExecuteAsync("PUBSUB", "NUMSUB", channel))!)[1] == 1,
            "only node A to listen on the group channel");

        var message = Unique("to-rest");
        await clients[2].InvokeAsync(nameof(BackplaneTestHub.SendToGroup), group, message);
        await clients[0].WaitForAsync(message);
    }
}
