using System.Collections.Concurrent;

namespace RoomSignal.Server.Transport;

/// <summary>
/// The direct WebSocket connections of this node: ticks their heartbeats once a second (SignalR's keep-alive pings
/// and client timeout hang off it) and aborts them as the node starts stopping, as SignalR's connection manager does
/// with its own, so each hub sees its connection end and leaves its rooms while Kestrel waits for the requests.
/// </summary>
internal sealed class DirectConnections : IDisposable
{
    private readonly ConcurrentDictionary<DirectWebSocketConnection, byte> _connections = new();
    private readonly ILogger<DirectConnections> _logger;
    private readonly ITimer _timer;
    private readonly CancellationTokenRegistration _stopping;

    public DirectConnections(TimeProvider time, IHostApplicationLifetime lifetime, ILogger<DirectConnections> logger)
    {
        _logger = logger;
        _timer = time.CreateTimer(static state => ((DirectConnections)state!).Tick(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        _stopping = lifetime.ApplicationStopping.Register(static state => ((DirectConnections)state!).AbortAll(), this);
    }

    /// <summary>How many direct connections are open.</summary>
    public int Count => _connections.Count;

    public void Add(DirectWebSocketConnection connection) => _connections.TryAdd(connection, 0);

    public void Remove(DirectWebSocketConnection connection) => _connections.TryRemove(connection, out _);

    public void Dispose()
    {
        _stopping.Dispose();
        _timer.Dispose();
    }

    private void AbortAll()
    {
        foreach (var connection in _connections.Keys)
        {
            connection.Abort();
        }
    }

    private void Tick()
    {
        foreach (var connection in _connections.Keys)
        {
            try
            {
                connection.TickHeartbeat();
            }
            catch (Exception ex)
            {
                TransportLog.HeartbeatFailed(_logger, connection.ConnectionId, ex); // a timer callback never throws
            }
        }
    }
}
