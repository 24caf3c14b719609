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

        // One round trip per relay: the first one looks the owner up and publishes inside one script,
        // every later one is a plain PUBLISH to node B's channel.
        Assert.Equal(1, stats.GetValueOrDefault("eval") + stats.GetValueOrDefault("evalsha"));
        Assert.Equal(relays, stats.GetValueOrDefault("publish"));
        Assert.Equal(1, stats.GetValueOrDefault("hget"));
        Assert.Equal(0, stats.GetValueOrDefault("hmget") + stats.GetValueOrDefault("hgetall"));
    }

    private static async Task<Dictionary<string, long>> CommandCallsAsync(IServer server)
    {
        // Lines look like: cmdstat_publish:calls=40,usec=120,usec_per_call=3.00,...
        var raw = await server.InfoRawAsync("commandstats");
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
