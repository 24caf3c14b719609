using System.Globalization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using RoomSignal.Redis;
using RoomSignal.Redis.Internal;
using RoomSignal.Server.Metrics;
using RoomSignal.Server.Rooms.Events;
using StackExchange.Redis;

namespace RoomSignal.Server.Rooms.Redis;

/// <summary>
/// The cluster room store: membership lives in Redis and is changed only by Lua scripts
/// (<see cref="RoomScripts"/>), so joins from many nodes are atomic and ordered; each node delivers the
/// membership events to its own connections from the ordered change stream.
/// </summary>
/// <remarks>
/// <para>
/// Each node keeps, in memory, (1) the rooms of its own connections — the truth for them, since only this node
/// changes them — and (2) for every room with at least one local member (or a local join in flight), a copy of
/// the room as of its <c>seq</c>, kept current by the changes channel, read in publish order from one
/// <see cref="ChannelMessageQueue"/>. The copy is exactly what this node's members of the room have been told:
/// each change of the stream that follows the copy's <c>seq</c> is applied to it and handed, under the same lock,
/// to the <see cref="IRoomEventSink"/> as <c>joined</c>/<c>exit</c> for the local members, and a local joiner's
/// <c>created</c> is sent at its own change's place (the stream's, or the join script's result when that result
/// loads the copy). So a member gets its <c>created</c>, then every later change of the room once and in order,
/// whichever node ran it; one PUBLISH per change reaches the whole cluster.
/// </para>
/// <para>
/// Recovery: a gap in the cluster-wide stream sequence (a lost message), a Redis reconnect, or a sequence that
/// starts again from below (Redis lost its data) makes the node re-read its rooms (<see cref="ResyncAsync"/>);
/// each re-read copy is compared with what the members were told and only the difference is sent, as
/// <c>joined</c>/<c>exit</c> carrying the room's current <c>seq</c> (several may carry the same one). Changes that
/// arrive meanwhile are held back and applied after the snapshot if newer.
/// </para>
/// <para>The first connection of <see cref="AreMembersAsync"/> must be a connection of this node (the hub's caller).</para>
/// </remarks>
internal sealed partial class RedisRoomStore : IRoomStore, IAsyncDisposable
{
    private const int MaxBufferedChanges = 10_000;

    /// <summary>How long a join waits for its own change to come back on the stream before it asks for a re-read.</summary>
    private static readonly TimeSpan AnnouncementPatience = TimeSpan.FromSeconds(3);

    /// <summary>How long a join waits in all for its <c>created</c> to be sent.</summary>
    private static readonly TimeSpan AnnouncementTimeout = TimeSpan.FromSeconds(15);

    private readonly IRedisConnection _redis;
    private readonly RedisKeyspace _keys;
    private readonly string _nodeId;
    private readonly RoomClusterOptions _options;
    private readonly IRoomEventSink _events;
    private readonly ILogger<RedisRoomStore> _logger;
    private readonly IRedisBackplaneStatus? _backplane;
    private readonly RoomSignalMetrics? _metrics;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, LocalConnection> _connections = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CachedRoom> _rooms = new(StringComparer.Ordinal);
    private long _lastSequence;

    /// <summary>Counts changes of local rooms (a room added at its created, a leave begun); see <see cref="LocalConnection.ChangedAt"/>.</summary>
    private long _membershipEpoch;

    private readonly SemaphoreSlim _subscribeGate = new(1, 1);
    private volatile ChannelMessageQueue? _changes;
    private ISubscriber? _subscriber;
    private volatile bool _stopping;

