using System.Net.WebSockets;
using System.Text;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Support;

/// <summary>
/// A hub connection spoken by hand: a bare <see cref="ClientWebSocket"/> at <c>/hubs/room</c> that completes the
/// SignalR JSON handshake and then sends whatever frames a test writes, as a load tool or an attacker would.
/// </summary>
internal sealed class RawHubSocket : IAsyncDisposable
{
    public const char RecordSeparator = '\u001e';

    private readonly ClientWebSocket _socket;
    private readonly SemaphoreSlim _sendLock = new(1, 1);

    private RawHubSocket(ClientWebSocket socket) => _socket = socket;

    public WebSocketState State => _socket.State;

    /// <summary>Opens the socket and completes the handshake; throws <see cref="WebSocketException"/> when the server refuses.</summary>
    public static async Task<RawHubSocket> ConnectAsync(Uri hubUri, CancellationToken cancellationToken = default, string? origin = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        var raw = new RawHubSocket(socket);
        try
        {
            await socket.ConnectAsync(hubUri.AsWebSocketUri(), cancellationToken);
            await raw.SendAsync("""{"protocol":"json","version":1}""", cancellationToken);
            var handshake = await raw.ReceiveAsync(cancellationToken);
            if (handshake is null || handshake.Contains("\"error\"", StringComparison.Ordinal))
            {
                throw new InvalidOperationException("The handshake failed: " + handshake);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return raw;
    }

    /// <summary>The HTTP status of a refused connect (the socket keeps it for us).</summary>
    public static async Task<int> RefusalStatusAsync(Uri hubUri, string? origin = null)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        try
        {
            await socket.ConnectAsync(hubUri.AsWebSocketUri(), CancellationToken.None).Within("a WebSocket connect");
            return 101;
        }
        catch (WebSocketException)
        {
            return (int)socket.HttpStatusCode;
        }
    }

    /// <summary>Sends one hub message (the record separator is added).</summary>
    public async Task SendAsync(string json, CancellationToken cancellationToken = default)
    {
        var bytes = Encoding.UTF8.GetBytes(json + RecordSeparator);
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Sends a keep-alive ping so the server does not time the connection out.</summary>
    public Task PingAsync(CancellationToken cancellationToken = default) => SendAsync("""{"type":6}""", cancellationToken);

    /// <summary>Receives one WebSocket message (possibly several hub messages); null when the server closed.</summary>
    public async Task<string?> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await _socket.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return Encoding.UTF8.GetString(message.ToArray());
            }
        }
    }

    /// <summary>Drops the TCP connection without a WebSocket close, as a crashed client or a lost network would.</summary>
    public void Abort()
    {
        _socket.Abort();
        _socket.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Already closing.
        }

        _socket.Dispose();
        _sendLock.Dispose();
    }
}
