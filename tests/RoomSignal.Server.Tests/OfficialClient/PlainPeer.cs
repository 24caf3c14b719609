using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using RoomSignal.Contracts;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.OfficialClient;

/// <summary>The wire formats a plain connection can speak.</summary>
public enum WireProtocol
{
    Json,
    MessagePack,
}

/// <summary>
/// A <see cref="HubConnection"/> built the way the SignalR docs show (<c>WithUrl(url)</c>, negotiation on), with a
/// handler per server event under the names the server sends; it records what arrives.
/// </summary>
public sealed class PlainPeer : IAsyncDisposable
{
    private readonly ConcurrentQueue<(string Event, object Payload)> _received = new();
    private string? _joinedAs;

    private PlainPeer(HubConnection connection)
    {
        Connection = connection;
        // The .NET client matches names case-sensitively: these are the names on the wire.
        connection.On<RoomJoined>("Created", m => _received.Enqueue(("Created", m)));
        connection.On<PeerJoined>("Joined", m => _received.Enqueue(("Joined", m)));
        connection.On<SdpMessage>("Offer", m => _received.Enqueue(("Offer", m)));
        connection.On<SdpMessage>("Answer", m => _received.Enqueue(("Answer", m)));
        connection.On<CandidateMessage>("Candidate", m => _received.Enqueue(("Candidate", m)));
        connection.On<PeerExited>("Exit", m => _received.Enqueue(("Exit", m)));
    }

    public HubConnection Connection { get; }

    /// <summary>
    /// The id the server knows this connection by: as negotiation reported it, or, for a connection that skipped
    /// negotiation, as its first join reported it.
    /// </summary>
    public string Id => Connection.ConnectionId ?? _joinedAs ?? throw new InvalidOperationException("not connected, or (negotiation skipped) not joined yet");

    /// <summary>
    /// Builds and starts a connection to <paramref name="hubUrl"/> over <paramref name="transport"/>; with
    /// <paramref name="skipNegotiation"/> (WebSockets only) it opens the WebSocket straight away.
    /// </summary>
    public static async Task<PlainPeer> ConnectAsync(
        Uri hubUrl,
        HttpTransportType transport,
        WireProtocol protocol = WireProtocol.Json,
        Action<IHubConnectionBuilder>? configure = null,
        bool skipNegotiation = false)
    {
        var builder = new HubConnectionBuilder().WithUrl(hubUrl, o =>
        {
            o.Transports = transport;
            o.SkipNegotiation = skipNegotiation;
        });
        if (protocol == WireProtocol.MessagePack)
        {
            // RoomSignal's options key the maps by the JSON names; SignalR's defaults would expect "Id", "Room", ...
            builder.AddMessagePackProtocol(o => o.SerializerOptions = RoomSignalMessagePack.SerializerOptions);
        }

        configure?.Invoke(builder);
        var peer = new PlainPeer(builder.Build());
        await peer.Connection.StartAsync().Within($"a plain connection over {transport} to start");
        return peer;
    }

    public async Task<RoomJoined> JoinAsync(string room)
    {
        var joined = await Connection.InvokeAsync<RoomJoined>("CreateAndJoinRoom", new JoinRoomRequest(room)).Within($"joining {room}");
        _joinedAs ??= joined.Id;
        return joined;
    }

    public IReadOnlyList<T> All<T>(string eventName)
        => _received.Where(m => m.Event == eventName).Select(m => (T)m.Payload).ToArray();

    public async Task<T> WaitForAsync<T>(string eventName, Func<T, bool>? predicate = null, string? because = null)
    {
        T? found = default;
        await Eventually.UntilAsync(
            () =>
            {
                foreach (var (name, payload) in _received)
                {
                    if (name == eventName && payload is T typed && (predicate is null || predicate(typed)))
                    {
                        found = typed;
                        return true;
                    }
                }

                return false;
            },
            because ?? $"a '{eventName}' message");
        return found!;
    }

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