    public RedisRoomStore(
        IRedisConnection redis,
        NodeIdentity node,
        IOptions<RoomClusterOptions> options,
        IRoomEventSink events,
        ILogger<RedisRoomStore> logger,
        IRedisBackplaneStatus? backplane = null,
        RoomSignalMetrics? metrics = null)
    {
        _redis = redis;
        _keys = redis.Keys;
        _nodeId = node.Id;
        _options = options.Value;
        _events = events;
        _logger = logger;
        _backplane = backplane;
        _metrics = metrics;
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

        if (_backplane is { } backplane && !await backplane.CheckAsync(cancellationToken))
        {
            // Admitting it now would have the room send it `joined`, offers and candidates that the backplane
            // cannot deliver yet (Redis has not confirmed this node's subscriptions since it started or reconnected).
            RedisRoomStoreLog.NotReachableYet(_logger, connectionId, room);
            throw new HubException("room: this server is still connecting to the rest of the service; try again shortly");
        }

        LocalConnection connection;
        CachedRoom cached;
        PendingJoin pending;
        int generation;
        lock (_gate)
        {
            connection = GetOrAddConnection(connectionId);
            connection.JoinsInFlight++;
            cached = GetOrAddRoom(room);
            cached.Pins++;
            generation = cached.Generation;
            if (!cached.Pending.TryGetValue(connectionId, out pending!))
            {
                pending = new PendingJoin();
                cached.Pending[connectionId] = pending;
                connection.PendingRooms.Add(room);
            }
        }

        try
        {
            JoinOutcome outcome;
            try
            {
                outcome = await RunJoinAsync(room, connectionId, capacity);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                lock (_gate)
                {
                    DropPendingLocked(cached, connection, pending);
                }

                throw Unavailable(ex, "room", connectionId);
            }

            var departed = false;
            lock (_gate)
            {
                if (outcome.Status == RoomJoinStatus.Joined || (outcome.Status == RoomJoinStatus.AlreadyMember && pending.Seq == 0))
                {
                    // From now on only this change (or a snapshot at or after it) can announce this join; an older
                    // change or snapshot that holds the connection is from a membership it has left since. Already a
                    // member (a membership put back after Redis lost its data): it is one as of this seq.
                    pending.Seq = outcome.Sequence;
                }

                switch (outcome.Status)
                {
                    case RoomJoinStatus.RoomFull:
                        DropPendingLocked(cached, connection, pending);
                        break;

                    case RoomJoinStatus.Joined when connection.Departed:
                        DropPendingLocked(cached, connection, pending);
                        departed = true;
                        break;

                    case RoomJoinStatus.Joined when !cached.Loaded:
                        // The first local member (or the copy is being re-read): the script's answer is the room as
                        // of this join; loading it sends our created here, then the changes held back since. Of
                        // several local joins racing into a new copy, the earliest loads it (see TryLoadDeferredLocked).
                        var members = new Dictionary<string, string>(outcome.Members, StringComparer.Ordinal) { [connectionId] = _nodeId };
                        cached.DeferredLoads.Add(new DeferredLoad(generation, outcome.Sequence, connectionId, members));
                        TryLoadDeferredLocked(cached);
                        break;

                    case RoomJoinStatus.Joined when cached.Seq >= outcome.Sequence && !pending.Created.Task.IsCompleted:
                        // The copy is already past our change and it did not announce us (Redis numbered it again
                        // after losing data): announce now, at the copy's place.
                        AnnounceJoinLocked(cached, connectionId, _nodeId, cached.Seq);
                        break;

                    case RoomJoinStatus.AlreadyMember when connection.Rooms.Contains(room) && cached.Loaded && !pending.Created.Task.IsCompleted:
                        // Joining again: the same state again, at the copy's place in the order. (Already answered: a
                        // membership put back after Redis lost its data announced this join; that created is the answer.)
                        var others = cached.Members.Keys.Where(m => !string.Equals(m, connectionId, StringComparison.Ordinal)).ToArray();
                        var sent = _events.Enqueue(new RoomEvent(room, cached.Seq, RoomEventKind.Rejoined, connectionId, others, SubjectIsLocal: true, []));
                        if (cached.Pending.TryGetValue(connectionId, out var mine) && ReferenceEquals(mine, pending))
                        {
                            cached.Pending.Remove(connectionId);
                            connection.PendingRooms.Remove(room);
                        }

                        pending.Created.TrySetResult(new JoinAnnouncement(others, cached.Seq, sent));
                        break;

                    default:
                        // Joined: our created goes out when our change comes back on the stream (or with a re-read).
                        // Already a member through a join still in flight: that join's created answers us too.
                        break;
                }
            }

            if (outcome.Status == RoomJoinStatus.RoomFull)
            {
                return new RoomJoinResult(RoomJoinStatus.RoomFull, []);
            }

            if (departed)
            {
                // The connection disconnected while its join was running: take the membership back (the room hears
                // of it through the stream like of any leave) and let the hub send nothing.
                await TryLeaveQuietlyAsync(room, connectionId);
                throw new OperationCanceledException($"Connection {connectionId} disconnected while joining room {room}.");
            }

            var announcement = await WaitForAnnouncementAsync(pending, room, connectionId);
            await announcement.Sent;
            return new RoomJoinResult(outcome.Status, announcement.Peers, announcement.Seq);
        }
        finally
        {
            lock (_gate)
            {
                connection.JoinsInFlight--;
                cached.Pins--;
                if (pending.Created.Task.IsCompleted is false && connection.JoinsInFlight == 0)
                {
                    DropPendingLocked(cached, connection, pending);
                }

                ReleaseLocked(connection, cached);
            }
        }
    }

