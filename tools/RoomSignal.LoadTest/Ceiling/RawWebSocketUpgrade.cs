using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Connections;

namespace RoomSignal.LoadTest.Ceiling;

/// <summary>
/// The ceiling's <c>--raw</c> mode: WebSockets served by a Kestrel connection handler, below its HTTP layer, so no
/// HTTP/1.1 connection, request or pipe pair of its own stays alive under each WebSocket. It answers one upgrade
/// request per connection and nothing else (no other paths, no keep-alive, no compression); for measuring what the
/// HTTP layer costs an idle connection, not for serving anyone.
/// </summary>
internal static class RawWebSocketUpgrade
{
    private const int MaxRequestHeader = 8 * 1024;
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();

    public static async Task HandleAsync(ConnectionContext connection, CeilingHub hub)
    {
        var key = await ReadUpgradeKeyAsync(connection.Transport.Input);
        if (key is null)
        {
            await connection.Transport.Output.WriteAsync("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"u8.ToArray());
            return;
        }

        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        await connection.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes(
            $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"));
        using var ws = WebSocket.CreateFromStream(new DuplexPipeStream(connection.Transport),
            new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
        await new CeilingConnection(hub, ws).RunAsync();
    }

    /// <summary>Reads the request header; the Sec-WebSocket-Key of a GET upgrade to /hubs/room, or null.</summary>
    private static async Task<string?> ReadUpgradeKeyAsync(PipeReader input)
    {
        while (true)
        {
            var read = await input.ReadAsync();
            var buffer = read.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            if (reader.TryReadTo(out ReadOnlySequence<byte> header, HeaderEnd, advancePastDelimiter: true))
            {
                var text = Encoding.ASCII.GetString(header);
                input.AdvanceTo(reader.Position);
                return ParseKey(text);
            }

            if (read.IsCompleted || buffer.Length > MaxRequestHeader)
            {
                input.AdvanceTo(buffer.End);
                return null;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static string? ParseKey(string header)
    {
        var lines = header.Split("\r\n");
        if (!lines[0].StartsWith("GET /hubs/room", StringComparison.Ordinal) || !lines[0].EndsWith(" HTTP/1.1", StringComparison.Ordinal))
        {
            return null;
        }

        string? key = null;
        var upgrade = false;
        foreach (var line in lines.AsSpan(1))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0)
            {
                return null;
            }

            var name = line.AsSpan(0, colon).Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Sec-WebSocket-Key", StringComparison.OrdinalIgnoreCase))
            {
                key = value;
            }
            else if (name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase))
            {
                upgrade = value.Equals("websocket", StringComparison.OrdinalIgnoreCase);
            }
        }

        return upgrade && key is { Length: > 0 } ? key : null;
    }

    /// <summary>A stream over a connection's pipe pair: reads from its input, writes (and flushes) to its output.</summary>
    private sealed class DuplexPipeStream(IDuplexPipe pipe) : Stream
    {
        private readonly Stream _input = pipe.Input.AsStream(leaveOpen: true);
        private readonly Stream _output = pipe.Output.AsStream(leaveOpen: true);

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => _input.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _input.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _input.ReadAsync(buffer, offset, count, cancellationToken);
        public override void Write(byte[] buffer, int offset, int count) => _output.Write(buffer, offset, count);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _output.WriteAsync(buffer, cancellationToken);
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _output.WriteAsync(buffer, offset, count, cancellationToken);
        public override void Flush() => _output.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => _output.FlushAsync(cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
