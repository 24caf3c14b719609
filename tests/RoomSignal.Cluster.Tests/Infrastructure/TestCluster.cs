using RoomSignal.Testing;
using StackExchange.Redis;

namespace RoomSignal.Cluster.Tests.Infrastructure;

/// <summary>Names and configuration shared by the cluster tests.</summary>
internal static class TestCluster
{
    public static string[] Sorted(params string[] ids) => [.. ids.Order(StringComparer.Ordinal)];

    public static string UniquePrefix() => "rs" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>A 2 s heartbeat TTL and a sweep every 0.5 s, so that a crashed node is swept within a test's churn.</summary>
    public static readonly (string Key, string Value)[] FastSweep =
        [("RoomSignal:Cluster:HeartbeatTtl", "00:00:02"), ("RoomSignal:Cluster:SweepInterval", "00:00:00.500")];

    /// <summary>Configuration of a node that keeps rooms in <paramref name="redis"/> under <paramref name="prefix"/>.</summary>
    public static Dictionary<string, string?> NodeConfiguration(RedisServer redis, string prefix, params (string Key, string Value)[] extra)
    {
        var configuration = new Dictionary<string, string?>
        {
            ["RoomSignal:Redis:Configuration"] = redis.Configuration,
            ["RoomSignal:Redis:Prefix"] = prefix,
        };
        foreach (var (key, value) in extra)
        {
            configuration[key] = value;
        }

        return configuration;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<ConnectionMultiplexer>>> Admins = new();

    /// <summary>
    /// One admin connection per Redis server, kept for the test run (opening one costs seconds with this client);
    /// it reconnects by itself after a restart.
    /// </summary>
    public static Task<ConnectionMultiplexer> AdminAsync(RedisServer redis)
        => Admins.GetOrAdd(redis.Configuration, _ => new Lazy<Task<ConnectionMultiplexer>>(redis.ConnectAsync)).Value;

    /// <summary>Every key under <paramref name="prefix"/>.</summary>
    public static async Task<string[]> KeysAsync(RedisServer redis, string prefix)
    {
        var admin = await AdminAsync(redis);
        var server = admin.GetServer(redis.Host, redis.Port);
        return server.Keys(pattern: prefix + ":*").Select(k => (string)k!).OrderBy(k => k, StringComparer.Ordinal).ToArray();
    }

    /// <summary>The members Redis holds for a room.</summary>
    public static async Task<string[]> MembersAsync(RedisServer redis, string prefix, string room)
    {
        var admin = await AdminAsync(redis);
        var fields = await admin.GetDatabase().HashKeysAsync($"{prefix}:room:{room}");
        return fields.Select(f => (string)f!).Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The members Redis holds for a room, or <see langword="null"/> while Redis does not answer.</summary>
    public static async Task<string[]?> TryMembersAsync(RedisServer redis, string prefix, string room)
    {
        try
        {
            return await MembersAsync(redis, prefix, room);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return null;
        }
    }

    /// <summary>How many times Redis has run each command, from <c>INFO commandstats</c>.</summary>
    public static async Task<Dictionary<string, long>> CommandCountsAsync(RedisServer redis)
    {
        var admin = await AdminAsync(redis);
        var info = (string)(await admin.GetDatabase().ExecuteAsync("INFO", "commandstats"))!;
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in info.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            // cmdstat_get:calls=12,usec=...
            if (!line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                continue;
            }

            var name = line["cmdstat_".Length..line.IndexOf(':', StringComparison.Ordinal)];
            var calls = line.Split(',')[0].Split('=')[1];
            counts[name] = long.Parse(calls, System.Globalization.CultureInfo.InvariantCulture);
        }

        return counts;
    }
}
