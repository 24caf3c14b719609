using System.Collections.Concurrent;
using System.Globalization;
using RoomSignal.Redis;
using StackExchange.Redis;

namespace RoomSignal.Server.Auth;

/// <summary>
/// The cluster directory: one Redis hash per connection (<see cref="RedisKeyspace.Peer"/>), written when it connects
/// and deleted when it disconnects, so any node can put a member's user id on the peer objects it sends. Each node
/// also lists its connections (<see cref="RedisKeyspace.NodePeers"/>) and renews a liveness key; the profiles of a
/// node whose key has expired (it crashed) are removed by <see cref="PeerDirectoryJanitor"/> on another node, after
/// the room sweep has had ample time to send their exits. A node keeps its own profiles in memory too and writes
/// them again when it finds its liveness key gone (Redis restarted or was flushed).
/// </summary>
internal sealed class RedisPeerDirectory(IRedisConnection redis, NodeIdentity node, ILogger<RedisPeerDirectory> logger) : IPeerDirectory
{
    private const string UserField = "u";
    private const string NameField = "n";
    private const string NodeField = "node";
    private const string ConnectedField = "t";
    private static readonly RedisValue[] ProfileFields = [UserField, NameField, NodeField, ConnectedField];

    private readonly RedisKeyspace _keys = redis.Keys;
    private readonly ConcurrentDictionary<string, Local> _local = new(StringComparer.Ordinal);
    private int _failing;

    public bool Enabled => true;

    public string NodeId => node.Id;

    public async ValueTask AddAsync(string connectionId, PeerProfile profile, CancellationToken cancellationToken = default)
    {
        var local = new Local(profile);
        _local[connectionId] = local;
        await TryAsync(db => WriteAsync(db, connectionId, local));
    }

    /// <summary>How long a disconnected connection's profile stays readable for the nodes still announcing its exits.</summary>
    internal static readonly TimeSpan DepartedProfileLifetime = TimeSpan.FromSeconds(5);

    public async ValueTask RemoveAsync(string connectionId, CancellationToken cancellationToken = default)
    {
        _local.TryRemove(connectionId, out _);
        // Kept a few seconds, not deleted: the other nodes announce the departure from the room change stream
        // a moment later and look the profile up then (the exit carries userId/name).
        await TryAsync(db => Task.WhenAll(
            db.KeyExpireAsync(_keys.Peer(connectionId), DepartedProfileLifetime),
            db.SetRemoveAsync(_keys.NodePeers(node.Id), connectionId)));
    }

    public async ValueTask MarkJoinedAsync(string connectionId, string room, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        if (!_local.TryGetValue(connectionId, out var local))
        {
            return;
        }

        local.JoinedAt.TryAdd(room, at);
        await TryAsync(db => db.HashSetAsync(_keys.Peer(connectionId), JoinField(room), Millis(at), When.NotExists));
    }

    public async ValueTask MarkLeftAsync(string connectionId, string room, CancellationToken cancellationToken = default)
    {
        if (_local.TryGetValue(connectionId, out var local))
        {
            local.JoinedAt.TryRemove(room, out _);
        }

        await TryAsync(db => db.HashDeleteAsync(_keys.Peer(connectionId), JoinField(room)));
    }

    public async ValueTask<PeerProfile?[]> FindAsync(IReadOnlyList<string> connectionIds, CancellationToken cancellationToken = default)
    {
        var found = new PeerProfile?[connectionIds.Count];
        var remote = new List<int>();
        for (var i = 0; i < found.Length; i++)
        {
            if (_local.TryGetValue(connectionIds[i], out var local))
            {
                found[i] = local.Profile;
            }
            else
            {
                remote.Add(i);
            }
        }

        if (remote.Count > 0)
        {
            await TryAsync(async db =>
            {
                var replies = await Task.WhenAll(remote.Select(i => db.HashGetAsync(_keys.Peer(connectionIds[i]), ProfileFields)));
                for (var r = 0; r < remote.Count; r++)
                {
                    found[remote[r]] = Parse(replies[r]);
                }
            });
        }

        return found;
    }

    public async ValueTask<DateTimeOffset?[]> JoinedAtAsync(string room, IReadOnlyList<string> connectionIds, CancellationToken cancellationToken = default)
    {
        var found = new DateTimeOffset?[connectionIds.Count];
        await TryAsync(async db =>
        {
            var replies = await Task.WhenAll(connectionIds.Select(id => db.HashGetAsync(_keys.Peer(id), JoinField(room))));
            for (var i = 0; i < found.Length; i++)
            {
                found[i] = FromMillis(replies[i]);
            }
        });
        return found;
    }

    /// <summary>Renews this node's liveness key; when it was gone, writes every local profile again. Returns whether it rewrote.</summary>
    internal async Task<bool> RenewAsync(TimeSpan ttl, CancellationToken cancellationToken)
    {
        var db = (await redis.GetMultiplexerAsync(cancellationToken)).GetDatabase();
        if (await db.KeyExpireAsync(_keys.NodePeersAlive(node.Id), ttl))
        {
            return false;
        }

        await db.SetAddAsync(_keys.PeerNodes, node.Id);
        foreach (var (connectionId, local) in _local)
        {
            await WriteAsync(db, connectionId, local);
        }

        await db.StringSetAsync(_keys.NodePeersAlive(node.Id), "1", ttl);
        return true;
    }

