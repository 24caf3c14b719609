namespace RoomSignal.Redis;

/// <summary>Which threads run the shared StackExchange.Redis connection's socket reads and writes.</summary>
public enum RedisSocketManager
{
    /// <summary>
    /// The .NET thread pool, where the hub's own work already runs (StackExchange.Redis's <c>SocketManager.ThreadPool</c>).
    /// A message relayed to another node then needs no wake-up of a separate thread to be published or read: at
    /// 5,000 cross-node messages/s on two nodes this cost 22% less server CPU per message than <see cref="Dedicated"/>
    /// and cut the p99 latency (docs/benchmarks.md).
    /// </summary>
    ThreadPool,

    /// <summary>
    /// StackExchange.Redis's own dedicated worker threads (its default, <c>SocketManager.Shared</c>): Redis I/O goes on
    /// even when the thread pool is starved, at the price of a thread hop for every message.
    /// </summary>
    Dedicated,
}
