using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RoomSignal.LoadTest.Ceiling;

/// <summary>
/// The ceiling: what a relay of the same messages costs on this stack without SignalR. A Kestrel app that
/// accepts <c>ws://HOST/hubs/room</c>, does the SignalR hub handshake (JSON or MessagePack) and implements
/// the room contract by hand (join with <c>created</c>/<c>joined</c>, exit, relay only within a shared room,
/// <c>from</c> stamped, a completion per invocation, hub pings every 15 s), so the load driver runs against
/// it unchanged. Settings (each measured in docs/benchmarks.md): <c>--inline</c> (Kestrel's
/// <c>UnsafePreferInlineScheduling</c>), <c>--batch</c> (queued records leave in one frame), <c>--lean</c> (an idle
/// connection holds no buffer: the idle memory floor of Kestrel and its WebSockets), <c>--raw</c> (WebSockets served by a
/// connection handler below Kestrel's HTTP layer, <see cref="RawWebSocketUpgrade"/>), <c>--redis</c> with <c>--node</c>
/// (ceiling nodes relaying to each other through Redis, <see cref="CeilingCluster"/>), and the GC mode through the usual
/// <c>DOTNET_gcServer</c>/<c>DOTNET_GCgen0size</c> environment variables.
/// </summary>
internal static class CeilingServer
{
    public static async Task<int> RunAsync(Options o)
    {
        var listen = o.String("listen", "http://127.0.0.1:5100");
        var inline = o.Flag("inline");
        var batch = o.String("batch", "true") is "true" or "1" or "yes";
        var maxPeers = o.Int("max-peers", 16, 1, 10_000);
        var lean = o.Flag("lean");
        var raw = o.Flag("raw");
        var redis = o.String("redis", "");
        var node = o.String("node", "a");
        o.RejectUnknown();
        if (node.Length is 0 or > 16 || node.Contains(CeilingHub.NodeSeparator))
        {
            throw new UsageException($"--node: 1-16 characters without '{CeilingHub.NodeSeparator}'");
        }

        if (!Uri.TryCreate(listen, UriKind.Absolute, out var uri) || !(uri.Host is "localhost" || (System.Net.IPAddress.TryParse(uri.Host, out var ip) && System.Net.IPAddress.IsLoopback(ip))))
        {
            throw new UsageException("--listen: an http:// loopback address, e.g. http://127.0.0.1:5100");
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var hub = new CeilingHub(maxPeers, batch, lean, redis.Length > 0 ? node : null);
        using var cluster = redis.Length > 0 ? await CeilingCluster.ConnectAsync(redis, hub) : null;
        hub.Cluster = cluster;
        if (raw)
        {
            // Below Kestrel's HTTP layer: a connection handler that answers the WebSocket upgrade itself.
            var endpoint = new System.Net.IPEndPoint(uri.Host == "localhost" ? System.Net.IPAddress.Loopback : System.Net.IPAddress.Parse(uri.Host), uri.Port);
            builder.WebHost.ConfigureKestrel(k => k.Listen(endpoint, l => l.Run(connection => RawWebSocketUpgrade.HandleAsync(connection, hub))));
        }
        else
        {
            builder.WebHost.UseUrls(listen);
        }

        builder.WebHost.UseSockets(s => s.UnsafePreferInlineScheduling = inline);
        var app = builder.Build();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        app.MapGet("/healthz", () => "Healthy");
        app.Map("/hubs/room", async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            using var ws = await context.WebSockets.AcceptWebSocketAsync();
            await new CeilingConnection(hub, ws).RunAsync();
        });

        using var pinger = new CancellationTokenSource();
        var pings = hub.PingAsync(pinger.Token);
        await app.StartAsync();
        Console.WriteLine($"ceiling listening on {listen} (inline scheduling {inline}, batch {batch}, lean {lean}, raw {raw}, redis {(redis.Length > 0 ? redis + " as node " + node : "none")}, server GC {GCSettings.IsServerGC}, " +
            $"concurrent GC {Environment.GetEnvironmentVariable("DOTNET_gcConcurrent") ?? "default"}, socket inline completions " +
            $"{Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") ?? "0"}, pid {Environment.ProcessId})");
        await app.WaitForShutdownAsync();
        pinger.Cancel();
        await pings;
        return 0;
    }
}

/// <summary>Rooms and connections of the ceiling server.</summary>
internal sealed class CeilingHub(int maxPeers, bool batch, bool lean, string? nodeName)
{
    /// <summary>Ends a node's name at the start of its connection ids (cluster mode).</summary>
    public const char NodeSeparator = '~';

