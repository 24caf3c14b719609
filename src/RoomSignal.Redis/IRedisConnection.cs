using StackExchange.Redis;

namespace RoomSignal.Redis;

/// <summary>
/// The process-wide Redis connection shared by the SignalR backplane and the room store: one
/// <see cref="ConnectionMultiplexer"/> that reconnects by itself and resubscribes every channel after a reconnect.
/// </summary>
public interface IRedisConnection
{
    /// <summary>Returns the multiplexer, connecting on first use. It may be disconnected at any moment; check <see cref="IsConnected"/>.</summary>
    Task<IConnectionMultiplexer> GetMultiplexerAsync(CancellationToken cancellationToken = default);

    /// <summary>Whether Redis answers right now.</summary>
    bool IsConnected { get; }

    /// <summary>The key and channel names of this deployment.</summary>
    RedisKeyspace Keys { get; }
}
