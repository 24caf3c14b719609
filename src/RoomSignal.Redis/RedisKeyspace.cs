namespace RoomSignal.Redis;

/// <summary>
/// The one place that names Redis keys and pub/sub channels. Every name starts with the configured
/// <see cref="RoomSignalRedisOptions.Prefix"/> followed by a colon.
/// </summary>
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

    /// <summary>Backplane channel every node of <paramref name="hub"/> subscribes to: broadcasts to all connections.</summary>
    /// <param name="hub">The hub's name (its full type name).</param>
    public string BackplaneAll(string hub) => Name("bp", hub, "all");

    /// <summary>
    /// Backplane channel of one node: messages for connections it owns, group commands for them, and
    /// acknowledgements of its own group commands.
    /// </summary>
    /// <param name="hub">The hub's name (its full type name).</param>
    /// <param name="nodeId">The node's backplane id.</param>
    public string BackplaneNode(string hub, string nodeId) => Name("bp", hub, "node", nodeId);

    /// <summary>Backplane channel of a group, subscribed by the nodes that hold at least one member.</summary>
    /// <param name="hub">The hub's name (its full type name).</param>
    /// <param name="group">The group name.</param>
    public string BackplaneGroup(string hub, string group) => Name("bp", hub, "group", group);

    /// <summary>Backplane channel of a user id, subscribed by the nodes that hold at least one of the user's connections.</summary>
    /// <param name="hub">The hub's name (its full type name).</param>
    /// <param name="userId">The user identifier.</param>
    public string BackplaneUser(string hub, string userId) => Name("bp", hub, "user", userId);

    /// <summary>Hash key mapping each connection id of <paramref name="hub"/> to the backplane id of the node that owns it.</summary>
    /// <param name="hub">The hub's name (its full type name).</param>
    public string BackplaneOwners(string hub) => Name("bp", hub, "owners");

    /// <summary>Builds <c>{prefix}:{part1}:{part2}...</c>.</summary>
    internal string Name(params ReadOnlySpan<string> parts) => Prefix + ":" + string.Join(':', parts);

    #region Rooms and cluster membership (room store)

    /// <summary>Hash of a room's members: connection id to the id of the node it is connected to.</summary>
    public string RoomMembers(string room) => Name("room", room);

    /// <summary>Set of the rooms a connection is in.</summary>
    public string ConnectionRooms(string connectionId) => Name("rooms-of", connectionId);

    /// <summary>Counter stamped on every membership change, so a node can order changes against snapshots and see gaps.</summary>
    public string RoomSequence => Name("room-seq");

    /// <summary>Channel on which every membership change of every room is published.</summary>
    public string RoomChanges => Name("room-changes");

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
}
