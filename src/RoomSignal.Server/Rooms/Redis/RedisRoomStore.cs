using System.Globalization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using RoomSignal.Redis;
using StackExchange.Redis;

namespace RoomSignal.Server.Rooms.Redis;

/// <summary>
/// The cluster room store: membership lives in Redis and is changed only by Lua scripts
/// (<see cref="RoomScripts"/>), so joins from many nodes are atomic and ordered.
/// </summary>
/// <remarks>
/// <para>
/// Each node also keeps, in memory, (1) the rooms of its own connections — the truth for them, since only
/// this node changes them — and (2) for every room with at least one local member, the room's member set,
/// kept current by the changes channel. Relay checks are answered from these without Redis; only when the
/// target is not (yet) in the local copy does the node ask Redis once before refusing, so a peer that just
/// joined on another node is never wrongly refused.
/// </para>
/// <para>
/// The local copy of a room is loaded from the snapshot every join script returns, which carries the
/// sequence number of the last change it includes; changes that arrive while a snapshot is on its way are
/// held back and applied only if they are newer. A gap in the sequence (a lost message, a Redis reconnect)
/// or a sequence that goes backwards (Redis lost its data) reloads every local room.
/// </para>
/// <para>The first connection of <see cref="AreMembersAsync"/> must be a connection of this node (the hub's caller).</para>
/// </remarks>
internal sealed partial class RedisRoomStore : IRoomStore, IAsyncDisposable
{
    private const int MaxBufferedChanges = 10_000;
    private static readonly TimeSpan SubscriptionConfirmTimeout = TimeSpan.FromSeconds(1);

    private readonly IRedisConnection _redis;
    private readonly RedisKeyspace _keys;
    private readonly string _nodeId;
    private readonly RoomClusterOptions _options;
    private readonly IRoomExitNotifier _notifier;
    private readonly ILogger<RedisRoomStore> _logger;
    private readonly IRedisBackplaneStatus? _backplane;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, LocalConnection> _connections = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CachedRoom> _rooms = new(StringComparer.Ordinal);
    private long _lastSequence;

    private readonly SemaphoreSlim _subscribeGate = new(1, 1);
    private volatile bool _subscribed;
    private bool _handlerAdded; // under _subscribeGate
    private volatile bool _stopping;

    public RedisRoomStore(
        IRedisConnection redis,
        NodeIdentity node,
        IOptions<RoomClusterOptions> options,
        IRoomExitNotifier notifier,
        ILogger<RedisRoomStore> logger,
        IRedisBackplaneStatus? backplane = null)
    {
        _redis = redis;
        _keys = redis.Keys;
        _nodeId = node.Id;
        _options = options.Value;
        _notifier = notifier;
        _logger = logger;
        _backplane = backplane;
    }

    /// <summary>Raised (from a pub/sub callback) when the local copies must be reloaded; the cluster service reacts.</summary>
    public event Action<bool>? ResyncNeeded;

    public string NodeId => _nodeId;

    public async ValueTask<RoomJoinResult> JoinAsync(string room, string connectionId, int capacity, CancellationToken cancellationToken = default)
    {
        if (_stopping)
        {
            throw new HubException("room: the server is shutting down; connect again to join");
        }

        try
        {
            await EnsureSubscribedAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw Unavailable(ex, "room", connectionId);
        }

        if (_backplane is { } backplane && !backplane.IsReachable(connectionId))
        {
            // Admitting it now would have the room send it `joined`, offers and candidates that the backplane
            // cannot deliver yet (this node's subscriptions are not confirmed, or the connection not registered).
            RedisRoomStoreLog.NotReachableYet(_logger, connectionId, room);
            throw new HubException("room: this server is still connecting to the rest of the service; try again shortly");
        }

        LocalConnection connection;
        CachedRoom cached;
        int generation;
        lock (_gate)
        {
            connection = GetOrAddConnection(connectionId);
            connection.JoinsInFlight++;
            cached = GetOrAddRoom(room);
            cached.Pins++;
            generation = cached.Generation;
        }

        JoinOutcome? outcome = null;
        var departed = false;
        try
        {
            outcome = await RunJoinAsync(room, connectionId, capacity);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw Unavailable(ex, "room", connectionId);
        }
        finally
        {
            lock (_gate)
            {
                connection.JoinsInFlight--;
                cached.Pins--;
                if (outcome is { Status: not RoomJoinStatus.RoomFull } done)
                {
                    if (connection.Departed)
                    {
                        departed = true;
                    }
                    else
                    {
                        if (connection.Rooms.Add(room))
                        {
                            cached.LocalMembers++;
                        }

                        ApplySnapshotLocked(cached, generation, done.Sequence, done.Members);
                    }
                }

                ReleaseLocked(connection, cached);
            }
        }

        if (departed)
        {
            // The connection disconnected while its join was running: take the membership back, quietly,
            // since nobody was told about it, and let the hub send nothing.
            await TryLeaveQuietlyAsync(room, connectionId);
            throw new OperationCanceledException($"Connection {connectionId} disconnected while joining room {room}.");
        }

        var result = outcome!;
        if (result.Status == RoomJoinStatus.RoomFull)
        {
            return new RoomJoinResult(RoomJoinStatus.RoomFull, []);
        }

        var peers = result.Members.Where(m => !string.Equals(m, connectionId, StringComparison.Ordinal)).ToArray();
        return new RoomJoinResult(result.Status, peers);
    }

