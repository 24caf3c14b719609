using StackExchange.Redis;

namespace RoomSignal.Redis;

/// <summary>
/// The one place that names Redis keys and pub/sub channels. Every key and every channel on the server starts
/// with the configured <see cref="RoomSignalRedisOptions.Prefix"/> followed by a colon.
/// </summary>
/// <remarks>
/// The shared connection carries the prefix as StackExchange.Redis's channel prefix, so the channels of the
/// official SignalR backplane (which names them from the hub type) are kept apart per deployment too. A channel
/// given to <see cref="ISubscriber"/> is therefore named <em>without</em> the prefix (the <c>...Channel</c>
/// members), while a name that reaches Redis some other way, such as a <c>PUBLISH</c> inside a Lua script, must
/// carry it (<see cref="OnServer"/>).
/// </remarks>
public sealed class RedisKeyspace
{
    /// <summary>Creates the keyspace for a prefix.</summary>
    public RedisKeyspace(string prefix)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        Prefix = prefix;
    }

    /// <summary>The configured prefix (without the trailing colon).</summary>
    public string Prefix { get; }

    /// <summary>The channel prefix of the shared connection: <c>{prefix}:</c>.</summary>
    public string ChannelPrefix => Prefix + ":";

    /// <summary>The name a channel has on the Redis server (with the channel prefix), e.g. for <c>PUBLISH</c> in a script.</summary>
    public string OnServer(RedisChannel channel) => ChannelPrefix + channel;

    /// <summary>Builds the key <c>{prefix}:{part1}:{part2}...</c>.</summary>
    internal string Name(params ReadOnlySpan<string> parts) => Prefix + ":" + string.Join(':', parts);

    #region SignalR backplane (the official Microsoft.AspNetCore.SignalR.StackExchangeRedis names these; we only read them)

    /// <summary>The backplane's broadcast channel of a hub, subscribed by every node.</summary>
    /// <param name="hub">The hub's full type name.</param>
    public RedisChannel BackplaneAllChannel(string hub) => RedisChannel.Literal(hub + ":all");

    /// <summary>The backplane's group-command channel of a hub, subscribed by every node.</summary>
    /// <param name="hub">The hub's full type name.</param>
    public RedisChannel BackplaneGroupCommandsChannel(string hub) => RedisChannel.Literal(hub + ":internal:groups");

    /// <summary>The backplane's channel of one connection, subscribed by the node that holds it while it is connected.</summary>
    /// <param name="hub">The hub's full type name.</param>
    /// <param name="connectionId">The connection id.</param>
    public RedisChannel BackplaneConnectionChannel(string hub, string connectionId) => RedisChannel.Literal(hub + ":connection:" + connectionId);

    #endregion

    #region Readiness

    /// <summary>
    /// The pretend connection id a node probes its backplane with: the backplane publishes to its channel like
    /// to any connection on another node, and the node itself listens there.
    /// </summary>
    public string ProbeConnectionId(string nodeId) => "probe." + nodeId;

    #endregion

    #region Rooms and cluster membership (room store)

    /// <summary>Hash of a room's members: connection id to the id of the node it is connected to.</summary>
    public string RoomMembers(string room) => Name("room", room);

    /// <summary>The pattern matching every <see cref="RoomMembers"/> key (for <c>SCAN</c>; room names contain no <c>*?[</c>).</summary>
    public string RoomMembersPattern => Name("room", "*");

    /// <summary>The room a <see cref="RoomMembers"/> key names, or <see langword="null"/> when it is not one.</summary>
    public string? RoomOfMembersKey(string key)
    {
        var head = Name("room", string.Empty);
        return key.StartsWith(head, StringComparison.Ordinal) && key.Length > head.Length ? key[head.Length..] : null;
    }

    /// <summary>Set of the rooms a connection is in.</summary>
    public string ConnectionRooms(string connectionId) => Name("rooms-of", connectionId);

    /// <summary>Counter stamped on every membership change of every room (the change stream's order), so a node sees a lost message or a wipe.</summary>
    public string RoomSequence => Name("room-seq");

    /// <summary>A room's own change counter, its <c>seq</c>: incremented by each join and leave of the room; expires a while after the room empties.</summary>
    public string RoomSeq(string room) => Name("room-seq", room);

    /// <summary>Channel on which every membership change of every room is published (subscribe form, without the prefix).</summary>
    public RedisChannel RoomChangesChannel => RedisChannel.Literal("room-changes");

    /// <summary>Set of the ids of the nodes that have registered.</summary>
    public string ClusterNodes => Name("cluster", "nodes");

    /// <summary>A node's heartbeat key; it expires when the node stops renewing it.</summary>
    public string NodeHeartbeat(string nodeId) => Name("cluster", "alive", nodeId);

    /// <summary>Set of the connections of a node that are in at least one room.</summary>
    public string NodeConnections(string nodeId) => Name("cluster", "conns", nodeId);

    /// <summary>Left by the sweep for a node it found dead, so that the node, should it come back, knows its members were reported gone.</summary>
    public string NodeSwept(string nodeId) => Name("cluster", "swept", nodeId);

    /// <summary>The lock that lets one node at a time sweep dead nodes.</summary>
    public string SweepLock => Name("cluster", "sweep-lock");

    #endregion

    #region Peer directory (profiles of connected peers) and admin commands

    /// <summary>Hash of one connection's profile: user id, name, node, connect time, and one join time per room.</summary>
    public string Peer(string connectionId) => Name("peer", connectionId);

    /// <summary>Set of the connections of a node that have a profile, so their profiles can be removed when the node is gone.</summary>
    public string NodePeers(string nodeId) => Name("peers-of", nodeId);

    /// <summary>Key a node renews while it is alive; when it has expired the node's profiles are removed.</summary>
    public string NodePeersAlive(string nodeId) => Name("peers-alive", nodeId);

    /// <summary>Set of the nodes that have written profiles.</summary>
    public string PeerNodes => Name("peer-nodes");

    /// <summary>
    /// Channel on which a node receives admin commands (remove a member) for its own connections (subscribe form,
    /// without the prefix: <c>{prefix}:admin:node:{nodeId}</c> on the server).
    /// </summary>
    public RedisChannel AdminCommandsChannel(string nodeId) => RedisChannel.Literal("admin:node:" + nodeId);

    /// <summary>Channel on which a node receives the answers to the admin commands it sent (subscribe form: <c>{prefix}:admin:reply:{nodeId}</c>).</summary>
    public RedisChannel AdminRepliesChannel(string nodeId) => RedisChannel.Literal("admin:reply:" + nodeId);

    #endregion
}
