using StackExchange.Redis;

namespace RoomSignal.Server.Rooms.Redis;

// Node liveness, recovery and shutdown: the parts of the store the cluster service drives.
internal sealed partial class RedisRoomStore
{
    private const int RedisBatchSize = 256;
    private static readonly TimeSpan SweptMarkerLifetime = TimeSpan.FromHours(1);
    private bool _registered;

    /// <summary>
    /// For tests: runs after the heartbeat script has counted this node's connections in Redis and before the node counts
    /// its own, as a busy node's thread pool delays it, so a test can have joins answered in between.
    /// </summary>
    internal Func<Task>? AfterHeartbeatScript { get; set; }

    /// <summary>Whether this node refuses new joins because it is shutting down.</summary>
    internal bool IsStopping => _stopping;

    /// <summary>
    /// Renews this node's heartbeat and says whether Redis still holds this node's memberships as they are here.
    /// </summary>
    internal async Task<HeartbeatStatus> HeartbeatAsync(CancellationToken cancellationToken = default)
    {
        var db = await DatabaseAsync(cancellationToken);
        long before;
        lock (_gate)
        {
            before = _membershipEpoch;
        }

        var result = await db.ScriptEvaluateAsync(
            RoomScripts.Heartbeat,
            [_keys.NodeHeartbeat(_nodeId), _keys.ClusterNodes, _keys.NodeConnections(_nodeId), _keys.NodeSwept(_nodeId)],
            [_nodeId, (long)_options.HeartbeatTtl.TotalMilliseconds]);
        if (AfterHeartbeatScript is { } hook)
        {
            await hook();
        }

        var parts = (RedisResult[])result!;
        var existed = (long)parts[0] == 1;
        var known = (long)parts[1];
        var swept = (long)parts[2] == 1;
        // Only the connections whose rooms did not change while the script ran: each of them must be in the set Redis
        // counted. One that joined meanwhile may be missing from it, and one that began to leave may be gone already.
        int steady;
        lock (_gate)
        {
            steady = _connections.Values.Count(c => c.Rooms.Count > 0 && c.ChangedAt <= before);
        }

        var registered = _registered;
        _registered = true;
        if (swept)
        {
            return HeartbeatStatus.Swept;
        }

        // Redis counting fewer than the steady connections alone means it lost some of them.
        return (registered && !existed) || known < steady ? HeartbeatStatus.Lost : HeartbeatStatus.Intact;
    }

    /// <summary>
    /// This node was taken for dead (it could not renew its heartbeat for a whole TTL) and its members were
    /// reported gone to their peers. Putting them back silently would leave the peers believing otherwise, so
    /// the node forgets them instead: their relays are refused until they join again. Whatever the sweep did
    /// not get to is removed (and reported) like any ghost.
    /// </summary>
    internal async Task<int> ForgetSweptMembershipsAsync(CancellationToken cancellationToken = default)
    {
        var forgotten = 0;
        lock (_gate)
        {
            foreach (var connection in _connections.Values.ToArray())
            {
                forgotten += connection.Rooms.Count;
                TakeAllRoomsLocked(connection);
            }
        }

        await RemoveGhostsAsync(cancellationToken);
        return forgotten;
    }

