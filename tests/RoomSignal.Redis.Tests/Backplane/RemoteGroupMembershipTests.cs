using System.Diagnostics;
using Microsoft.AspNetCore.SignalR;
using RoomSignal.Testing;
using static RoomSignal.Testing.TestNames;

namespace RoomSignal.Redis.Tests.Backplane;

/// <summary>Adding and removing a connection that lives on another node to and from a group.</summary>
public sealed class RemoteGroupMembershipTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    // Long enough that "failed fast" cannot be confused with "waited for the acknowledgement timeout".
    private static readonly Dictionary<string, string?> LongAckTimeout = new() { ["RoomSignal:Redis:Backplane:AckTimeout"] = "00:00:10" };

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
    public async Task AddingAConnectionThatNoNodeHasFailsFastWithAClearError()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 2, LongAckTimeout);
        await cluster.ConnectAsync(2);
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => cluster[0].HubContext.Groups.AddToGroupAsync("no-such-connection", "g").Within("the add to fail"));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}, as if it waited for an acknowledgement");
        Assert.Contains("no-such-connection", error.Message, StringComparison.Ordinal);
        Assert.Contains("no node", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddingAConnectionWhoseNodeCrashedFailsFastAndSweepsItsEntry()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 2, LongAckTimeout);
        await cluster.ConnectAsync(2);

        // A crashed node leaves its owner entries behind; nobody listens on its channel any more.
        using var admin = await redis.Server.ConnectAsync();
        var owners = new RedisKeyspace(cluster.Prefix).BackplaneOwners(typeof(BackplaneTestHub).FullName!);
        await admin.GetDatabase().HashSetAsync(owners, "ghost-connection", "crashed-node");
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => cluster[0].HubContext.Groups.AddToGroupAsync("ghost-connection", "g").Within("the add to fail"));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}, as if it waited for an acknowledgement");
        Assert.Contains("ghost-connection", error.Message, StringComparison.Ordinal);
        await Eventually.UntilAsync(async () => !await admin.GetDatabase().HashExistsAsync(owners, "ghost-connection"), "the ghost entry to be swept");
    }

    [Fact]
    public async Task AddingAConnectionThatJustLeftAnotherNodeFailsFast()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 2, LongAckTimeout);
        var clients = await cluster.ConnectAsync(2);
        var gone = clients[1].Id;
        await cluster[0].HubContext.Clients.Client(gone).SendAsync(BackplaneTestHub.Receive, "warm the owner cache");
        await clients[1].Connection.StopAsync().Within("the client on B to leave");
        var watch = Stopwatch.StartNew();

        await Assert.ThrowsAsync<InvalidOperationException>(
            () => cluster[0].HubContext.Groups.AddToGroupAsync(gone, "g").Within("the add to fail"));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}, as if it waited for an acknowledgement");
    }

    [Fact]
    public async Task RemovingAConnectionThatNoNodeHasIsANoOp()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 2, LongAckTimeout);
        await cluster.ConnectAsync(2);

        await cluster[0].HubContext.Groups.RemoveFromGroupAsync("no-such-connection", "g").Within("the remove", TimeSpan.FromSeconds(5));
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
        var channel = new RedisKeyspace(cluster.Prefix).BackplaneGroup(typeof(BackplaneTestHub).FullName!, group);
        await Eventually.UntilAsync(
            async () => (long)((StackExchange.Redis.RedisResult[])(await admin.GetDatabase().ExecuteAsync("PUBSUB", "NUMSUB", channel))!)[1] == 1,
            "only node A to listen on the group channel");

        var message = Unique("to-rest");
        await clients[2].InvokeAsync(nameof(BackplaneTestHub.SendToGroup), group, message);
        await clients[0].WaitForAsync(message);
    }
}
