namespace RoomSignal.Server.Rooms.Redis;

/// <summary>
/// The Lua scripts that change membership. Each runs atomically in Redis, so joins and leaves from any
/// number of nodes are ordered one after the other. Every change increments the room sequence and is
/// published on the changes channel as <c>"{seq} {j|l} {room} {connectionId}"</c> in the same script, so
/// the order on the channel is the order of the changes and a node sees a gap when it missed one.
/// </summary>
internal static class RoomScripts
{
    /// <summary>
    /// Join. KEYS: room members, connection rooms, node connections, sequence, nodes, node heartbeat.
    /// ARGV: connection, node, capacity (negative: none), room, channel, heartbeat TTL in ms.
    /// Returns <c>{status, seq, members}</c>: status 0 joined (members before the join), 1 already a member
    /// (current members, self included), 2 full.
    /// </summary>
    public const string Join = """
        local members = redis.call('HKEYS', KEYS[1])
        if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
          return {1, tonumber(redis.call('GET', KEYS[4]) or '0'), members}
        end
        local capacity = tonumber(ARGV[3])
        if capacity >= 0 and #members >= capacity then
          return {2, 0, {}}
        end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        redis.call('SADD', KEYS[2], ARGV[4])
        redis.call('SADD', KEYS[3], ARGV[1])
        redis.call('SADD', KEYS[5], ARGV[2])
        redis.call('SET', KEYS[6], '1', 'PX', ARGV[6], 'NX')
        local seq = redis.call('INCR', KEYS[4])
        redis.call('PUBLISH', ARGV[5], seq .. ' j ' .. ARGV[4] .. ' ' .. ARGV[1])
        return {0, seq, members}
        """;

    /// <summary>
    /// Leave. KEYS: room members, connection rooms, node connections (of the member's node), sequence,
    /// heartbeat of the member's node. ARGV: connection, room, channel, "1" to act only while that heartbeat
    /// is missing (the sweep), else "0".
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
          seq = redis.call('INCR', KEYS[4])
          redis.call('PUBLISH', ARGV[3], seq .. ' l ' .. ARGV[2] .. ' ' .. ARGV[1])
        end
        return {removed, seq, redis.call('HGETALL', KEYS[1])}
        """;

    /// <summary>Snapshot of a room. KEYS: room members, sequence. Returns <c>{seq, members}</c>.</summary>
    public const string Snapshot = """
        return {tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('HKEYS', KEYS[1])}
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
