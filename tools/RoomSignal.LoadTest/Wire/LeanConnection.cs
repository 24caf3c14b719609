using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;

namespace RoomSignal.LoadTest.Wire;

/// <summary>The server refused a connection: TCP refused/reset, or an HTTP status other than 101 on the upgrade.</summary>
internal sealed class ConnectRefusedException(string message) : Exception(message);

/// <summary>The outcome of an invocation that asked for a completion.</summary>
internal sealed record Completion(string? Error, string? Id, string? Room, IReadOnlyList<string> Peers, long Seq);

/// <summary>
/// A SignalR connection without the official client: a TCP socket (optionally bound to a source address),
/// a hand-written HTTP/1.1 WebSocket upgrade to <c>ws://HOST/hubs/room</c> (no negotiation), the hub
/// handshake, then records encoded by <see cref="HubCodec"/>. One receive loop per connection calls
/// <see cref="OnMessage"/> for server invocations and <see cref="OnCompletion"/> for completions nobody awaits.
/// </summary>
internal sealed class LeanConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly WebSocket _ws;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly ArrayBufferWriter<byte> _out = new(2048);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<Completion>> _pending = new();
    private readonly WebSocketMessageType _frameType;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[] _receive;
    private int _filled;
    private long _nextInvocation;

    private LeanConnection(Socket socket, WebSocket ws, HubProtocolKind kind, byte[] receive, int filled)
    {
        _socket = socket;
        _ws = ws;
        Kind = kind;
        _frameType = kind == HubProtocolKind.Json ? WebSocketMessageType.Text : WebSocketMessageType.Binary;
        _receive = receive;
        _filled = filled;
    }

    public HubProtocolKind Kind { get; }

    /// <summary>The driver's index of this peer (relay markers carry it).</summary>
    public int Index { get; set; }

    /// <summary>Which server URL (index into the URL list) this connection went to.</summary>
    public int Node { get; set; }

    /// <summary>The SignalR connection id, learned from the first <c>created</c> or join result.</summary>
    public string? ConnectionId { get; set; }

    /// <summary>Called on the receive loop for every server-to-client invocation; the message is reused afterwards.</summary>
    public Action<LeanConnection, HubMessage>? OnMessage { get; set; }

    /// <summary>Called for completions of invocations sent without waiting (relays): error or not.</summary>
    public Action<LeanConnection, HubMessage>? OnCompletion { get; set; }

    /// <summary>Completes when the receive loop ended (server closed, socket error, or <see cref="Abort"/>).</summary>
    public Task Closed => _closed.Task;

    /// <summary>The close reason: the server's close message error, or the exception that ended the loop.</summary>
    public string? CloseReason { get; private set; }

    /// <summary>Opens a connection, upgrades it, completes the hub handshake and starts the receive loop.</summary>
    public static async Task<LeanConnection> ConnectAsync(Uri hub, IPAddress? source, HubProtocolKind kind, int receiveBufferSize, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (source is not null)
            {
                // IP_BIND_ADDRESS_NO_PORT: pick the port at connect time, so each source address gives a full ephemeral range per server.
                socket.SetSocketOption(SocketOptionLevel.IP, (SocketOptionName)24, 1);
                socket.Bind(new IPEndPoint(source, 0));
            }

            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(hub.Host), hub.Port), cancellationToken);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset)
            {
                throw new ConnectRefusedException($"tcp: {ex.SocketErrorCode}");
            }

            var stream = new NetworkStream(socket, ownsSocket: true);
            var key = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
            var request = Encoding.ASCII.GetBytes(
                $"GET {hub.PathAndQuery} HTTP/1.1\r\nHost: {hub.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n");
            await stream.WriteAsync(request, cancellationToken);

            // The server sends nothing after the 101 until it has our hub handshake, so reading past the
            // header end cannot swallow WebSocket bytes.
            var header = new byte[1024];
            var got = 0;
            while (true)
            {
                if (got == header.Length)
                {
                    throw new ConnectRefusedException("http: response header too long");
                }

                int n;
                try
                {
                    n = await stream.ReadAsync(header.AsMemory(got), cancellationToken);
                }
                catch (IOException ex)
                {
                    throw new ConnectRefusedException($"http: {ex.InnerException?.Message ?? ex.Message}");
                }

                if (n == 0)
                {
                    throw new ConnectRefusedException("http: connection closed during the upgrade");
                }

                got += n;
                if (header.AsSpan(0, got).IndexOf("\r\n\r\n"u8) >= 0)
                {
                    break;
                }
            }

            var statusLine = Encoding.ASCII.GetString(header, 0, header.AsSpan(0, got).IndexOf("\r\n"u8));
            if (!statusLine.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
            {
                throw new ConnectRefusedException($"http: {statusLine}");
            }

            var ws = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
            await ws.SendAsync(HubCodec.Handshake(kind), WebSocketMessageType.Text, true, cancellationToken);

            // Handshake response: a JSON object ending in 0x1e, {} or {"error":"..."}.
            var receive = new byte[receiveBufferSize];
            var filled = 0;
            int end;
            while ((end = receive.AsSpan(0, filled).IndexOf(HubCodec.RecordSeparator)) < 0)
            {
                if (filled == receive.Length)
                {
                    Array.Resize(ref receive, receive.Length * 2);
                }

                var result = await ws.ReceiveAsync(receive.AsMemory(filled), cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    throw new ConnectRefusedException($"handshake: closed ({ws.CloseStatus} {ws.CloseStatusDescription})");
                }

                filled += result.Count;
            }

            var handshake = Encoding.UTF8.GetString(receive, 0, end);
            if (handshake.Contains("\"error\"", StringComparison.Ordinal))
            {
                throw new ConnectRefusedException($"handshake: {handshake}");
            }

            var rest = filled - end - 1;
            Buffer.BlockCopy(receive, end + 1, receive, 0, rest);
            var connection = new LeanConnection(socket, ws, kind, receive, rest);
            _ = connection.ReceiveLoopAsync();
            return connection;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Invokes a hub method and waits for its completion.</summary>
    public async Task<Completion> InvokeAsync(string target, Payload payload, TimeSpan timeout)
    {
        var id = Interlocked.Increment(ref _nextInvocation).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var tcs = new TaskCompletionSource<Completion>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        try
        {
            await SendInvocationAsync(id, target, payload);
            return await tcs.Task.WaitAsync(timeout);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Sends an invocation with an id without waiting; its completion goes to <see cref="OnCompletion"/>.</summary>
    public ValueTask SendAsync(string target, in Payload payload)
    {
        var id = Interlocked.Increment(ref _nextInvocation).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return SendInvocationAsync(id, target, payload);
    }

    private async ValueTask SendInvocationAsync(string id, string target, Payload payload)
    {
        await _sendLock.WaitAsync();
        try
        {
            _out.ResetWrittenCount();
            HubCodec.WriteInvocation(_out, Kind, id, target, payload);
            await _ws.SendAsync(_out.WrittenMemory, _frameType, true, CancellationToken.None);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Sends a hub ping (keeps the server's client timeout from closing an idle connection).</summary>
    public async ValueTask PingAsync()
    {
        if (_closed.Task.IsCompleted || !await _sendLock.WaitAsync(0))
        {
            return; // a send in progress keeps the connection alive just as well
        }

        try
        {
            await _ws.SendAsync(HubCodec.Ping(Kind).ToArray(), _frameType, true, CancellationToken.None);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The receive loop reports the close.
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>A clean close: WebSocket close frame, then wait briefly for the server's.</summary>
    public async Task CloseAsync(TimeSpan timeout)
    {
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            await _sendLock.WaitAsync(cts.Token);
            try
            {
                await _ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
            }
            finally
            {
                _sendLock.Release();
            }

            await _closed.Task.WaitAsync(cts.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException or TimeoutException)
        {
        }
        finally
        {
            Abort();
        }
    }

    /// <summary>Drops the connection without a close handshake (a crash or a lost network, as the server sees it).</summary>
    public void Abort()
    {
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (ObjectDisposedException)
        {
        }
        catch (SocketException)
        {
        }

        _ws.Abort();
        _socket.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Abort();
        _sendLock.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task ReceiveLoopAsync()
    {
        var message = new HubMessage();
        try
        {
            Dispatch(message); // records that arrived with the handshake response
            while (true)
            {
                if (_filled == _receive.Length)
                {
                    Array.Resize(ref _receive, _receive.Length * 2);
                }

                var result = await _ws.ReceiveAsync(_receive.AsMemory(_filled), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    CloseReason ??= $"closed by server ({_ws.CloseStatus})";
                    break;
                }

                _filled += result.Count;
                Dispatch(message);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
            CloseReason ??= ex.Message;
        }
        catch (Exception ex)
        {
            CloseReason ??= $"receive loop failed: {ex}";
            Console.Error.WriteLine($"connection {Index}: {CloseReason}");
        }
        finally
        {
            foreach (var pending in _pending.Values)
            {
                pending.TrySetException(new IOException($"connection closed: {CloseReason}"));
            }

            _closed.TrySetResult();
        }
    }

    private void Dispatch(HubMessage message)
    {
        var span = (ReadOnlySpan<byte>)_receive.AsSpan(0, _filled);
        while (HubCodec.TryTakeRecord(Kind, ref span, out var record))
        {
            HubCodec.Parse(Kind, record, message, keepText: false);
            switch (message.Type)
            {
                case 1:
                    OnMessage?.Invoke(this, message);
                    break;
                case 3:
                    if (message.InvocationId is { } id && _pending.TryRemove(id, out var tcs))
                    {
                        tcs.TrySetResult(new Completion(message.Error, message.Id, message.Room, [.. message.Peers], message.Seq));
                    }
                    else
                    {
                        OnCompletion?.Invoke(this, message);
                    }

                    break;
                case 7:
                    CloseReason = $"server closed: {message.Error ?? "no error"}";
                    break;
            }
        }

        var rest = span.Length;
        if (rest > 0 && rest != _filled)
        {
            span.CopyTo(_receive);
        }

        _filled = rest;
    }

    /// <summary>Timestamp helper: microseconds between two <see cref="Stopwatch"/> timestamps.</summary>
    public static double Micros(long from, long to) => (to - from) * 1_000_000.0 / Stopwatch.Frequency;
}
