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

    /// <summary>Builds <c>{prefix}:{part1}:{part2}...</c>.</summary>
    internal string Name(params ReadOnlySpan<string> parts) => Prefix + ":" + string.Join(':', parts);
}
