using System.Globalization;
using Microsoft.AspNetCore.SignalR;
using RoomSignal.Testing;
using StackExchange.Redis;

namespace RoomSignal.Redis.Tests.Backplane;

/// <summary>What a relay costs in Redis commands (counted by a private redis-server's own statistics).</summary>
public sealed class RedisCostTests
{
    [Fact]
    public async Task ARelayToAConnectionOnAnotherNodeIsOnePublishEvenTheFirstTime()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        await using var cluster = await BackplaneCluster.StartAsync(redis, 2);
        var clients = await cluster.ConnectAsync(2); // c0 on A, c1 on B
        using var admin = await redis.ConnectAsync();
        var server = admin.GetServer(redis.Host, redis.Port);
        await server.ConfigResetStatisticsAsync();
        const int relays = 40;

        for (var i = 0; i < relays; i++)
        {
            await cluster[0].HubContext.Clients.Client(clients[1].Id).SendAsync(BackplaneTestHub.Receive, $"relay-{i}");
        }

        await clients[1].WaitForAsync($"relay-{relays - 1}");
        var stats = await CommandCallsAsync(server);

        // One round trip per relay, the first one too: a PUBLISH to the connection's own channel, which the node
        // holding it subscribed when it connected. No lookup, no script.
        Assert.Equal(relays, stats.GetValueOrDefault("publish"));
        Assert.Equal(0, stats.GetValueOrDefault("eval") + stats.GetValueOrDefault("evalsha") + stats.GetValueOrDefault("hget"));
    }

    [Fact]
    public async Task ARelayBetweenTwoConnectionsOnOneNodeSendsNothingToRedis()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        await using var cluster = await BackplaneCluster.StartAsync(redis, 1);
        var clients = await cluster.ConnectAsync(2); // both on A
        using var admin = await redis.ConnectAsync();
        var server = admin.GetServer(redis.Host, redis.Port);
        await server.ConfigResetStatisticsAsync();
        const int relays = 40;

        for (var i = 0; i < relays; i++)
        {
            await clients[0].InvokeAsync(nameof(BackplaneTestHub.SendToConnection), clients[1].Id, $"local-{i}");
        }

        await clients[1].WaitForAsync($"local-{relays - 1}");
        var stats = await CommandCallsAsync(server);

        // Only this test's own INFO (and the reset before it) reached Redis.
        Assert.DoesNotContain(stats.Keys, k => k != "info" && !k.StartsWith("config", StringComparison.Ordinal));
    }

    private static async Task<Dictionary<string, long>> CommandCallsAsync(IServer server)
    {
        // Lines look like: cmdstat_publish:calls=40,usec=120,usec_per_call=3.00,...
        var raw = await server.InfoRawAsync("commandstats") ?? string.Empty;
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in raw.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                continue;
            }

            var name = line["cmdstat_".Length..line.IndexOf(':', StringComparison.Ordinal)];
            var value = line.Split(',')[0].Split("calls=")[1];
            calls[name] = long.Parse(value, CultureInfo.InvariantCulture);
        }

        return calls;
    }
}
