namespace RoomSignal.Redis;

/// <summary>Redis settings, bound from <c>RoomSignal:Redis</c>.</summary>
public sealed class RoomSignalRedisOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "RoomSignal:Redis";

    /// <summary>
    /// A StackExchange.Redis configuration string (<c>RoomSignal:Redis:Configuration</c>), for example
    /// <c>localhost:6379</c>. Unset means a single node with in-memory state.
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>
    /// Prefix of every Redis key and channel this deployment uses (<c>RoomSignal:Redis:Prefix</c>), so that two
    /// deployments can share one Redis. Default <c>roomsignal</c>.
    /// </summary>
    public string Prefix { get; set; } = "roomsignal";
}