    /// <summary>This node's name in a cluster of ceilings, or null alone.</summary>
    public string? NodeName { get; } = nodeName;

    /// <summary>The other nodes, through Redis (<c>--redis</c>); null alone.</summary>
    public CeilingCluster? Cluster { get; set; }

    public int MaxPeers { get; } = maxPeers;
    public bool Batch { get; } = batch;

    /// <summary>
    /// Idle connections hold no buffer: each read waits with a zero-byte receive and then rents its buffer from the
    /// shared pool, and the output buffers are dropped whenever the writer has sent everything. For measuring idle
    /// memory; it allocates per read and per burst of sends, so relay figures are taken without it.
    /// </summary>
    public bool Lean { get; } = lean;

    public ConcurrentDictionary<string, CeilingConnection> Connections { get; } = new(StringComparer.Ordinal);
    public ConcurrentDictionary<string, List<CeilingConnection>> Rooms { get; } = new(StringComparer.Ordinal);

    public string NewId()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        var id = Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return NodeName is null ? id : NodeName + NodeSeparator + id;
    }

    public async Task PingAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(15));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                foreach (var c in Connections.Values)
                {
                    c.EnqueuePing();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>One client of the ceiling server: handshake, receive loop, and an outgoing queue with one writer.</summary>
internal sealed class CeilingConnection(CeilingHub hub, System.Net.WebSockets.WebSocket ws)
{
    private const int MaxMessage = 128 * 1024;
    private readonly HashSet<string> _rooms = new(StringComparer.Ordinal);
    private readonly Lock _outLock = new();
    private System.Buffers.ArrayBufferWriter<byte>? _queued = hub.Lean ? null : new(4096);
    private System.Buffers.ArrayBufferWriter<byte>? _sending = hub.Lean ? null : new(4096);
    private readonly Queue<int> _recordEnds = new();
    private bool _writing;
    private bool _closed;
    private Wire.HubProtocolKind _kind;

    public string Id { get; } = hub.NewId();

    public bool InRoom(string room)
    {
        lock (_rooms)
        {
            return _rooms.Contains(room);
        }
    }

    /// <summary>The writer to queue records in, created on first use (it is dropped when idle in lean mode).</summary>
    private System.Buffers.ArrayBufferWriter<byte> Queued => _queued ??= new(hub.Lean ? 256 : 4096);

    public async Task RunAsync()
    {
        var buffer = new byte[hub.Lean ? 256 : 16 * 1024]; // lean: enough for the handshake; reads rent their own
        var filled = 0;
        // Handshake: {"protocol":"json"|"messagepack","version":1}0x1e
        int end;
        while ((end = buffer.AsSpan(0, filled).IndexOf(Wire.HubCodec.RecordSeparator)) < 0)
        {
            var r = await ws.ReceiveAsync(buffer.AsMemory(filled), CancellationToken.None);
            if (r.MessageType == System.Net.WebSockets.WebSocketMessageType.Close || (filled += r.Count) >= buffer.Length)
            {
                return;
            }
        }

        var handshake = Encoding.UTF8.GetString(buffer, 0, end);
        _kind = handshake.Contains("messagepack", StringComparison.Ordinal) ? Wire.HubProtocolKind.MessagePack : Wire.HubProtocolKind.Json;
        await ws.SendAsync("{}\u001e"u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        filled -= end + 1;
        Buffer.BlockCopy(buffer, end + 1, buffer, 0, filled);
        if (hub.Lean)
        {
            var rented = ArrayPool<byte>.Shared.Rent(16 * 1024);
            buffer.AsSpan(0, filled).CopyTo(rented);
            buffer = rented;
        }

        hub.Connections[Id] = this;
        var message = new Wire.HubMessage();
        try
        {
            while (true)
            {
                var span = (ReadOnlySpan<byte>)buffer.AsSpan(0, filled);
                while (Wire.HubCodec.TryTakeRecord(_kind, ref span, out var record))
                {
                    Wire.HubCodec.Parse(_kind, record, message, keepText: true);
                    Handle(message);
                }

                span.CopyTo(buffer);
                filled = span.Length;
                if (filled == buffer.Length)
                {
                    if (buffer.Length >= MaxMessage)
                    {
                        break; // larger than the maximum message: close this connection only
                    }

                    Array.Resize(ref buffer, buffer.Length * 2);
                }

                if (hub.Lean && filled == 0)
                {
                    // Nothing partial held: give the buffer back while waiting for the next frame.
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = [];
                    var ready = await ws.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
                    if (ready.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
                    {
                        break;
                    }

                    buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
                }

                var result = await ws.ReceiveAsync(buffer.AsMemory(filled), CancellationToken.None);
                if (result.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
                {
                    break;
                }

                filled += result.Count;
            }
        }
        catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or IOException or OperationCanceledException or FormatException or System.Text.Json.JsonException)
        {
        }
        finally
        {
            hub.Connections.TryRemove(Id, out _);
            string[] rooms;
            lock (_rooms)
            {
                rooms = [.. _rooms];
                _rooms.Clear();
            }

            foreach (var room in rooms)
            {
                Leave(room);
            }

            lock (_outLock)
            {
                _closed = true;
            }
        }

        if (ws.State == System.Net.WebSockets.WebSocketState.CloseReceived)
        {
            try
            {
                await ws.CloseOutputAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            }
            catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or IOException)
            {
            }
        }
    }

    private void Handle(Wire.HubMessage m)
    {
        if (m.Type != 1)
        {
            return; // pings, completions, close
        }

        var id = m.InvocationId;
        var room = m.Room;
        if (room is null or "" || room.Length > 64)
        {
            Complete(id, "room: must be 1-64 characters of A-Z a-z 0-9 _ . : -");
            return;
        }

        switch (m.Target)
        {
            case Wire.HubTarget.CreateAndJoinRoom:
                Join(id, room);
                break;
            case Wire.HubTarget.Exit:
                bool was;
                lock (_rooms)
                {
                    was = _rooms.Remove(room);
                }

                if (was)
                {
                    Leave(room);
                }

                Complete(id, null);
                break;
            case Wire.HubTarget.Offer or Wire.HubTarget.Answer or Wire.HubTarget.Candidate:
                Relay(id, m, room);
                break;
            default:
                Complete(id, "unknown hub method");
                break;
        }
    }

    /// <summary>
    /// An offer, answer or candidate to another member of a shared room: queued to the target here, or (cluster mode)
    /// published to the target's node, whose membership of the room is then not checked.
    /// </summary>
    private void Relay(string? invocationId, Wire.HubMessage m, string room)
    {
        var local = m.To is not null && hub.Connections.TryGetValue(m.To, out var found) ? found : null;
        var remote = local is null && m.To is not null && hub.Cluster is not null
            && CeilingCluster.NodeOf(m.To) is { IsEmpty: false } node && !node.SequenceEqual(hub.NodeName);
        if ((local is null && !remote) || !InRoom(room) || local?.InRoom(room) == false)
        {
            Complete(invocationId, $"to: '{m.To}' is not a member of room '{room}' with you");
            return;
        }

        string target;
        Wire.Payload payload;
        if (m.Target == Wire.HubTarget.Candidate)
        {
            if (!m.HasCandidate || m.CandidateText is null || m.CandidateText.Length > 2048)
            {
                Complete(invocationId, "candidate.candidate: at most 2048 characters");
                return;
            }

            target = "Candidate";
            payload = new Wire.Payload
            {
                From = Id,
                To = m.To,
                Room = room,
                HasCandidate = true,
                CandidateText = m.CandidateText,
                SdpMid = m.SdpMid,
                SdpMLineIndex = m.SdpMLineIndex,
                UsernameFragment = m.UsernameFragment,
            };
        }
        else
        {
            if (m.Sdp is null or "" || m.Sdp.Length > 64 * 1024)
            {
                Complete(invocationId, "sdp: must be non-empty, at most 64 KiB");
                return;
            }

            target = m.Target == Wire.HubTarget.Offer ? "Offer" : "Answer";
            payload = new Wire.Payload { From = Id, To = m.To, Room = room, Sdp = m.Sdp };
        }

        if (local is not null)
        {
            local.Enqueue(null, target, payload);
        }
        else
        {
            hub.Cluster!.Publish(m.To!, _kind, target, payload);
        }

        Complete(invocationId, null);
    }

    private void Join(string? invocationId, string room)
    {
        var members = hub.Rooms.GetOrAdd(room, _ => []);
        lock (members)
        {
            var peers = members.Where(c => c != this).Select(c => c.Id).ToArray();
            var already = members.Contains(this);
            if (!already && members.Count >= hub.MaxPeers)
            {
                Complete(invocationId, $"room: '{room}' is full (at most {hub.MaxPeers} members)");
                return;
            }

            if (!already)
            {
                members.Add(this);
                lock (_rooms)
                {
                    _rooms.Add(room);
                }
            }

            // Inside the room's lock, so every member sees the room's changes in one order: created first.
            var result = new Wire.Payload { Id = Id, Room = room, Peers = peers };
            Enqueue(null, "Created", result);
            if (!already)
            {
                foreach (var other in members)
                {
                    if (other != this)
                    {
                        other.Enqueue(null, "Joined", new Wire.Payload { Id = Id, Room = room });
                    }
                }
            }

            if (invocationId is not null)
            {
                EnqueueCompletion(invocationId, null, result);
            }
        }
    }

    private void Leave(string room)
    {
        if (!hub.Rooms.TryGetValue(room, out var members))
        {
            return;
        }

        lock (members)
        {
            if (!members.Remove(this))
            {
                return;
            }

            foreach (var other in members)
            {
                other.Enqueue(null, "Exit", new Wire.Payload { From = Id, Room = room });
            }
        }
    }

    private void Complete(string? invocationId, string? error)
    {
        if (invocationId is not null)
        {
            EnqueueCompletion(invocationId, error, null);
        }
    }

    public void Enqueue(string? invocationId, string target, in Wire.Payload payload)
    {
        lock (_outLock)
        {
            if (_closed)
            {
                return;
            }

            Wire.HubCodec.WriteInvocation(Queued, _kind, invocationId, target, payload);
            _recordEnds.Enqueue(Queued.WrittenCount);
        }

        StartWriter();
    }

    /// <summary>Queues a record written elsewhere (a relay from another node); dropped if it is not in this connection's protocol.</summary>
    public void EnqueueRecord(Wire.HubProtocolKind kind, ReadOnlySpan<byte> record)
    {
        lock (_outLock)
        {
            if (_closed || kind != _kind)
            {
                return;
            }

            Queued.Write(record);
            _recordEnds.Enqueue(Queued.WrittenCount);
        }

        StartWriter();
    }

    private void EnqueueCompletion(string invocationId, string? error, Wire.Payload? result)
    {
        lock (_outLock)
        {
            if (_closed)
            {
                return;
            }

            Wire.HubCodec.WriteCompletion(Queued, _kind, invocationId, error, result);
            _recordEnds.Enqueue(Queued.WrittenCount);
        }

        StartWriter();
    }

    public void EnqueuePing()
    {
        lock (_outLock)
        {
            if (_closed)
            {
                return;
            }

            var ping = Wire.HubCodec.Ping(_kind);
            Queued.Write(ping);
            _recordEnds.Enqueue(Queued.WrittenCount);
        }

        StartWriter();
    }

    private void StartWriter()
    {
        lock (_outLock)
        {
            if (_writing)
            {
                return;
            }

            _writing = true;
        }

        _ = WriteLoopAsync();
    }

    /// <summary>
    /// One writer per connection. With batching, everything queued while the previous send was in flight
    /// leaves as one WebSocket frame (SignalR's transport does the same with its pipe); without, one frame
    /// per record.
    /// </summary>
    private async Task WriteLoopAsync()
    {
        var type = _kind == Wire.HubProtocolKind.Json ? System.Net.WebSockets.WebSocketMessageType.Text : System.Net.WebSockets.WebSocketMessageType.Binary;
        var ends = new List<int>();
        try
        {
            while (true)
            {
                lock (_outLock)
                {
                    if (_queued is null || _queued.WrittenCount == 0 || _closed)
                    {
                        _writing = false;
                        if (hub.Lean)
                        {
                            _queued = _sending = null; // idle: hold no output buffer
                        }

                        return;
                    }

                    (_queued, _sending) = (_sending, _queued);
                    _queued?.ResetWrittenCount();
                    ends.Clear();
                    while (_recordEnds.TryDequeue(out var e))
                    {
                        ends.Add(e);
                    }
                }

                if (hub.Batch)
                {
                    await ws.SendAsync(_sending!.WrittenMemory, type, true, CancellationToken.None);
                }
                else
                {
                    var start = 0;
                    foreach (var e in ends)
                    {
                        await ws.SendAsync(_sending!.WrittenMemory[start..e], type, true, CancellationToken.None);
                        start = e;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            lock (_outLock)
            {
                _closed = true;
                _writing = false;
            }
        }
    }
}