    /// <summary>Removes the profiles of nodes whose liveness key has expired. Returns how many profiles it removed.</summary>
    internal async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var db = (await redis.GetMultiplexerAsync(cancellationToken)).GetDatabase();
        var removed = 0;
        foreach (var member in await db.SetMembersAsync(_keys.PeerNodes))
        {
            var other = member.ToString();
            if (other == node.Id || await db.KeyExistsAsync(_keys.NodePeersAlive(other)))
            {
                continue;
            }

            var connections = await db.SetMembersAsync(_keys.NodePeers(other));
            if (connections.Length > 0)
            {
                removed += (int)await db.KeyDeleteAsync(connections.Select(c => (RedisKey)_keys.Peer(c.ToString())).ToArray());
            }

            await db.KeyDeleteAsync(_keys.NodePeers(other));
            await db.SetRemoveAsync(_keys.PeerNodes, other);
        }

        return removed;
    }

    /// <summary>Deregisters on a graceful stop (the connections' own profiles go as they disconnect).</summary>
    internal async Task DeregisterAsync(CancellationToken cancellationToken)
    {
        var db = (await redis.GetMultiplexerAsync(cancellationToken)).GetDatabase();
        await db.KeyDeleteAsync(_keys.NodePeersAlive(node.Id));
    }

    private Task WriteAsync(IDatabase db, string connectionId, Local local)
    {
        var profile = local.Profile;
        var fields = new List<HashEntry>
        {
            new(NodeField, profile.Node),
            new(ConnectedField, Millis(profile.ConnectedAt)),
        };
        if (profile.UserId is not null)
        {
            fields.Add(new HashEntry(UserField, profile.UserId));
        }

        if (profile.Name is not null)
        {
            fields.Add(new HashEntry(NameField, profile.Name));
        }

        foreach (var (room, at) in local.JoinedAt)
        {
            fields.Add(new HashEntry(JoinField(room), Millis(at)));
        }

        return Task.WhenAll(
            db.HashSetAsync(_keys.Peer(connectionId), fields.ToArray()),
            db.SetAddAsync(_keys.NodePeers(node.Id), connectionId));
    }

    private async Task TryAsync(Func<IDatabase, Task> action)
    {
        try
        {
            await action((await redis.GetMultiplexerAsync()).GetDatabase());
            if (Interlocked.Exchange(ref _failing, 0) == 1)
            {
                AuthLog.DirectoryRecovered(logger);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Logged once per outage; the local copy stays right and is written again when Redis is back.
            if (Interlocked.Exchange(ref _failing, 1) == 0)
            {
                AuthLog.DirectoryUnavailable(logger, ex);
            }
        }
    }

    private static PeerProfile? Parse(RedisValue[] values)
    {
        if (values.Length < 4 || values[2].IsNull)
        {
            return null;
        }

        return new PeerProfile(
            values[0].IsNull ? null : values[0].ToString(),
            values[1].IsNull ? null : values[1].ToString(),
            values[2].ToString(),
            FromMillis(values[3]) ?? DateTimeOffset.UnixEpoch);
    }

    private static string JoinField(string room) => "j:" + room;

    /// <summary>
    /// Unix milliseconds to the tick (e.g. <c>1764684000123.4567</c>): two joins answered within the
    /// same millisecond still list in joining order (the admin API orders members by join time).
    /// </summary>
    private static string Millis(DateTimeOffset at)
        => ((decimal)(at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMillisecond).ToString(CultureInfo.InvariantCulture);

    /// <summary>Reads <see cref="Millis"/>, and the whole milliseconds that earlier versions wrote.</summary>
    private static DateTimeOffset? FromMillis(RedisValue value)
        => !value.IsNull && decimal.TryParse(value.ToString(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var ms)
            && ms <= (decimal)(DateTimeOffset.MaxValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMillisecond
            ? DateTimeOffset.UnixEpoch.AddTicks((long)(ms * TimeSpan.TicksPerMillisecond))
            : null;

    private sealed record Local(PeerProfile Profile)
    {
        public ConcurrentDictionary<string, DateTimeOffset> JoinedAt { get; } = new(StringComparer.Ordinal);
    }
}

/// <summary>Renews this node's directory liveness and removes the profiles of nodes that are gone.</summary>
internal sealed class PeerDirectoryJanitor(RedisPeerDirectory directory, ILogger<PeerDirectoryJanitor> logger) : BackgroundService
{
    /// <summary>
    /// How long a crashed node's profiles outlive it: well past the room sweep (heartbeat TTL + sweep interval, about
    /// 12 s by default), which reads them for the exits it sends.
    /// </summary>
    internal static readonly TimeSpan AliveTtl = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await directory.RenewAsync(AliveTtl, stoppingToken))
                {
                    AuthLog.DirectoryRewritten(logger, directory.NodeId);
                }

                var removed = await directory.SweepAsync(stoppingToken);
                if (removed > 0)
                {
                    AuthLog.DirectorySwept(logger, removed);
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // The directory itself logs outages once; try again next round.
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }

            try
            {
                await Task.Delay(Interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await directory.DeregisterAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException)
        {
            // The key expires by itself.
        }
    }
}
