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
}