    public async ValueTask<IReadOnlyList<string>?> LeaveAsync(string room, string connectionId, CancellationToken cancellationToken = default)
    {
        var wasLocalMember = false;
        lock (_gate)
        {
            if (_connections.TryGetValue(connectionId, out var connection) && connection.Rooms.Remove(room))
            {
                wasLocalMember = true;
                if (_rooms.TryGetValue(room, out var cached))
                {
                    // Refuse relays to it at once rather than when our own change comes back on the channel.
                    cached.Members.Remove(connectionId);
                    cached.LocalMembers--;
                }

                ReleaseLocked(connection, cached);
            }
        }

        LeaveOutcome outcome;
        try
        {
            outcome = await RunLeaveAsync(room, connectionId, _nodeId, onlyIfDead: false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            if (!wasLocalMember)
            {
                throw Unavailable(ex, "room", connectionId);
            }

            // It has left as far as this node is concerned; the next successful heartbeat removes what Redis
            // still holds and tells the room then.
            ReconcileNeeded = true;
            RedisRoomStoreLog.LeaveFailed(_logger, ex, connectionId);
            return [];
        }

        if (!wasLocalMember && outcome.Removed != 1)
        {
            return null;
        }

        return outcome.RemainingIds(connectionId);
    }

    public async ValueTask<IReadOnlyList<RoomDeparture>> LeaveAllAsync(string connectionId, CancellationToken cancellationToken = default)
    {
        string[] rooms;
        lock (_gate)
        {
            if (!_connections.TryGetValue(connectionId, out var connection))
            {
                return [];
            }

            rooms = TakeAllRoomsLocked(connection);
        }

        return await LeaveRoomsAsync(connectionId, rooms);
    }

    public async ValueTask<bool> AreMembersAsync(string room, string firstConnectionId, string secondConnectionId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_connections.TryGetValue(firstConnectionId, out var sender) || !sender.Rooms.Contains(room))
            {
                return false;
            }

            if (_connections.TryGetValue(secondConnectionId, out var target))
            {
                if (target.Rooms.Contains(room))
                {
                    return true;
                }

                if (target.JoinsInFlight == 0)
                {
                    return false;
                }
            }
            else if (_rooms.TryGetValue(room, out var cached) && cached.Loaded && cached.Members.Contains(secondConnectionId))
            {
                return true;
            }
        }

