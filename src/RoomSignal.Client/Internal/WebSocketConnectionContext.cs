using System.IO.Pipelines;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace RoomSignal.Client.Internal;

/// <summary>
/// Adapts a connected <see cref="ClientWebSocket"/> to the pipe-based <see cref="ConnectionContext"/>
/// that <c>HubConnection</c> reads and writes: one loop copies socket frames into the input pipe,
/// another sends what the hub connection writes as text frames.
/// </summary>
internal sealed class WebSocketConnectionContext : ConnectionContext
{
    private const int ReceiveBufferSize = 16 * 1024;

    private readonly ClientWebSocket _socket;
    private readonly Pipe _input = new(new PipeOptions(useSynchronizationContext: false));
    private readonly Pipe _output = new(new PipeOptions(useSynchronizationContext: false));
    private readonly CancellationTokenSource _aborted = new();
    private Task _receiving = Task.CompletedTask;
    private Task _sending = Task.CompletedTask;
    private int _disposed;

    private WebSocketConnectionContext(ClientWebSocket socket)
    {
        _socket = socket;
        Transport = new Duplex(_input.Reader, _output.Writer);
        ConnectionClosed = _aborted.Token;
    }

    public override string ConnectionId { get; set; } = Guid.NewGuid().ToString("N");

    public override IFeatureCollection Features { get; } = new FeatureCollection();

    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

    public override IDuplexPipe Transport { get; set; }

    public static WebSocketConnectionContext Start(ClientWebSocket socket)
    {
        var context = new WebSocketConnectionContext(socket);
        context._receiving = context.ReceiveLoopAsync();
        context._sending = context.SendLoopAsync();
        return context;
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        _aborted.Cancel();
        _socket.Abort();
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Ending the output lets the send loop close the socket politely; the receive loop then sees the close.
        await _output.Writer.CompleteAsync().ConfigureAwait(false);
        var both = Task.WhenAll(_sending, _receiving);
        if (await Task.WhenAny(both, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false) != both)
        {
            _socket.Abort();
        }

        try
        {
            await both.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The loops report their own failures through the pipes; nothing more to do while disposing.
        }

        _aborted.Cancel();
        _socket.Dispose();
        _aborted.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                var memory = _input.Writer.GetMemory(ReceiveBufferSize);
                var result = await _socket.ReceiveAsync(memory, CancellationToken.None).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                _input.Writer.Advance(result.Count);
                var flush = await _input.Writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            error = ex;
        }
        finally
        {
            await _input.Writer.CompleteAsync(error).ConfigureAwait(false);
            _aborted.Cancel();
        }
    }

    private async Task SendLoopAsync()
    {
        try
        {
            while (true)
            {
                var result = await _output.Reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                try
                {
                    if (!buffer.IsEmpty && _socket.State == WebSocketState.Open)
                    {
                        var position = buffer.Start;
                        var remaining = buffer.Length;
                        while (buffer.TryGet(ref position, out var segment))
                        {
                            remaining -= segment.Length;
                            await _socket.SendAsync(segment, WebSocketMessageType.Text, remaining == 0, CancellationToken.None).ConfigureAwait(false);
                        }
                    }

                    if (result.IsCompleted || result.IsCanceled)
                    {
                        break;
                    }
                }
                finally
                {
                    _output.Reader.AdvanceTo(buffer.End);
                }
            }

            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            _socket.Abort();
        }
        finally
        {
            await _output.Reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
