namespace RoomSignal.Server.Rooms.Redis;

/// <summary>
/// The Lua scripts that change membership. Each runs atomically in Redis, so joins and leaves from any
/// number of nodes are ordered one after the other. Every change increments two counters in the same script:
/// the room's own sequence (its <c>seq</c>, 1, 2, 3, ... per room; when the last member leaves, the key expires after
/// <see cref="EmptyRoomSeqRetention"/> unless someone joins again, so a room created again soon goes on counting, which
/// keeps the changes of one room name unambiguous on the stream) and the cluster-wide stream sequence; and it is published on
/// the changes channel as <c>"{stream} {seq} {j|l} {room} {connectionId} {nodeId}"</c>. The order on the channel is
/// the order of the changes, so a node sees a gap (a lost message) or a restart from below (Redis lost its data)
/// in the stream sequence, and each room's events are numbered without gaps.
/// </summary>
internal static class RoomScripts
{
    /// <summary>How long an emptied room's <c>seq</c> counter is kept before it expires (then the room starts at 1 again).</summary>
    public static readonly TimeSpan EmptyRoomSeqRetention = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Join. KEYS: room members, connection rooms, node connections, stream sequence, nodes, node heartbeat, room sequence.
    /// ARGV: connection, node, capacity (negative: none), room, channel, heartbeat TTL in ms, room sequence floor
    /// (the join gets a seq above it: after Redis lost data, nodes put memberships back above the numbers their members saw).
    /// Returns <c>{status, seq, members}</c>: status 0 joined (members before the join), 1 already a member
    /// (current members, self included), 2 full; members is a flat list of connection, node pairs.
    /// </summary>
    public const string Join = """
        local members = redis.call('HGETALL', KEYS[1])
        if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
          return {1, tonumber(redis.call('GET', KEYS[7]) or '0'), members}
        end
        local capacity = tonumber(ARGV[3])
        if capacity >= 0 and #members / 2 >= capacity then
          return {2, 0, {}}
        end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        redis.call('SADD', KEYS[2], ARGV[4])
        redis.call('SADD', KEYS[3], ARGV[1])
        redis.call('SADD', KEYS[5], ARGV[2])
        redis.call('SET', KEYS[6], '1', 'PX', ARGV[6], 'NX')
        local seq = redis.call('INCR', KEYS[7])
        redis.call('PERSIST', KEYS[7])
        local floor = tonumber(ARGV[7])
        if seq <= floor then
          seq = floor + 1
          redis.call('SET', KEYS[7], seq)
        end
        local stream = redis.call('INCR', KEYS[4])
        redis.call('PUBLISH', ARGV[5], stream .. ' ' .. seq .. ' j ' .. ARGV[4] .. ' ' .. ARGV[1] .. ' ' .. ARGV[2])
        return {0, seq, members}
        """;

    /// <summary>
    /// Leave. KEYS: room members, connection rooms, node connections (of the member's node), stream sequence,
    /// heartbeat of the member's node, room sequence. ARGV: connection, room, channel, "1" to act only while that
    /// heartbeat is missing (the sweep), else "0"; the member's node; how long in ms an emptied room keeps its sequence.
    /// Returns <c>{removed, seq, remaining}</c>: removed 1 when it was a member, 0 when not, -1 when the
    /// node turned out alive; remaining is a flat list of connection, node pairs.
    /// </summary>
    public const string Leave = """
        if ARGV[4] == '1' and redis.call('EXISTS', KEYS[5]) == 1 then
          return {-1, 0, {}}
        end
        local removed = redis.call('HDEL', KEYS[1], ARGV[1])
        redis.call('SREM', KEYS[2], ARGV[2])
        if redis.call('EXISTS', KEYS[2]) == 0 then
          redis.call('SREM', KEYS[3], ARGV[1])
        end
        local seq = 0
        if removed == 1 then
          seq = redis.call('INCR', KEYS[6])
          local stream = redis.call('INCR', KEYS[4])
          redis.call('PUBLISH', ARGV[3], stream .. ' ' .. seq .. ' l ' .. ARGV[2] .. ' ' .. ARGV[1] .. ' ' .. ARGV[5])
          if redis.call('EXISTS', KEYS[1]) == 0 then
            redis.call('PEXPIRE', KEYS[6], ARGV[6])
          end
        end
        return {removed, seq, redis.call('HGETALL', KEYS[1])}
        """;

    /// <summary>
    /// Snapshot of a room. KEYS: room members, room sequence. ARGV: the seq the reading node's members have seen.
    /// When the room's sequence is below it (Redis lost data) and the room has members, the sequence is raised
    /// above it, so that the differences the node sends carry a seq its members have not seen yet.
    /// Returns <c>{seq, members}</c>, members as flat connection, node pairs.
    /// </summary>
    public const string Snapshot = """
        local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
        local floor = tonumber(ARGV[1])
        if seq < floor and redis.call('EXISTS', KEYS[1]) == 1 then
          seq = floor + 1
          redis.call('SET', KEYS[2], seq)
        end
        return {seq, redis.call('HGETALL', KEYS[1])}
        """;

    /// <summary>
    /// Heartbeat. KEYS: node heartbeat, nodes, node connections, node swept marker. ARGV: node, TTL in ms.
    /// Returns <c>{existed, connections, swept}</c>: whether the heartbeat was still there, how many of this
    /// node's connections Redis knows (so the node can tell when Redis lost its data), and whether another
    /// node swept this one as dead (the marker is consumed).
    /// </summary>
    public const string Heartbeat = """
        local existed = redis.call('EXISTS', KEYS[1])
        redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
        redis.call('SADD', KEYS[2], ARGV[1])
        local swept = redis.call('DEL', KEYS[4])
        return {existed, redis.call('SCARD', KEYS[3]), swept}
        """;

    /// <summary>Forgets a node once it is dead and has no members left. KEYS: heartbeat, node connections, nodes. ARGV: node.</summary>
    public const string ForgetNode = """
        if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[2]) == 0 then
          return redis.call('SREM', KEYS[3], ARGV[1])
        end
        return 0
        """;

    /// <summary>Deregisters this node on a graceful stop. KEYS: heartbeat, nodes. ARGV: node.</summary>
    public const string Deregister = """
        redis.call('DEL', KEYS[1])
        return redis.call('SREM', KEYS[2], ARGV[1])
        """;

    /// <summary>Releases a lock only if this node still holds it. KEYS: lock. ARGV: owner.</summary>
    public const string ReleaseLock = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """;
}
