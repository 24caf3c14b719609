using System.IO.Pipelines;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Connections.Features;

namespace RoomSignal.Server.Transport;

/// <summary>
/// One hub connection carried straight on an accepted WebSocket: two pipes between the socket and SignalR's
/// <c>HubConnectionHandler</c> whose readers run on the writer's thread, so a message is read, dispatched and written
/// on the thread that received it (SignalR's own transport schedules each pipe reader on the thread pool). The receive loop
/// writes what arrives into the hub's input; the send loop writes the hub's output to the socket, one WebSocket
/// message per read, as SignalR's WebSockets transport does.
/// </summary>
internal sealed class DirectWebSocketConnection : DefaultConnectionContext,
    IConnectionHeartbeatFeature, ITransferFormatFeature, IHttpContextFeature, IHttpTransportFeature
{
    /// <summary>How long closing may wait for the client: to take our close frame, then to answer it.</summary>
    public static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    private readonly WebSocket _socket;
    private readonly Pipe _toHub;
    private readonly Pipe _fromHub;
    private readonly Lock _heartbeatLock = new();
    private (Action<object> Action, object State)[] _heartbeats = []; // copied on write: ticks read it without a lock

    public DirectWebSocketConnection(string id, WebSocket socket, HttpContext httpContext, long inputBufferSize, long outputBufferSize)
        : base(id)
    {
        _socket = socket;
        HttpContext = httpContext;
        // Readers on the writer's thread: the hub's dispatch runs inside the receive loop's flush, the send loop inside
        // the hub's flush, or right after another connection's dispatch when that caused it (SendAfterDispatchScheduler).
        _toHub = new Pipe(InlinePipe(inputBufferSize, PipeScheduler.Inline));
        _fromHub = new Pipe(InlinePipe(outputBufferSize, new SendAfterDispatchScheduler(this)));
        Transport = new DuplexPipe(_toHub.Reader, _fromHub.Writer);
        User = httpContext.User;
        RemoteEndPoint = httpContext.Connection.RemoteIpAddress is { } remote ? new System.Net.IPEndPoint(remote, httpContext.Connection.RemotePort) : null;
        LocalEndPoint = httpContext.Connection.LocalIpAddress is { } local ? new System.Net.IPEndPoint(local, httpContext.Connection.LocalPort) : null;
        Features.Set<IConnectionHeartbeatFeature>(this);
        Features.Set<ITransferFormatFeature>(this);
        Features.Set<IHttpContextFeature>(this);
        Features.Set<IHttpTransportFeature>(this);
    }

    /// <inheritdoc />
    public HttpContext? HttpContext { get; set; }

    /// <inheritdoc />
    public HttpTransportType TransportType => HttpTransportType.WebSockets;

    /// <inheritdoc />
    public TransferFormat SupportedFormats => TransferFormat.Text | TransferFormat.Binary;

    /// <inheritdoc />
    public TransferFormat ActiveFormat { get; set; } = TransferFormat.Text;

    /// <inheritdoc />
    public void OnHeartbeat(Action<object> action, object state)
    {
        lock (_heartbeatLock)
        {
            _heartbeats = [.. _heartbeats, (action, state)];
        }
    }

    /// <summary>Runs the heartbeat callbacks (SignalR's keep-alive ping and client timeout); called once a second.</summary>
    public void TickHeartbeat()
    {
        foreach (var (action, state) in Volatile.Read(ref _heartbeats))
        {
            action(state);
        }
    }

    /// <summary>Closes the socket at once; the receive loop ends, so the hub sees the connection end.</summary>
    public override void Abort(ConnectionAbortedException abortReason)
    {
        _socket.Abort();
        base.Abort(abortReason);
    }

    /// <summary>Reads WebSocket messages into the hub's input until the client closes or the socket fails.</summary>
    public async Task ReceiveAsync()
    {
        Exception? error = null;
        var writer = _toHub.Writer;
        try
        {
            while (true)
            {
                // A zero-byte read first, so an idle connection holds no receive buffer.
                var ready = await _socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
                if (ready.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                var received = await _socket.ReceiveAsync(writer.GetMemory(), CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                writer.Advance(received.Count);
                ValueTask<FlushResult> flush;
                using (SendAfterDispatchScheduler.Defer(this))
                {
                    flush = writer.FlushAsync(); // dispatches inline; its relays to other connections are sent when the scope ends
                }

                var flushed = await flush;
                if (flushed.IsCompleted)
                {
                    return; // the hub stopped reading
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException or ConnectionAbortedException)
        {
            error = ex; // the client went away or the connection was aborted: the hub sees the end of its input
        }
        finally
        {
            await writer.CompleteAsync(error is null ? null : new ConnectionAbortedException(error.Message, error));
        }
    }

    /// <summary>Writes the hub's output to the socket until the hub is done, then closes the WebSocket.</summary>
    public async Task SendAsync()
    {
        var reader = _fromHub.Reader;
        var failed = false;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                try
                {
                    if (result.IsCanceled)
                    {
                        break;
                    }

                    // One WebSocket message per read, one frame per segment (a single send in the common case).
                    var type = ActiveFormat == TransferFormat.Binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text;
                    var rest = buffer;
                    while (!rest.IsEmpty)
                    {
                        var segment = rest.First;
                        rest = rest.Slice(segment.Length);
                        await _socket.SendAsync(segment, type, rest.IsEmpty ? WebSocketMessageFlags.EndOfMessage : WebSocketMessageFlags.None, CancellationToken.None);
                    }
                }
                finally
                {
                    reader.AdvanceTo(buffer.End);
                }

                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            failed = true;
        }
        finally
        {
            await reader.CompleteAsync();
        }

        if (!failed && _socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            try
            {
                using var timeout = new CancellationTokenSource(CloseTimeout);
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
            {
                // the client is gone already
            }
        }
    }

    /// <summary>The hub is done with this connection: ends its output (the send loop closes the socket) and its input.</summary>
    public async Task CompleteHubAsync()
    {
        await _fromHub.Writer.CompleteAsync();
        await _toHub.Reader.CompleteAsync();
    }

    private static PipeOptions InlinePipe(long bufferSize, PipeScheduler readerScheduler) => new(
        pauseWriterThreshold: bufferSize,
        resumeWriterThreshold: bufferSize / 2,
        readerScheduler: readerScheduler,
        writerScheduler: PipeScheduler.Inline,
        useSynchronizationContext: false);

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
