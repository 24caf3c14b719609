using System.Net;
using Microsoft.AspNetCore.Connections;
using RoomSignal.Client;

namespace RoomSignal.Server.Tests.Client;

/// <summary>
/// Our WebSocket connection factory, plus a way to cut the current socket as a network failure would
/// (the client sees its transport die with an error, the server sees the connection vanish).
/// </summary>
public sealed class DroppableConnectionFactory : IConnectionFactory
{
    private readonly WebSocketConnectionFactory _inner = new();
    private ConnectionContext? _current;
    private int _connections;

    /// <summary>How many sockets were opened so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public async ValueTask<ConnectionContext> ConnectAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var connection = await _inner.ConnectAsync(endpoint, cancellationToken);
        Volatile.Write(ref _current, connection);
        Interlocked.Increment(ref _connections);
        return connection;
    }

    /// <summary>Aborts the current socket.</summary>
    public void Drop()
        => (Volatile.Read(ref _current) ?? throw new InvalidOperationException("Nothing connected yet."))
            .Abort(new ConnectionAbortedException("Dropped by the test."));
}