        // Not in the local copy: maybe a peer on another node whose join has not reached us yet.
        try
        {
            var db = await DatabaseAsync(cancellationToken);
            return await db.HashExistsAsync(_keys.RoomMembers(room), secondConnectionId);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw Unavailable(ex, "to", firstConnectionId);
        }
    }

    /// <summary>A Redis failure as the caller sees it: a specific error naming the field, the details in the log.</summary>
    private HubException Unavailable(Exception exception, string field, string connectionId)
    {
        RedisRoomStoreLog.Unavailable(_logger, exception, connectionId);
        return new HubException($"{field}: room membership is unavailable while the service cannot reach Redis; try again shortly");
    }

    public async ValueTask DisposeAsync()
    {
        if (_subscribed && _redis.IsConnected)
        {
            try
            {
                var multiplexer = await _redis.GetMultiplexerAsync();
                await multiplexer.GetSubscriber().UnsubscribeAsync(_keys.RoomChanges, OnChange);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
            {
                // Shutting down anyway.
            }
        }

        _subscribeGate.Dispose();
    }

    /// <summary>Set when a membership could not be removed from Redis; the next heartbeat reconciles.</summary>
    internal bool ReconcileNeeded { get; set; }

    /// <summary>Whether Redis has confirmed the subscription to the changes channel.</summary>
    internal bool IsSubscribed => _subscribed;

    /// <summary>
    /// Subscribes to the changes channel once; retried on the next call after a failure. While Redis is down,
    /// StackExchange.Redis 1.2.6 accepts a subscription without sending it and completes the task at once; it
    /// re-sends on reconnect only subscriptions a server held. So a subscription that reached no server is undone
    /// and reported as a failure, never counted as done.
    /// </summary>
    internal async Task EnsureSubscribedAsync(CancellationToken cancellationToken = default)
    {
        if (_subscribed)
        {
            return;
        }

        await _subscribeGate.WaitAsync(cancellationToken);
        try
        {
            if (_subscribed)
            {
                return;
            }

            var multiplexer = await _redis.GetMultiplexerAsync(cancellationToken);
            var subscriber = multiplexer.GetSubscriber();
            if (!_handlerAdded)
            {
                _handlerAdded = true;
                try
                {
                    await subscriber.SubscribeAsync(_keys.RoomChanges, OnChange).WaitAsync(_options.HeartbeatInterval, cancellationToken);
                }
                catch (Exception) when (subscriber.SubscribedEndpoint(_keys.RoomChanges) is null)
                {
                    await RemoveUnsentSubscriptionAsync(subscriber);
                    throw;
                }
            }

            // SE.Redis 1.2.6 records the server of a subscription a moment after SubscribeAsync completes, and a
            // subscription made while Redis was down completes without reaching any server: wait briefly for the
            // server to show up before deciding which of the two this is.
            var confirmBy = DateTime.UtcNow + SubscriptionConfirmTimeout;
            while (subscriber.SubscribedEndpoint(_keys.RoomChanges) is null)
            {
                if (DateTime.UtcNow >= confirmBy)
                {
                    await RemoveUnsentSubscriptionAsync(subscriber);
                    throw new TimeoutException("The subscription to room changes reached no Redis server yet.");
                }

                await Task.Delay(10, cancellationToken);
            }

            _subscribed = true;
            RedisRoomStoreLog.Subscribed(_logger, _keys.RoomChanges);
        }
        finally
        {
            _subscribeGate.Release();
        }
    }

    /// <summary>Takes back a subscription that reached no server, so the next attempt subscribes afresh (and not twice).</summary>
    private async Task RemoveUnsentSubscriptionAsync(ISubscriber subscriber)
    {
        await subscriber.UnsubscribeAsync(_keys.RoomChanges, OnChange).WaitAsync(_options.HeartbeatInterval, CancellationToken.None);
        _handlerAdded = false;
    }

    private async Task<IReadOnlyList<RoomDeparture>> LeaveRoomsAsync(string connectionId, IReadOnlyList<string> rooms)
    {
        if (rooms.Count == 0)
        {
            return [];
        }

        var leaves = rooms.Select(room => RunLeaveAsync(room, connectionId, _nodeId, onlyIfDead: false)).ToArray();
        try
        {
            await Task.WhenAll(leaves);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Peers of the rooms we could not leave are told once the next heartbeat reconciles.
            ReconcileNeeded = true;
            RedisRoomStoreLog.LeaveFailed(_logger, ex, connectionId);
        }

        var departures = new List<RoomDeparture>(rooms.Count);
        for (var i = 0; i < rooms.Count; i++)
        {
            if (leaves[i].IsCompletedSuccessfully)
            {
                departures.Add(new RoomDeparture(rooms[i], leaves[i].Result.RemainingIds(connectionId)));
            }
        }

        return departures;
    }

    private async Task TryLeaveQuietlyAsync(string room, string connectionId)
    {
        try
        {
            await RunLeaveAsync(room, connectionId, _nodeId, onlyIfDead: false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            ReconcileNeeded = true;
            RedisRoomStoreLog.LeaveFailed(_logger, ex, connectionId);
        }
    }

    private async Task<IDatabase> DatabaseAsync(CancellationToken cancellationToken = default)
        => (await _redis.GetMultiplexerAsync(cancellationToken)).GetDatabase();

    private async Task<JoinOutcome> RunJoinAsync(string room, string connectionId, int capacity)
    {
        var db = await DatabaseAsync();
        var result = await db.ScriptEvaluateAsync(
            RoomScripts.Join,
            [
                _keys.RoomMembers(room), _keys.ConnectionRooms(connectionId), _keys.NodeConnections(_nodeId),
                _keys.RoomSequence, _keys.ClusterNodes, _keys.NodeHeartbeat(_nodeId),
            ],
            [
                connectionId, _nodeId, capacity, room, _keys.RoomChanges, (long)_options.HeartbeatTtl.TotalMilliseconds,
            ]);
        var parts = (RedisResult[])result!;
        var status = (long)parts[0] switch
        {
            0 => RoomJoinStatus.Joined,
            1 => RoomJoinStatus.AlreadyMember,
            _ => RoomJoinStatus.RoomFull,
        };
        return new JoinOutcome(status, (long)parts[1], ToStrings(parts[2]));
    }

    private async Task<LeaveOutcome> RunLeaveAsync(string room, string connectionId, string nodeId, bool onlyIfDead)
    {
        var db = await DatabaseAsync();
        var result = await db.ScriptEvaluateAsync(
            RoomScripts.Leave,
            [
                _keys.RoomMembers(room), _keys.ConnectionRooms(connectionId), _keys.NodeConnections(nodeId),
                _keys.RoomSequence, _keys.NodeHeartbeat(nodeId),
            ],
            [connectionId, room, _keys.RoomChanges, onlyIfDead ? "1" : "0"]);
        var parts = (RedisResult[])result!;
        var flat = ToStrings(parts[2]);
        var remaining = new List<(string Connection, string Node)>(flat.Length / 2);
        for (var i = 0; i + 1 < flat.Length; i += 2)
        {
            remaining.Add((flat[i], flat[i + 1]));
        }

        return new LeaveOutcome((int)(long)parts[0], remaining); // parts[1], the change's sequence, reaches nodes on the channel
    }

    private async Task<(long Sequence, string[] Members)> RunSnapshotAsync(string room)
    {
        var db = await DatabaseAsync();
        var result = await db.ScriptEvaluateAsync(RoomScripts.Snapshot, [_keys.RoomMembers(room), _keys.RoomSequence]);
        var parts = (RedisResult[])result!;
        return ((long)parts[0], ToStrings(parts[1]));
    }

    private static string[] ToStrings(RedisResult result)
    {
        var items = (RedisResult[])result!;
        var strings = new string[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            strings[i] = (string)items[i]!;
        }

        return strings;
    }

    // ---- pub/sub: membership changes of every room ----

    private void OnChange(RedisChannel channel, RedisValue message)
    {
        try
        {
            var text = (string?)message;
            if (text is null || !TryParseChange(text, out var sequence, out var joined, out var room, out var connectionId))
            {
                RedisRoomStoreLog.BadChange(_logger, text ?? "(null)");
                return;
            }

            bool gap;
            bool backwards;
            var overflow = false;
            lock (_gate)
            {
                var last = _lastSequence;
                if (sequence == last)
                {
                    return; // the same message twice (a handler registered again after a failed subscribe)
                }

                _lastSequence = sequence;
                gap = last != 0 && sequence != last + 1;
                backwards = last != 0 && sequence <= last;
                if (_rooms.TryGetValue(room, out var cached))
                {
                    if (!cached.Loaded)
                    {
                        if (cached.Buffer.Count < MaxBufferedChanges)
                        {
                            cached.Buffer.Add(new Change(sequence, joined, connectionId));
                        }
                        else
                        {
                            overflow = true; // a snapshot this late is reloaded, not patched
                        }
                    }
                    else if (sequence > cached.Sequence)
                    {
                        cached.Apply(joined, connectionId);
                        cached.Sequence = sequence;
                    }
                }
            }

            if (gap)
            {
                RedisRoomStoreLog.SequenceGap(_logger, sequence, backwards);
                ResyncNeeded?.Invoke(backwards);
            }
            else if (overflow)
            {
                ResyncNeeded?.Invoke(false);
            }
        }
        catch (Exception ex)
        {
            RedisRoomStoreLog.ChangeFailed(_logger, ex);
        }
    }

    internal static bool TryParseChange(string text, out long sequence, out bool joined, out string room, out string connectionId)
    {
        sequence = 0;
        joined = false;
        room = connectionId = string.Empty;
        var parts = text.Split(' ', 4);
        if (parts.Length != 4 || parts[1] is not ("j" or "l")
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out sequence))
        {
            return false;
        }

        joined = parts[1] == "j";
        room = parts[2];
        connectionId = parts[3];
        return true;
    }

    // ---- local state (all under _gate) ----

    private LocalConnection GetOrAddConnection(string connectionId)
    {
        if (!_connections.TryGetValue(connectionId, out var connection))
        {
            connection = new LocalConnection(connectionId);
            _connections[connectionId] = connection;
        }

        return connection;
    }

    private CachedRoom GetOrAddRoom(string room)
    {
        if (!_rooms.TryGetValue(room, out var cached))
        {
            cached = new CachedRoom(room);
            _rooms[room] = cached;
        }

        return cached;
    }

    private void ReleaseLocked(LocalConnection connection, CachedRoom? cached)
    {
        if (connection.Rooms.Count == 0 && connection.JoinsInFlight == 0
            && _connections.TryGetValue(connection.Id, out var current) && ReferenceEquals(current, connection))
        {
            _connections.Remove(connection.Id);
        }

        if (cached is { LocalMembers: 0, Pins: 0 } && _rooms.TryGetValue(cached.Room, out var currentRoom) && ReferenceEquals(currentRoom, cached))
        {
            _rooms.Remove(cached.Room);
        }
    }

    private string[] TakeAllRoomsLocked(LocalConnection connection)
    {
        var rooms = connection.Rooms.ToArray();
        connection.Rooms.Clear();
        connection.Departed = true;
        foreach (var room in rooms)
        {
            if (_rooms.TryGetValue(room, out var cached))
            {
                cached.Members.Remove(connection.Id);
                cached.LocalMembers--;
                ReleaseLocked(connection, cached);
            }
        }

        ReleaseLocked(connection, null);
        return rooms;
    }

    private static void ApplySnapshotLocked(CachedRoom cached, int generation, long sequence, IReadOnlyList<string> members)
    {
        if (cached.Generation != generation)
        {
            return;
        }

        if (!cached.Loaded)
        {
            cached.Members.Clear();
            cached.Members.UnionWith(members);
            cached.Sequence = sequence;
            cached.Loaded = true;
            foreach (var change in cached.Buffer)
            {
                if (change.Sequence > cached.Sequence)
                {
                    cached.Apply(change.Joined, change.ConnectionId);
                    cached.Sequence = change.Sequence;
                }
            }

            cached.Buffer.Clear();
        }
        else if (sequence > cached.Sequence)
        {
            cached.Members.Clear();
            cached.Members.UnionWith(members);
            cached.Sequence = sequence;
        }
    }

    private sealed class LocalConnection(string id)
    {
        public string Id { get; } = id;

        public HashSet<string> Rooms { get; } = new(StringComparer.Ordinal);

        public int JoinsInFlight { get; set; }

        /// <summary>The connection has left every room for good (disconnected or drained); a join still running is undone.</summary>
        public bool Departed { get; set; }
    }

    private sealed class CachedRoom(string room)
    {
        public string Room { get; } = room;

        public HashSet<string> Members { get; } = new(StringComparer.Ordinal);

        public List<Change> Buffer { get; } = [];

        public long Sequence { get; set; }

        public bool Loaded { get; set; }

        /// <summary>Bumped when the copy must be reloaded, so snapshots requested before are ignored.</summary>
        public int Generation { get; set; }

        public int LocalMembers { get; set; }

        /// <summary>Joins in flight that will load or use this copy.</summary>
        public int Pins { get; set; }

        public void Apply(bool joined, string connectionId)
        {
            if (joined)
            {
                Members.Add(connectionId);
            }
            else
            {
                Members.Remove(connectionId);
            }
        }
    }

    private readonly record struct Change(long Sequence, bool Joined, string ConnectionId);

    private sealed record JoinOutcome(RoomJoinStatus Status, long Sequence, string[] Members);

    private sealed record LeaveOutcome(int Removed, List<(string Connection, string Node)> Remaining)
    {
        public string[] RemainingIds(string except)
            => Remaining.Where(r => !string.Equals(r.Connection, except, StringComparison.Ordinal)).Select(r => r.Connection).ToArray();
    }
}
