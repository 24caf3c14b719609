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
    private TaskCompletionSource _open = CompletedGate();

    /// <summary>How many sockets were opened so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public async ValueTask<ConnectionContext> ConnectAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        await Volatile.Read(ref _open).Task.WaitAsync(cancellationToken);
        var connection = await _inner.ConnectAsync(endpoint, cancellationToken);
        Volatile.Write(ref _current, connection);
        Interlocked.Increment(ref _connections);
        return connection;
    }

    /// <summary>Holds every new connection attempt until <see cref="Restore"/>, as a network that is down would.</summary>
    public void Hold() => Volatile.Write(ref _open, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Lets held and future connection attempts through.</summary>
    public void Restore() => Volatile.Read(ref _open).TrySetResult();

    /// <summary>Aborts the current socket.</summary>
    public void Drop()
        => (Volatile.Read(ref _current) ?? throw new InvalidOperationException("Nothing connected yet."))
            .Abort(new ConnectionAbortedException("Dropped by the test."));

    private static TaskCompletionSource CompletedGate()
    {
        var gate = new TaskCompletionSource();
        gate.SetResult();
        return gate;
    }
}
