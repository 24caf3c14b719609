namespace RoomSignal.Redis;

/// <summary>Redis settings, bound from <c>RoomSignal:Redis</c>.</summary>
public sealed class RoomSignalRedisOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "RoomSignal:Redis";

    /// <summary>
    /// A StackExchange.Redis configuration string (<c>RoomSignal:Redis:Configuration</c>), for example
    /// <c>localhost:6379</c>. Unset means a single node with in-memory state. Whatever the string says,
    /// <c>abortConnect</c> is forced off (a node starts while Redis is down), commands fail fast while Redis is
    /// unreachable instead of queueing (<c>BacklogPolicy.FailFast</c>), and the timeouts below apply.
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>
    /// Prefix of every Redis key and pub/sub channel this deployment uses (<c>RoomSignal:Redis:Prefix</c>), so that
    /// two deployments can share one Redis. It is also the channel prefix of the SignalR backplane. Default <c>roomsignal</c>.
    /// </summary>
    public string Prefix { get; set; } = "roomsignal";

    /// <summary>
    /// How long one attempt to connect to Redis may take (<c>RoomSignal:Redis:ConnectTimeout</c>). Default 5 s;
    /// 100 ms to 1 min.
    /// </summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The longest any single Redis command may take before it counts as failed (<c>RoomSignal:Redis:OperationTimeout</c>;
    /// StackExchange.Redis's sync and async timeouts), so a half-open connection cannot hang a send or a join.
    /// Default 3 s; 50 ms to 1 min.
    /// </summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Which threads run the Redis connection's socket I/O (<c>RoomSignal:Redis:SocketManager</c>):
    /// <see cref="RedisSocketManager.ThreadPool"/> (default, the cheaper per cross-node message) or
    /// <see cref="RedisSocketManager.Dedicated"/> (StackExchange.Redis's own threads, for a host whose thread pool
    /// is starved by other code).
    /// </summary>
    public RedisSocketManager SocketManager { get; set; } = RedisSocketManager.ThreadPool;

    /// <summary>Returns the first broken rule, or <see langword="null"/> when the options are usable.</summary>
    internal string? Validate()
    {
        if (string.IsNullOrWhiteSpace(Configuration))
        {
            return $"{SectionName}:Configuration must be set to use Redis";
        }

        if (string.IsNullOrWhiteSpace(Prefix) || !Prefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
        {
            return $"{SectionName}:Prefix must be non-empty A-Z a-z 0-9 _ - .";
        }

        if (ConnectTimeout < TimeSpan.FromMilliseconds(100) || ConnectTimeout > TimeSpan.FromMinutes(1))
        {
            return $"{SectionName}:ConnectTimeout must be between 00:00:00.1 and 00:01:00";
        }

        if (OperationTimeout < TimeSpan.FromMilliseconds(50) || OperationTimeout > TimeSpan.FromMinutes(1))
        {
            return $"{SectionName}:OperationTimeout must be between 00:00:00.05 and 00:01:00";
        }

        if (!Enum.IsDefined(SocketManager))
        {
            return $"{SectionName}:SocketManager must be ThreadPool or Dedicated";
        }

        return null;
    }
}