    /// <summary>
    /// After Redis lost data: puts back the membership of every live local connection, removes memberships
    /// Redis still holds for connections of this node that are gone (telling their peers), then reloads the
    /// local copies of the rooms.
    /// </summary>
    internal async Task<int> RestoreAsync(CancellationToken cancellationToken = default)
    {
        List<(string ConnectionId, string Room)> memberships;
        lock (_gate)
        {
            memberships = [.. _connections.Values.SelectMany(c => c.Rooms.Select(r => (c.Id, r)))];
        }

        var restored = 0;
        foreach (var batch in memberships.Chunk(RedisBatchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var results = await Task.WhenAll(batch.Select(m => RestoreOneAsync(m.ConnectionId, m.Room)));
            restored += results.Count(r => r);
        }

        await RemoveGhostsAsync(cancellationToken);
        await ResyncAsync(cancellationToken);
        return restored;
    }

    /// <summary>
    /// Re-reads every local copy of a room and sends each local member the difference between what it was told and
    /// the room as it is (<c>joined</c>/<c>exit</c> at the room's current seq); changes that arrive meanwhile are held
    /// back and applied after. Logs once when views had to be corrected.
    /// </summary>
    internal async Task ResyncAsync(CancellationToken cancellationToken = default)
    {
        List<(CachedRoom Room, int Generation, long Floor)> rooms;
        lock (_gate)
        {
            rooms = new List<(CachedRoom, int, long)>(_rooms.Count);
            foreach (var cached in _rooms.Values)
            {
                MarkStaleLocked(cached);
                cached.DeferredLoads.Clear();
                rooms.Add((cached, cached.Generation, cached.Seq));
            }
        }

        var total = new RecoveryTally();
        var corrected = 0;
        var stale = false;
        foreach (var batch in rooms.Chunk(RedisBatchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var snapshots = await Task.WhenAll(batch.Select(r => RunSnapshotAsync(r.Room.Room, r.Floor)));
            lock (_gate)
            {
                for (var i = 0; i < batch.Length; i++)
                {
                    if (ApplySnapshotLocked(batch[i].Room, batch[i].Generation, snapshots[i].Sequence, snapshots[i].Members) is not { } tally)
                    {
                        continue;
                    }

                    if (tally.Joined + tally.Exits > 0)
                    {
                        corrected++;
                        total.Joined += tally.Joined;
                        total.Exits += tally.Exits;
                    }

                    stale |= tally.StillStale;
                }
            }
        }

        ReportRecovery(total, corrected);
        if (stale)
        {
            ResyncNeeded?.Invoke(false);
        }
    }

    /// <summary>
    /// Removes the memberships of every node whose heartbeat has expired and tells the peers that remain.
    /// Runs only while this node holds the sweep lock; returns the number of memberships removed.
    /// Safe to run on several nodes at once: each removal is atomic and reported by one node only.
    /// </summary>
    internal async Task<int> SweepAsync(CancellationToken cancellationToken = default)
    {
        var db = await DatabaseAsync(cancellationToken);
        var lockTtl = _options.HeartbeatTtl;
        if (!await db.StringSetAsync(_keys.SweepLock, _nodeId, lockTtl, When.NotExists))
        {
            return 0;
        }

        var removed = 0;
        try
        {
            var nodes = await db.SetMembersAsync(_keys.ClusterNodes);
            foreach (var value in nodes)
            {
                var node = (string)value!;
                if (string.Equals(node, _nodeId, StringComparison.Ordinal) || await db.KeyExistsAsync(_keys.NodeHeartbeat(node)))
                {
                    continue;
                }

                cancellationToken.ThrowIfCancellationRequested();
                removed += await EvictNodeAsync(db, node);
            }
        }
        finally
        {
            await db.ScriptEvaluateAsync(RoomScripts.ReleaseLock, [_keys.SweepLock], [_nodeId]);
        }

        _metrics?.SweepRan(removed);
        return removed;
    }

    /// <summary>
    /// Graceful stop: refuses new joins and removes every membership of this node's connections, so their peers
    /// hear of it at once (each node tells its own members, from the stream) instead of after the heartbeat expires.
    /// </summary>
    internal async Task<int> DrainAsync(CancellationToken cancellationToken = default)
    {
        _stopping = true;
        List<(string ConnectionId, string[] Rooms)> leaving;
        lock (_gate)
        {
            leaving = [.. _connections.Values.ToArray().Select(c => (c.Id, TakeAllRoomsLocked(c)))];
        }

        var count = 0;
        foreach (var batch in leaving.Chunk(RedisBatchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var departures = await Task.WhenAll(batch.Select(c => LeaveRoomsAsync(c.ConnectionId, c.Rooms)));
            count += departures.Sum(d => d.Count); // each room hears of it through the stream
        }

        return count;
    }

    /// <summary>Removes this node from the cluster registry (graceful stop, after <see cref="DrainAsync"/>).</summary>
    internal async Task DeregisterAsync(CancellationToken cancellationToken = default)
    {
        var db = await DatabaseAsync(cancellationToken);
        await db.ScriptEvaluateAsync(RoomScripts.Deregister, [_keys.NodeHeartbeat(_nodeId), _keys.ClusterNodes], [_nodeId]);
    }

    private async Task<bool> RestoreOneAsync(string connectionId, string room)
    {
        long floor;
        lock (_gate)
        {
            if (!_connections.TryGetValue(connectionId, out var connection) || !connection.Rooms.Contains(room))
            {
                // It has left since the memberships were listed: putting it back would make a ghost (and, were it
                // joining the room again, a second created for that join).
                return false;
            }

            // Numbered above what our members of the room have seen, so their later events are not taken for stale.
            floor = _rooms.TryGetValue(room, out var cached) ? cached.Seq : 0;
        }

        var outcome = await RunJoinAsync(room, connectionId, capacity: -1, floor);
        if (outcome.Status != RoomJoinStatus.Joined)
        {
            return false;
        }

        bool stillMember;
        lock (_gate)
        {
            stillMember = _connections.TryGetValue(connectionId, out var connection) && connection.Rooms.Contains(room);
        }

        if (!stillMember)
        {
            // It left while we were putting it back: take it out again.
            await RunLeaveAsync(room, connectionId, _nodeId, onlyIfDead: false);
            return false;
        }

        return true;
    }

    /// <summary>
    /// Removes (and reports) what Redis holds for this node's connections beyond what the node knows: connections
    /// that are gone, and rooms a live connection has left, whose removal failed while Redis was unreachable.
    /// </summary>
    private async Task RemoveGhostsAsync(CancellationToken cancellationToken)
    {
        var db = await DatabaseAsync(cancellationToken);
        var known = await db.SetMembersAsync(_keys.NodeConnections(_nodeId));
        foreach (var batch in known.Chunk(RedisBatchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.WhenAll(batch.Select(value => RemoveGhostsOfAsync(db, (string)value!)));
        }
    }

    private async Task RemoveGhostsOfAsync(IDatabase db, string connectionId)
    {
        var rooms = await db.SetMembersAsync(_keys.ConnectionRooms(connectionId));
        if (rooms.Length == 0)
        {
            await db.SetRemoveAsync(_keys.NodeConnections(_nodeId), connectionId);
            return;
        }

        foreach (var roomValue in rooms)
        {
            var room = (string)roomValue!;
            lock (_gate)
            {
                if (_connections.TryGetValue(connectionId, out var connection)
                    && (connection.JoinsInFlight > 0 || connection.Rooms.Contains(room)))
                {
                    continue;
                }
            }

            var outcome = await RunLeaveAsync(room, connectionId, _nodeId, onlyIfDead: false);
            if (outcome.Removed == 1)
            {
                RedisRoomStoreLog.GhostRemoved(_logger, connectionId, room); // the room hears of it through the stream
            }
        }
    }

    private async Task<int> EvictNodeAsync(IDatabase db, string node)
    {
        var removed = 0;
        var connections = await db.SetMembersAsync(_keys.NodeConnections(node));
        foreach (var batch in connections.Chunk(RedisBatchSize))
        {
            var results = await Task.WhenAll(batch.Select(value => EvictConnectionAsync(db, node, (string)value!)));
            removed += results.Sum(r => Math.Max(r, 0));
            if (results.Any(r => r < 0))
            {
                RedisRoomStoreLog.NodeCameBack(_logger, node);
                return removed;
            }
        }

        if (removed > 0)
        {
            // Should the node only have been paused, it learns from this that its members were reported gone.
            await db.StringSetAsync(_keys.NodeSwept(node), "1", SweptMarkerLifetime);
        }

        var forgotten = await db.ScriptEvaluateAsync(
            RoomScripts.ForgetNode,
            [_keys.NodeHeartbeat(node), _keys.NodeConnections(node), _keys.ClusterNodes],
            [node]);
        RedisRoomStoreLog.NodeSwept(_logger, node, removed, (long)forgotten == 1);
        return removed;
    }

    /// <summary>Removes one dead connection from its rooms and tells the peers; -1 when its node turned out alive.</summary>
    private async Task<int> EvictConnectionAsync(IDatabase db, string node, string connectionId)
    {
        var rooms = await db.SetMembersAsync(_keys.ConnectionRooms(connectionId));
        if (rooms.Length == 0)
        {
            await db.SetRemoveAsync(_keys.NodeConnections(node), connectionId);
            return 0;
        }

        var removed = 0;
        foreach (var roomValue in rooms)
        {
            var room = (string)roomValue!;
            var outcome = await RunLeaveAsync(room, connectionId, node, onlyIfDead: true);
            if (outcome.Removed == -1)
            {
                return -1;
            }

            if (outcome.Removed == 1)
            {
                removed++; // every node tells its own members of the room, from the stream
            }
        }

        return removed;
    }
}

/// <summary>What a heartbeat found.</summary>
internal enum HeartbeatStatus
{
    /// <summary>Redis holds this node's memberships.</summary>
    Intact,

    /// <summary>Redis lost memberships of this node (restarted empty, flushed): put them back.</summary>
    Lost,

    /// <summary>Another node swept this one as dead and told the peers: forget the memberships.</summary>
    Swept,
}
