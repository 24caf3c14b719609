using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;
using RoomSignal.Testing;
using static RoomSignal.Testing.TestNames;

namespace RoomSignal.Redis.Tests.Backplane;

/// <summary>redis-server killed and restarted under a running cluster (each test owns its redis-server).</summary>
public sealed class RedisOutageTests
{
    private const string ManagerCategory = "RoomSignal.Redis.RedisHubLifetimeManager";

    [Fact]
    public async Task WhileRedisIsDownLocalDeliveryGoesOnAndRemoteSendsFailFastWithOneLoggedError()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        // A long operation timeout: a send that returns inside the test's time box failed fast by itself.
        await using var cluster = await BackplaneCluster.StartAsync(redis, 2, new Dictionary<string, string?> { ["RoomSignal:Redis:Backplane:OperationTimeout"] = "00:01:00" });
        var clients = await cluster.ConnectAsync(4); // c0, c2 on A; c1, c3 on B
        var nodeA = cluster[0];

        await redis.KillAsync();
        await Eventually.UntilAsync(async () => await nodeA.ReadyStatusAsync() == 503, "node A's /readyz to report 503");

        // Local delivery keeps working.
        var local = Unique("local");
        await clients[0].InvokeAsync(nameof(BackplaneTestHub.SendToConnection), clients[2].Id, local);
        await clients[2].WaitForAsync(local);

        // Sends that need Redis fail fast (no hang), many times over...
        for (var i = 0; i < 10; i++)
        {
            var broadcast = Unique("broadcast");
            await Assert.ThrowsAsync<RedisBackplaneUnavailableException>(
                () => nodeA.HubContext.Clients.All.SendAsync(BackplaneTestHub.Receive, broadcast).Within("a broadcast during the outage"));

            // ... while the connections of this node still get their part.
            await clients[0].WaitForAsync(broadcast);
            await Assert.ThrowsAsync<RedisBackplaneUnavailableException>(
                () => nodeA.HubContext.Clients.Client(clients[1].Id).SendAsync(BackplaneTestHub.Receive, "lost").Within("a remote send during the outage"));
            await Assert.ThrowsAsync<RedisBackplaneUnavailableException>(
                () => nodeA.HubContext.Groups.AddToGroupAsync(clients[1].Id, "g").Within("a remote group add during the outage"));
        }

        // ... and the outage is logged once as an error, not once per message.
        Assert.Equal(1, nodeA.Logs.Count(ManagerCategory, LogLevel.Error));
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
        await Assert.ThrowsAsync<RedisBackplaneUnavailableException>(
            () => cluster[0].HubContext.Clients.All.SendAsync(BackplaneTestHub.Receive, "during").Within("a broadcast during the outage"));
        await redis.RestartAsync(); // empty: the owner hash is gone too
        await Task.WhenAll(cluster.Nodes.Select(n => Eventually.UntilAsync(async () => await n.ReadyStatusAsync() == 200, $"node {n.Name}'s /readyz to report 200 again")));

        // Every kind of channel works again without any help: broadcast, group, user, directed (owner hash re-registered).
        var broadcast = Unique("all-after");
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                await cluster[1].HubContext.Clients.All.SendAsync(BackplaneTestHub.Receive, broadcast);
            }
            catch (RedisBackplaneUnavailableException)
            {
                return false;
            }

            return clients.All(c => c.Has(broadcast));
        }, "a broadcast from B to reach every node after the restart");

        // A directed send over an owner cached before the outage.
        var directAtoB = Unique("direct-a-to-b");
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                await cluster[0].HubContext.Clients.Client(clients[1].Id).SendAsync(BackplaneTestHub.Receive, directAtoB);
            }
            catch (RedisBackplaneUnavailableException)
            {
                return false;
            }

            return clients[1].Has(directAtoB);
        }, "a directed send from A to B to arrive after the restart");

        var toGroup = Unique("group-after");
        await clients[2].InvokeAsync(nameof(BackplaneTestHub.SendToGroup), group, toGroup);
        await clients[1].WaitForAsync(toGroup);

        var toAlice = Unique("user-after");
        await clients[0].InvokeAsync(nameof(BackplaneTestHub.SendToUser), alice, toAlice);
        await clients[2].WaitForAsync(toAlice);

        var direct = Unique("direct-after");
        var freshNode = await TestHubNode.StartAsync("D", redis.Configuration, cluster.Prefix); // knows no owner from before
        await using (freshNode)
        {
            await freshNode.HubContext.Clients.Client(clients[2].Id).SendAsync(BackplaneTestHub.Receive, direct);
            await clients[2].WaitForAsync(direct);
            await freshNode.HubContext.Groups.AddToGroupAsync(clients[0].Id, group).Within("a remote group add after the restart");
        }

        var toGroupAgain = Unique("group-again");
        await clients[1].InvokeAsync(nameof(BackplaneTestHub.SendToGroup), group, toGroupAgain);
        await clients[0].WaitForAsync(toGroupAgain);

        // One error per node for the whole outage, and word that it is over.
        Assert.All(cluster.Nodes, n => Assert.True(n.Logs.Count(ManagerCategory, LogLevel.Error) <= 1, $"node {n.Name} logged more than one error"));
        Assert.Contains(cluster[0].Logs.Entries, e => e.Category == ManagerCategory && e.Message.Contains("available again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ANodeStartedWhileRedisIsDownJoinsTheClusterWhenRedisComesUp()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        await using var cluster = await BackplaneCluster.StartAsync(redis, 1);
        var first = (await cluster.ConnectAsync(1))[0];
        await redis.KillAsync();

        await using var late = await TestHubNode.StartAsync("late", redis.Configuration, cluster.Prefix);
        var latecomer = await late.ConnectAsync("latecomer");
        Assert.Equal(503, await late.ReadyStatusAsync());
        Assert.False(late.Manager.IsReady);
        Assert.False(late.Manager.IsReachable(latecomer.Id));

        await redis.RestartAsync();
        await Eventually.UntilAsync(() => late.Manager.IsReachable(latecomer.Id), "the late node to confirm its subscriptions and register its connection");
        Assert.True(late.Manager.IsReady);
        Assert.Equal(200, await late.ReadyStatusAsync());

        // Once reachable, a send from another node arrives at the first attempt (nothing is swept or dropped)...
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
