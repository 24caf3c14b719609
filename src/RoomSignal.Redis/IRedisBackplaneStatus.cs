namespace RoomSignal.Redis;

/// <summary>
/// Whether the Redis backplane can deliver messages from other nodes to this node's connections right now.
/// <see cref="RedisHubLifetimeManager{THub}"/> implements it.
/// </summary>
/// <remarks>
/// A node that started, or reconnected, while Redis was unreachable is not reachable until Redis has confirmed its
/// subscriptions (a probe on its own channel came back) and it has registered its connections in the owner hash.
/// Until then another node's send to one of its connections would be dropped, so an application should not tell
/// other nodes about a connection (for example by admitting it to a room) before <see cref="IsReachable"/> is true.
/// </remarks>
public interface IRedisBackplaneStatus
{
    /// <summary>Redis has confirmed this node's subscriptions and every local connection is registered.</summary>
    bool IsReady { get; }

    /// <summary>
    /// Whether a send from another node to <paramref name="connectionId"/>, a connection of this node, is delivered:
    /// the node's subscriptions are confirmed and this connection is registered.
    /// </summary>
    /// <param name="connectionId">A connection of this node.</param>
    bool IsReachable(string connectionId);
}
