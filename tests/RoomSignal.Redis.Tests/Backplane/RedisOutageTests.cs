using System.Diagnostics;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;
using RoomSignal.Testing;
using StackExchange.Redis;
using static RoomSignal.Testing.TestNames;

namespace RoomSignal.Redis.Tests.Backplane;

/// <summary>redis-server killed and restarted under a running cluster (each test owns its redis-server).</summary>
public sealed class RedisOutageTests
{
    private const string ConnectionCategory = "RoomSignal.Redis.Internal.RedisConnection";

    private static bool IsRedisFailure(Exception ex) => ex is RedisException or TimeoutException;

    [Fact]
    public async Task WhileRedisIsDownLocalRelaysGoOnAndRedisSendsFailFastWithOneLoggedError()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        await using var cluster = await BackplaneCluster.StartAsync(redis, 2);
        var clients = await cluster.ConnectAsync(4); // c0, c2 on A; c1, c3 on B
        var nodeA = cluster[0];

        await redis.KillAsync();
        await Eventually.UntilAsync(async () => await nodeA.ReadyStatusAsync() == 503, "node A's /readyz to report 503");

        // A send to a connection of the same node never touches Redis, so it keeps working.
        var local = Unique("local");
        await clients[0].InvokeAsync(nameof(BackplaneTestHub.SendToConnection), clients[2].Id, local);
        await clients[2].WaitForAsync(local);

