namespace RoomSignal.Redis;

/// <summary>
/// Whether the SignalR Redis backplane of this node can deliver messages from other nodes to this node's
/// connections right now. Registered by <c>AddRoomSignalRedis&lt;THub&gt;()</c> for that hub.
/// </summary>
/// <remarks>
/// After a start or a Redis reconnect the node is not ready until Redis has confirmed the backplane's
/// subscriptions and a probe, published through the backplane to a channel this node listens on, came back.
/// Until then a send from another node to one of its connections could be lost, so an application should not
/// tell other nodes about a connection (for example by admitting it to a room) before <see cref="IsReady"/> is true.
/// </remarks>
public interface IRedisBackplaneStatus
{
    /// <summary>Redis answers, the backplane's subscriptions are confirmed and a probe has come back since the last reconnect.</summary>
    bool IsReady { get; }

    /// <summary>
    /// Returns <see cref="IsReady"/>, first probing the backplane when it is not ready yet but Redis answers
    /// (this also starts the backplane when no connection or send has done so yet).
    /// </summary>
    Task<bool> CheckAsync(CancellationToken cancellationToken = default);
}