    private async Task<JoinAnnouncement> WaitForAnnouncementAsync(PendingJoin pending, string room, string connectionId)
    {
        try
        {
            return await pending.Created.Task.WaitAsync(AnnouncementPatience);
        }
        catch (TimeoutException)
        {
            // Our change has not come back on the stream: maybe it was lost. A re-read finds us in the room.
            RedisRoomStoreLog.AnnouncementLate(_logger, connectionId, room);
            ResyncNeeded?.Invoke(false);
        }

        try
        {
            return await pending.Created.Task.WaitAsync(AnnouncementTimeout - AnnouncementPatience);
        }
        catch (TimeoutException)
        {
            await TryLeaveQuietlyAsync(room, connectionId);
            throw new HubException($"room: joining '{room}' did not complete in time; try again");
        }
        catch (OperationCanceledException)
        {
            // The connection left while we waited.
            await TryLeaveQuietlyAsync(room, connectionId);
            throw new OperationCanceledException($"Connection {connectionId} disconnected while joining room {room}.");
        }
    }

    public async ValueTask<IReadOnlyList<string>?> LeaveAsync(string room, string connectionId, CancellationToken cancellationToken = default)
    {
        var wasLocalMember = false;
        lock (_gate)
        {
            if (_connections.TryGetValue(connectionId, out var connection) && connection.Rooms.Remove(room))
            {
                connection.ChangedAt = ++_membershipEpoch;
                // From now on it gets no events of the room; the others hear of it when the change comes back.
                wasLocalMember = true;
                _rooms.TryGetValue(room, out var cached);
                if (cached is not null)
                {
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
            // still holds and the room hears of it then.
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
            else if (_rooms.TryGetValue(room, out var cached) && cached.Loaded && cached.Members.ContainsKey(secondConnectionId))
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
        if (_changes is { } changes && _redis.IsConnected)
        {
            try
            {
                await changes.UnsubscribeAsync();
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
            {
                // Shutting down anyway.
            }
        }

        _subscribeGate.Dispose();
    }

    /// <summary>
    /// For tests: runs on the stream's reader before each change is applied, so a test can hold the reader back and
    /// have this node read the stream late, behind the results of its own scripts, as a busy node does.
    /// </summary>
    internal Action? BeforeChangeRead { get; set; }

    /// <summary>Set when a membership could not be removed from Redis; the next heartbeat reconciles.</summary>
    internal bool ReconcileNeeded { get; set; }

    /// <summary>Whether Redis has confirmed the subscription to the changes channel (again, after a reconnect).</summary>
    internal bool IsSubscribed => _changes is not null && _subscriber?.SubscribedEndpoint(_keys.RoomChangesChannel) is not null;

    /// <summary>
    /// Subscribes to the changes channel once, while Redis answers; retried on the next call after a failure.
    /// StackExchange.Redis 2.x completes a subscription only once Redis has confirmed it and sends it again by
    /// itself after every reconnect. Its handler-style callbacks run concurrently, so the changes are read from
    /// the ordered <see cref="ChannelMessageQueue"/>, one after the other, as they were published.
    /// </summary>
    internal async Task EnsureSubscribedAsync(CancellationToken cancellationToken = default)
    {
        if (_changes is not null)
        {
            return;
        }

        await _subscribeGate.WaitAsync(cancellationToken);
        try
        {
            if (_changes is not null)
            {
                return;
            }

            var multiplexer = await _redis.GetMultiplexerAsync(cancellationToken);
            if (!await RedisConnection.IsSubscriptionConnectedAsync(multiplexer, cancellationToken: cancellationToken))
            {
                throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "Redis is unreachable; not subscribed to room changes yet.");
            }

            var subscriber = multiplexer.GetSubscriber();
            ChannelMessageQueue changes;
            try
            {
                changes = await subscriber.SubscribeAsync(_keys.RoomChangesChannel).WaitAsync(_options.HeartbeatInterval, cancellationToken);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException)
            {
                // A failed SUBSCRIBE stays registered (and is sent again on reconnect) with a queue nobody reads: drop it.
                try
                {
                    await subscriber.UnsubscribeAsync(_keys.RoomChangesChannel, handler: null, CommandFlags.FireAndForget);
                }
                catch (RedisException)
                {
                    // Gone with the connection.
                }

                throw;
            }

            _subscriber = subscriber;
            changes.OnMessage(message =>
            {
                _metrics?.ChangeReceived();
                BeforeChangeRead?.Invoke();
                OnChange(message.Message);
            });
            _changes = changes;
            RedisRoomStoreLog.Subscribed(_logger, _keys.OnServer(_keys.RoomChangesChannel));
        }
        finally
        {
            _subscribeGate.Release();
        }
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
            // The rooms we could not leave hear of it once the next heartbeat reconciles.
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

    private async Task<JoinOutcome> RunJoinAsync(string room, string connectionId, int capacity, long seqFloor = 0)
    {
        var db = await DatabaseAsync();
        var result = await CountedAsync("join", db.ScriptEvaluateAsync(
            RoomScripts.Join,
            [
                _keys.RoomMembers(room), _keys.ConnectionRooms(connectionId), _keys.NodeConnections(_nodeId),
                _keys.RoomSequence, _keys.ClusterNodes, _keys.NodeHeartbeat(_nodeId), _keys.RoomSeq(room),
            ],
            [
                connectionId, _nodeId, capacity, room, _keys.OnServer(_keys.RoomChangesChannel),
                (long)_options.HeartbeatTtl.TotalMilliseconds, seqFloor,
            ]));
        var parts = (RedisResult[])result!;
        var status = (long)parts[0] switch
        {
            0 => RoomJoinStatus.Joined,
            1 => RoomJoinStatus.AlreadyMember,
            _ => RoomJoinStatus.RoomFull,
        };
        if (status == RoomJoinStatus.Joined)
        {
            _metrics?.RedisPublished("join"); // the script published the change
        }

        return new JoinOutcome(status, (long)parts[1], ToMembers(parts[2]));
    }

    private async Task<LeaveOutcome> RunLeaveAsync(string room, string connectionId, string nodeId, bool onlyIfDead)
    {
        var db = await DatabaseAsync();
        var result = await CountedAsync("leave", db.ScriptEvaluateAsync(
            RoomScripts.Leave,
            [
                _keys.RoomMembers(room), _keys.ConnectionRooms(connectionId), _keys.NodeConnections(nodeId),
                _keys.RoomSequence, _keys.NodeHeartbeat(nodeId), _keys.RoomSeq(room),
            ],
            [connectionId, room, _keys.OnServer(_keys.RoomChangesChannel), onlyIfDead ? "1" : "0", nodeId, (long)RoomScripts.EmptyRoomSeqRetention.TotalMilliseconds]));
        var parts = (RedisResult[])result!;
        if ((long)parts[0] == 1)
        {
            _metrics?.RedisPublished("leave"); // the script published the change
        }

        var members = ToMembers(parts[2]);
        return new LeaveOutcome((int)(long)parts[0], [.. members.Select(m => (m.Key, m.Value))]); // parts[1], the change's seq, reaches the nodes on the stream
    }

    /// <summary>Counts a membership script that failed on Redis (its change was not made, nor published).</summary>
    private async Task<RedisResult> CountedAsync(string change, Task<RedisResult> script)
    {
        try
        {
            return await script;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _metrics?.RedisPublishFailed(change);
            throw;
        }
    }

    private async Task<(long Sequence, Dictionary<string, string> Members)> RunSnapshotAsync(string room, long seqFloor)
    {
        var db = await DatabaseAsync();
        var result = await db.ScriptEvaluateAsync(RoomScripts.Snapshot, [_keys.RoomMembers(room), _keys.RoomSeq(room)], [seqFloor]);
        var parts = (RedisResult[])result!;
        return ((long)parts[0], ToMembers(parts[1]));
    }

    /// <summary>A flat list of connection, node pairs as a map.</summary>
    private static Dictionary<string, string> ToMembers(RedisResult result)
    {
        var items = (RedisResult[])result!;
        var members = new Dictionary<string, string>(items.Length / 2, StringComparer.Ordinal);
        for (var i = 0; i + 1 < items.Length; i += 2)
        {
            members[(string)items[i]!] = (string)items[i + 1]!;
        }

        return members;
    }

    // ---- pub/sub: membership changes of every room, in the order they were published ----

    private void OnChange(RedisValue message)
    {
        try
        {
            var text = (string?)message;
            if (text is null || !TryParseChange(text, out var stream, out var change, out var room))
            {
                RedisRoomStoreLog.BadChange(_logger, text ?? "(null)");
                return;
            }

            bool gap;
            bool backwards;
            var reread = false;
            lock (_gate)
            {
                var last = _lastSequence;
                if (stream == last)
                {
                    return; // the same change twice
                }

                _lastSequence = stream;
                gap = last != 0 && stream != last + 1;
                backwards = last != 0 && stream <= last;
                if (_rooms.TryGetValue(room, out var cached))
                {
                    if (!cached.Loaded)
                    {
                        if (cached.Buffer.Count < MaxBufferedChanges)
                        {
                            cached.Buffer.Add(change);
                        }
                        else
                        {
                            reread = true; // a snapshot this late is reloaded, not patched
                        }
                    }
                    else
                    {
                        reread = !ApplyLocked(cached, change);
                    }
                }
            }

            if (gap)
            {
                RedisRoomStoreLog.SequenceGap(_logger, stream, backwards);
                ResyncNeeded?.Invoke(backwards);
            }
            else if (reread)
            {
                ResyncNeeded?.Invoke(false);
            }
        }
        catch (Exception ex)
        {
            RedisRoomStoreLog.ChangeFailed(_logger, ex);
        }
    }

    internal static bool TryParseChange(string text, out long stream, out RoomChange change, out string room)
    {
        stream = 0;
        change = default;
        room = string.Empty;
        var parts = text.Split(' ', 6);
        if (parts.Length != 6 || parts[2] is not ("j" or "l")
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out stream)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            return false;
        }

        room = parts[3];
        change = new RoomChange(seq, parts[2] == "j", parts[4], parts[5]);
        return true;
    }

    // ---- the copies and the events (all under _gate) ----

    /// <summary>
    /// Applies the next change of a loaded copy and hands its events to the sink. Returns false when the change
    /// does not follow the copy (a gap in the room's seq): the copy is then re-read, holding back what follows.
    /// </summary>
    private bool ApplyLocked(CachedRoom cached, RoomChange change)
    {
        if (change.Seq <= cached.Seq)
        {
            // Part of the copy already (a snapshot read after it), or Redis numbers the room again after losing its
            // data (the re-read that follows corrects the members). A local joiner waiting for this very change is
            // announced now; the same connection's join from an earlier membership (the stream can lag behind the
            // script results, so that one's change may come only now) announces nothing.
            if (change.Joined && cached.Pending.TryGetValue(change.ConnectionId, out var waiting) && waiting.Seq == change.Seq)
            {
                AnnounceJoinLocked(cached, change.ConnectionId, change.Node, cached.Seq);
            }

            return true;
        }

        if (change.Seq != cached.Seq + 1)
        {
            RedisRoomStoreLog.RoomGap(_logger, cached.Room, change.Seq, cached.Seq);
            MarkStaleLocked(cached);
            cached.Buffer.Add(change);
            return false;
        }

        cached.Seq = change.Seq;
        if (change.Joined)
        {
            AnnounceJoinLocked(cached, change.ConnectionId, change.Node, change.Seq, announcesPending: IsOwnJoinLocked(cached, change.ConnectionId, change.Seq));
        }
        else
        {
            AnnounceLeaveLocked(cached, change.ConnectionId, change.Seq);
        }

        return true;
    }

    /// <summary>
    /// <paramref name="id"/> joined the copy at <paramref name="seq"/>: the local members get <c>joined</c>, and the
    /// joiner, when it is a local join waiting for it (and <paramref name="announcesPending"/>), its <c>created</c>
    /// (the members before it). Nothing for a member the copy already has, except a waiting joiner's <c>created</c>.
    /// </summary>
    private int AnnounceJoinLocked(CachedRoom cached, string id, string node, long seq, bool announcesPending = true)
    {
        var known = cached.Members.ContainsKey(id);
        var announcing = announcesPending && cached.Pending.ContainsKey(id);
        if (known && !announcing)
        {
            return 0;
        }

        var peers = cached.Members.Keys.Where(m => !string.Equals(m, id, StringComparison.Ordinal)).ToArray();
        IReadOnlyList<string> recipients = known ? [] : LocalRecipientsLocked(cached, except: id);
        cached.Members[id] = node;
        PendingJoin? pending = null;
        PendingJoin? waiting = null;
        if (announcing && cached.Pending.Remove(id, out waiting) && _connections.TryGetValue(id, out var connection))
        {
            connection.PendingRooms.Remove(cached.Room);
            if (connection.Departed)
            {
                waiting.Created.TrySetCanceled();
            }
            else
            {
                pending = waiting;
                if (connection.Rooms.Add(cached.Room))
                {
                    connection.ChangedAt = ++_membershipEpoch;
                    cached.LocalMembers++;
                }
            }
        }
        else
        {
            waiting?.Created.TrySetCanceled();
        }

        if (pending is null && recipients.Count == 0)
        {
            return 0;
        }

        var sent = _events.Enqueue(new RoomEvent(cached.Room, seq, known ? RoomEventKind.Rejoined : RoomEventKind.Joined, id, peers, pending is not null, recipients));
        pending?.Created.TrySetResult(new JoinAnnouncement(peers, seq, sent));
        return recipients.Count;
    }

    /// <summary>Whether a join of <paramref name="id"/> at <paramref name="seq"/> may be the change a local join of it is waiting for.</summary>
    private static bool IsOwnJoinLocked(CachedRoom cached, string id, long seq)
        => !cached.Pending.TryGetValue(id, out var waiting) || waiting.Seq == 0 || waiting.Seq == seq;

    /// <summary><paramref name="id"/> left the copy at <paramref name="seq"/>: the local members that knew it get <c>exit</c>.</summary>
    private int AnnounceLeaveLocked(CachedRoom cached, string id, long seq)
    {
        if (!cached.Members.Remove(id))
        {
            return 0;
        }

        var recipients = LocalRecipientsLocked(cached, except: id);
        if (recipients.Count > 0)
        {
            _ = _events.Enqueue(new RoomEvent(cached.Room, seq, RoomEventKind.Left, id, [], SubjectIsLocal: false, recipients));
        }

        return recipients.Count;
    }

    /// <summary>The members of the copy connected here that are still in the room (an Exit stops their events at once).</summary>
    private List<string> LocalRecipientsLocked(CachedRoom cached, string except)
    {
        var recipients = new List<string>();
        foreach (var (member, node) in cached.Members)
        {
            if (string.Equals(node, _nodeId, StringComparison.Ordinal) && !string.Equals(member, except, StringComparison.Ordinal)
                && _connections.TryGetValue(member, out var connection) && connection.Rooms.Contains(cached.Room))
            {
                recipients.Add(member);
            }
        }

        return recipients;
    }

    /// <summary>Stops applying changes to the copy until it is re-read; what arrives meanwhile is held back.</summary>
    private static void MarkStaleLocked(CachedRoom cached)
    {
        cached.Generation++;
        cached.Loaded = false;
        cached.Buffer.Clear();
    }

    /// <summary>
    /// Loads (or re-loads) the copy from a snapshot of the room at <paramref name="seq"/>: sends the local members the
    /// difference from what they were told (at <paramref name="seq"/>, or the copy's seq if that is higher), announces
    /// the waiting local joiners the snapshot holds, then applies the changes held back. Ignored when the copy was
    /// marked stale again after the snapshot was asked for, or is loaded already. Returns what was sent to correct
    /// views that had been told something else (null when ignored).
    /// </summary>
    private RecoveryTally? ApplySnapshotLocked(CachedRoom cached, int generation, long seq, Dictionary<string, string> members)
    {
        if (cached.Generation != generation || cached.Loaded)
        {
            return null;
        }

        var tally = new RecoveryTally();
        var at = Math.Max(seq, cached.Seq);
        foreach (var (member, node) in cached.Members)
        {
            if (string.Equals(node, _nodeId, StringComparison.Ordinal) && !members.ContainsKey(member)
                && _connections.TryGetValue(member, out var connection) && connection.Rooms.Contains(cached.Room))
            {
                // Our own live member, missing in Redis (it lost data): it is still here; the next heartbeat puts it back.
                members[member] = node;
                ReconcileNeeded = true;
            }
        }

        foreach (var gone in cached.Members.Keys.Where(m => !members.ContainsKey(m)).ToArray())
        {
            tally.Exits += AnnounceLeaveLocked(cached, gone, at);
        }

        var joiners = new List<(string Id, string Node)>();
        foreach (var (member, node) in members)
        {
            if (cached.Pending.TryGetValue(member, out var waiting) && waiting.Seq != 0 && waiting.Seq <= seq)
            {
                joiners.Add((member, node));
            }
            else if (!cached.Members.ContainsKey(member))
            {
                // Also a connection of this node that has left here but not yet in Redis: it is a member at this seq,
                // and its leave, which follows on the stream, must find it (or the members would miss that seq). A
                // local join still waiting whose own change the snapshot may not hold (its seq is unknown yet, or
                // later) is such a member too: its created waits for its own change, or for its result when the copy
                // is past that change already.
                tally.Joined += AnnounceJoinLocked(cached, member, node, at, announcesPending: false);
            }
        }

        foreach (var (member, node) in joiners)
        {
            tally.Joined += AnnounceJoinLocked(cached, member, node, at);
        }

        cached.Seq = at;
        cached.Loaded = true;
        var held = cached.Buffer.ToArray();
        cached.Buffer.Clear();
        foreach (var change in held)
        {
            if (!cached.Loaded)
            {
                cached.Buffer.Add(change); // a gap among the held-back changes: the next re-read takes them
            }
            else if (!ApplyLocked(cached, change))
            {
                tally.StillStale = true;
            }
        }

        return tally;
    }

    private void DropPendingLocked(CachedRoom cached, LocalConnection connection, PendingJoin pending)
    {
        if (cached.Pending.TryGetValue(connection.Id, out var current) && ReferenceEquals(current, pending))
        {
            cached.Pending.Remove(connection.Id);
            connection.PendingRooms.Remove(cached.Room);
            TryLoadDeferredLocked(cached);
        }
    }

    /// <summary>
    /// Loads a copy that is not loaded from a local join's answer. The answer of join <c>s</c> is the room as of
    /// <c>s</c>; it is exact for every local member only when no other local joiner still waiting for its created
    /// is among the members before it (that one joined earlier, and its own answer, or its change on the stream,
    /// must place its created first). So the answers wait here until one qualifies; loading one makes the rest
    /// moot (their changes follow on the stream).
    /// </summary>
    private void TryLoadDeferredLocked(CachedRoom cached)
    {
        cached.DeferredLoads.RemoveAll(d => d.Generation != cached.Generation);
        if (cached.Loaded || cached.DeferredLoads.Count == 0)
        {
            cached.DeferredLoads.Clear();
            return;
        }

        DeferredLoad? best = null;
        foreach (var load in cached.DeferredLoads)
        {
            // Blocked by a local joiner still waiting that joined before it (or may have: its seq is not known yet). One
            // whose join came after it is in these members from a membership it has left since.
            var blocked = load.Members.Keys.Any(m => !string.Equals(m, load.Joiner, StringComparison.Ordinal)
                && cached.Pending.TryGetValue(m, out var waiting) && (waiting.Seq == 0 || waiting.Seq < load.Seq));
            if (!blocked && (best is null || load.Seq < best.Seq))
            {
                best = load;
            }
        }

        if (best is null)
        {
            return;
        }

        cached.DeferredLoads.Clear();
        if (ApplySnapshotLocked(cached, best.Generation, best.Seq, best.Members) is { } tally)
        {
            ReportRecovery(tally, rooms: 1);
        }
    }

    private void ReportRecovery(RecoveryTally tally, int rooms)
    {
        if (tally.Joined + tally.Exits > 0)
        {
            RedisRoomStoreLog.ViewsCorrected(_logger, rooms, tally.Joined, tally.Exits);
        }
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
        connection.ChangedAt = ++_membershipEpoch;
        connection.Departed = true;
        foreach (var room in connection.PendingRooms.ToArray())
        {
            if (_rooms.TryGetValue(room, out var waiting) && waiting.Pending.Remove(connection.Id, out var pending))
            {
                pending.Created.TrySetCanceled();
                TryLoadDeferredLocked(waiting);
            }
        }

        connection.PendingRooms.Clear();
        foreach (var room in rooms)
        {
            if (_rooms.TryGetValue(room, out var cached))
            {
                cached.LocalMembers--;
                ReleaseLocked(connection, cached);
            }
        }

        ReleaseLocked(connection, null);
        return rooms;
    }

    private sealed class LocalConnection(string id)
    {
        public string Id { get; } = id;

        /// <summary>The rooms it is in, from its <c>created</c> on, until it leaves (it gets their events meanwhile).</summary>
        public HashSet<string> Rooms { get; } = new(StringComparer.Ordinal);

        /// <summary>Rooms it is joining whose <c>created</c> has not been sent yet.</summary>
        public HashSet<string> PendingRooms { get; } = new(StringComparer.Ordinal);

        public int JoinsInFlight { get; set; }

        /// <summary>
        /// The <see cref="_membershipEpoch"/> of its last local room change. A connection with rooms that has not
        /// changed since a moment is, from that moment on, in Redis's set of this node's connections (its joins' scripts
        /// ran before its rooms were added here; a leave is begun here before its script runs), unless Redis lost it.
        /// </summary>
        public long ChangedAt { get; set; }

        /// <summary>The connection has left every room for good (disconnected or drained); a join still running is undone.</summary>
        public bool Departed { get; set; }
    }

    private sealed class CachedRoom(string room)
    {
        public string Room { get; } = room;

        /// <summary>The room as of <see cref="Seq"/> (connection to node): exactly what the local members have been told.</summary>
        public Dictionary<string, string> Members { get; } = new(StringComparer.Ordinal);

        /// <summary>Changes that arrived while the copy was not loaded, applied once it is.</summary>
        public List<RoomChange> Buffer { get; } = [];

        public long Seq { get; set; }

        public bool Loaded { get; set; }

        /// <summary>Bumped when the copy must be reloaded, so snapshots requested before are ignored.</summary>
        public int Generation { get; set; }

        public int LocalMembers { get; set; }

        /// <summary>Joins in flight that will load or use this copy.</summary>
        public int Pins { get; set; }

        /// <summary>Answers of local joins that may load the copy (<see cref="TryLoadDeferredLocked"/>).</summary>
        public List<DeferredLoad> DeferredLoads { get; } = [];

        /// <summary>Local joins waiting for their <c>created</c>, by connection.</summary>
        public Dictionary<string, PendingJoin> Pending { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>A local join waiting for its <c>created</c> to be sent at its place in the room's order.</summary>
    private sealed class PendingJoin
    {
        public TaskCompletionSource<JoinAnnouncement> Created { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The seq of this join's own change, once its script has answered (0 until then).</summary>
        public long Seq { get; set; }
    }

    /// <summary>The <c>created</c> a join was answered with, and its delivery.</summary>
    private sealed record JoinAnnouncement(IReadOnlyList<string> Peers, long Seq, Task Sent);

    /// <summary>A local join's answer: the room as of <paramref name="Seq"/>, the joiner included.</summary>
    private sealed record DeferredLoad(int Generation, long Seq, string Joiner, Dictionary<string, string> Members);

    private sealed class RecoveryTally
    {
        public int Joined { get; set; }

        public int Exits { get; set; }

        public bool StillStale { get; set; }
    }

    private sealed record JoinOutcome(RoomJoinStatus Status, long Sequence, Dictionary<string, string> Members);

    private sealed record LeaveOutcome(int Removed, List<(string Connection, string Node)> Remaining)
    {
        public string[] RemainingIds(string except)
            => Remaining.Where(r => !string.Equals(r.Connection, except, StringComparison.Ordinal)).Select(r => r.Connection).ToArray();
    }
}

/// <summary>One membership change as the stream carries it.</summary>
/// <param name="Seq">The room's change number.</param>
/// <param name="Joined">A join (else a leave).</param>
/// <param name="ConnectionId">Who joined or left.</param>
/// <param name="Node">The node it is connected to.</param>
internal readonly record struct RoomChange(long Seq, bool Joined, string ConnectionId, string Node);