        // Everything that goes through Redis fails at once (BacklogPolicy.FailFast: nothing queues until a timeout),
        // many times over. Unlike our old backplane, the official one does not serve this node's part of a
        // broadcast either: a broadcast is only a PUBLISH (docs/backplane.md).
        for (var i = 0; i < 10; i++)
        {
            var watch = Stopwatch.StartNew();
            var broadcast = Unique("broadcast");
            Assert.True(IsRedisFailure(await Assert.ThrowsAnyAsync<Exception>(
                () => nodeA.HubContext.Clients.All.SendAsync(BackplaneTestHub.Receive, broadcast).Within("a broadcast during the outage"))));
            Assert.True(IsRedisFailure(await Assert.ThrowsAnyAsync<Exception>(
                () => nodeA.HubContext.Clients.Client(clients[1].Id).SendAsync(BackplaneTestHub.Receive, "lost").Within("a remote send during the outage"))));
            Assert.True(IsRedisFailure(await Assert.ThrowsAnyAsync<Exception>(
                () => nodeA.HubContext.Groups.AddToGroupAsync(clients[1].Id, "g").Within("a remote group add during the outage"))));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"the sends took {watch.Elapsed}: they waited instead of failing fast");
        }

        // A new connection needs its channel subscribed, so the node refuses it until Redis is back.
        await Assert.ThrowsAnyAsync<Exception>(() => nodeA.ConnectAsync("newcomer"));

        // The outage is logged once as an error, not once per message or connection type.
        Assert.Equal(1, nodeA.Logs.Count(ConnectionCategory, LogLevel.Error));
        Assert.Equal(0, nodeA.Logs.Count("Microsoft.AspNetCore.SignalR.StackExchangeRedis", LogLevel.Error));
        Assert.False(clients[1].Has("lost"));
    }

    [Fact]
    public async Task DeliveryResumesByItselfAfterRedisIsKilledAndRestarted()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        await using var cluster = await BackplaneCluster.StartAsync(redis, 3);
        var alice = Unique("alice");
        var clients = await cluster.ConnectAsync(3, i => i == 2 ? alice : null); // c0 on A, c1 on B, c2 on C (alice)
        var group = Unique("group");
        await clients[0].InvokeAsync(nameof(BackplaneTestHub.AddToGroup), clients[1].Id, group);
        var before = Unique("before");
        await clients[0].InvokeAsync(nameof(BackplaneTestHub.SendToGroup), group, before);
        await clients[1].WaitForAsync(before);

        await redis.KillAsync();
        await Eventually.UntilAsync(async () => await cluster[0].ReadyStatusAsync() == 503, "/readyz to report 503 while Redis is down");
        await Assert.ThrowsAnyAsync<RedisException>(
            () => cluster[0].HubContext.Clients.All.SendAsync(BackplaneTestHub.Receive, "during").Within("a broadcast during the outage"));
        await redis.RestartAsync(); // empty
        await Task.WhenAll(cluster.Nodes.Select(n => Eventually.UntilAsync(async () => await n.ReadyStatusAsync() == 200, $"node {n.Name}'s /readyz to report 200 again")));

        // Once /readyz says so, every kind of channel works again at the first attempt: StackExchange.Redis has
        // resubscribed the broadcast, connection, group and user channels by itself.
        var broadcast = Unique("all-after");
        await cluster[1].HubContext.Clients.All.SendAsync(BackplaneTestHub.Receive, broadcast).Within("a broadcast after the restart");
        await Task.WhenAll(clients.Select(c => c.WaitForAsync(broadcast)));

        var directAtoB = Unique("direct-a-to-b");
        await cluster[0].HubContext.Clients.Client(clients[1].Id).SendAsync(BackplaneTestHub.Receive, directAtoB).Within("a directed send after the restart");
        await clients[1].WaitForAsync(directAtoB);

        var toGroup = Unique("group-after");
        await clients[2].InvokeAsync(nameof(BackplaneTestHub.SendToGroup), group, toGroup);
        await clients[1].WaitForAsync(toGroup);

        var toAlice = Unique("user-after");
        await clients[0].InvokeAsync(nameof(BackplaneTestHub.SendToUser), alice, toAlice);
        await clients[2].WaitForAsync(toAlice);

        var direct = Unique("direct-after");
        var freshNode = await TestHubNode.StartAsync("D", redis.Configuration, cluster.Prefix);
        await using (freshNode)
        {
            await freshNode.HubContext.Clients.Client(clients[2].Id).SendAsync(BackplaneTestHub.Receive, direct);
            await clients[2].WaitForAsync(direct);
            await freshNode.HubContext.Groups.AddToGroupAsync(clients[0].Id, group).Within("a remote group add after the restart");
        }

        var toGroupAgain = Unique("group-again");
        await clients[1].InvokeAsync(nameof(BackplaneTestHub.SendToGroup), group, toGroupAgain);
        await clients[0].WaitForAsync(toGroupAgain);

        // One error per node for the whole outage, and one line that it is over.
        Assert.All(cluster.Nodes, n => Assert.Equal(1, n.Logs.Count(ConnectionCategory, LogLevel.Error)));
        Assert.All(cluster.Nodes, n => Assert.Single(n.Logs.Entries, e => e.Category == ConnectionCategory && e.EventId.Name == "Restored"));
    }

    [Fact]
    public async Task ANodeStartedWhileRedisIsDownJoinsTheClusterWhenRedisComesUp()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        await using var cluster = await BackplaneCluster.StartAsync(redis, 1);
        var first = (await cluster.ConnectAsync(1))[0];
        await redis.KillAsync();

        await using var late = await TestHubNode.StartAsync("late", redis.Configuration, cluster.Prefix);
        Assert.Equal(503, await late.ReadyStatusAsync());
        Assert.False(late.Status.IsReady);
        await Assert.ThrowsAnyAsync<Exception>(() => late.ConnectAsync("too-early"));

        await redis.RestartAsync();
        await Eventually.UntilAsync(async () => await late.ReadyStatusAsync() == 200, "the late node's /readyz to report 200");
        Assert.True(late.Status.IsReady);
        // The first node lost its connection with the restart too: the directed send below is its, so wait for it to be back.
        await Eventually.UntilAsync(async () => await cluster[0].ReadyStatusAsync() == 200, "the first node's /readyz to report 200 again");

        // Once ready, a connection is accepted and a send from another node arrives at the first attempt...
        var latecomer = await late.ConnectAsync("latecomer");
        var direct = Unique("direct");
        await cluster[0].HubContext.Clients.Client(latecomer.Id).SendAsync(BackplaneTestHub.Receive, direct).Within("a directed send to the late node");
        await latecomer.WaitForAsync(direct);

        // ... and a broadcast from the late node reaches the first one.
        var broadcast = Unique("broadcast");
        await late.HubContext.Clients.All.SendAsync(BackplaneTestHub.Receive, broadcast).Within("a broadcast from the late node");
        await first.WaitForAsync(broadcast);
        await latecomer.DisposeAsync();
    }
}
