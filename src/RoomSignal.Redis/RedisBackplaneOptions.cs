using System.ComponentModel.DataAnnotations;

namespace RoomSignal.Redis;

/// <summary>Settings of the Redis SignalR backplane, bound from <c>RoomSignal:Redis:Backplane</c>.</summary>
public sealed class RedisBackplaneOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "RoomSignal:Redis:Backplane";

    /// <summary>
    /// This node's id on the backplane (<c>RoomSignal:Redis:Backplane:NodeId</c>). Unset means a fresh id per process,
    /// which is what a node wants: ids must be unique among the nodes sharing one Redis and prefix.
    /// </summary>
    [RegularExpression("^[A-Za-z0-9_.:-]{1,100}$", ErrorMessage = "RoomSignal:Redis:Backplane:NodeId must be 1-100 characters of A-Z a-z 0-9 _ . : -")]
    public string? NodeId { get; set; }

    /// <summary>
    /// How long adding or removing a connection that lives on another node to or from a group waits for that node's
    /// acknowledgement before it throws a <see cref="TimeoutException"/>. Default 5 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:05:00", ErrorMessage = "RoomSignal:Redis:Backplane:AckTimeout must be between 50 ms and 5 minutes")]
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The longest any single Redis call of the backplane may take (a publish, an owner lookup); past it the call
    /// counts as failed, so a half-open connection cannot hang a send. Default 3 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:05:00", ErrorMessage = "RoomSignal:Redis:Backplane:OperationTimeout must be between 50 ms and 5 minutes")]
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How many connection-to-node entries each node caches so that a directed send needs no lookup in Redis
    /// (<c>RoomSignal:Redis:Backplane:OwnerCacheSize</c>). Default 200,000.
    /// </summary>
    [Range(1_000, 100_000_000, ErrorMessage = "RoomSignal:Redis:Backplane:OwnerCacheSize must be between 1000 and 100000000")]
    public int OwnerCacheSize { get; set; } = 200_000;
}
