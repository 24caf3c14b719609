using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Client;
using RoomSignal.Contracts;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Infrastructure;

/// <summary>A test client: one hub connection that records every event it receives.</summary>
internal sealed class Peer : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private string? _id;
    private readonly List<PeerJoined> _joined = [];
    private readonly List<PeerExited> _exits = [];
    private readonly List<SdpMessage> _offers = [];
    private readonly List<SdpMessage> _answers = [];
    private readonly List<CandidateMessage> _candidates = [];

    private Peer(HubConnection connection)
    {
        Connection = connection;
        connection.On<PeerJoined>(RoomClientEvents.Joined, m => Add(_joined, m));
        connection.On<PeerExited>(RoomClientEvents.Exit, m => Add(_exits, m));
        connection.On<SdpMessage>(RoomClientEvents.Offer, m => Add(_offers, m));
        connection.On<SdpMessage>(RoomClientEvents.Answer, m => Add(_answers, m));
        connection.On<CandidateMessage>(RoomClientEvents.Candidate, m => Add(_candidates, m));
        connection.On<RoomJoined>(RoomClientEvents.Created, _ => { });
    }

    public HubConnection Connection { get; }

    /// <summary>The server's id for this connection, learned from the first join (the client-side id differs without negotiation).</summary>
    public string Id => _id ?? throw new InvalidOperationException("join a room first: the server tells a connection its id in the join result");

    public IReadOnlyList<PeerJoined> Joined => Snapshot(_joined);

    public IReadOnlyList<PeerExited> Exits => Snapshot(_exits);

    public IReadOnlyList<SdpMessage> Offers => Snapshot(_offers);

    public IReadOnlyList<SdpMessage> Answers => Snapshot(_answers);

    public IReadOnlyList<CandidateMessage> Candidates => Snapshot(_candidates);

    /// <summary>Connects to a node, in-process or a child process.</summary>
    public static async Task<Peer> ConnectAsync(IRoomSignalEndpoint node)
    {
        var peer = new Peer(node.CreateHubConnection());
        await peer.Connection.StartAsync().Within("a peer to connect");
        return peer;
    }

    /// <summary>Connects to a node with auth on, presenting <paramref name="token"/> as <c>access_token</c>.</summary>
    public static async Task<Peer> ConnectAsync(IRoomSignalEndpoint node, string token)
    {
        var peer = new Peer(TestHubConnections.Create(node.HubUri, http: o => o.AccessTokenProvider = () => Task.FromResult<string?>(token)));
        await peer.Connection.StartAsync().Within("a peer with a token to connect");
        return peer;
    }

    /// <summary>
    /// Connects, trying again after a refusal as a real client would (a node answers negotiation with 503 while its
    /// backplane is not ready: it must subscribe each connection's channel), until it is accepted or <paramref name="timeout"/> runs out.
    /// </summary>
    public static async Task<Peer> ConnectWhenAcceptedAsync(IRoomSignalEndpoint node, TimeSpan timeout)
    {
        Peer? peer = null;
        await Eventually.UntilAsync(
            async () =>
            {
                var candidate = new Peer(node.CreateHubConnection());
                if (await candidate.TryStartAcceptedAsync())
                {
                    peer = candidate;
                    return true;
                }

                await candidate.DisposeAsync();
                return false;
            },
            "a peer's connection to be accepted",
            timeout);
        return peer!;
    }

    /// <summary>Whether the node refuses a new connection right now.</summary>
    public static async Task<bool> IsRefusedAsync(IRoomSignalEndpoint node)
    {
        await using var peer = new Peer(node.CreateHubConnection());
        return !await peer.TryStartAcceptedAsync();
    }

    /// <summary>
    /// Starts the connection and checks that the server kept it. A node whose backplane is not ready refuses the
    /// negotiation (503), so <c>StartAsync</c> throws; a node that loses Redis between the negotiation and the
    /// WebSocket closes the connection just after its handshake, when the backplane cannot subscribe its channel,
    /// which the probe catches: the server answers an unknown method with an error only once it serves the connection.
    /// </summary>
    private async Task<bool> TryStartAcceptedAsync()
    {
        try
        {
            await Connection.StartAsync().Within("a peer to connect");
            await Connection.InvokeCoreAsync("AcceptanceProbe", typeof(object), []).Within("the server to answer a probe");
        }
        catch (Microsoft.AspNetCore.SignalR.HubException)
        {
            return true; // "unknown method": the connection is served
        }
        catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or IOException or TimeoutException
                                   or OperationCanceledException or System.Net.WebSockets.WebSocketException)
        {
            return false;
        }

        return true;
    }

    public async Task<RoomJoined> JoinAsync(string room)
    {
        var joined = await Connection.InvokeAsync<RoomJoined>(nameof(IRoomHub.CreateAndJoinRoom), new JoinRoomRequest(room)).Within($"{_id ?? "a peer"} to join {room}");
        _id ??= joined.Id;
        return joined;
    }

    /// <summary>
    /// Joins, retrying after a refusal (a <see cref="Microsoft.AspNetCore.SignalR.HubException"/>, e.g. while the node
    /// cannot reach Redis yet) as a real client would, until the join succeeds or <paramref name="timeout"/> runs out.
    /// </summary>
    public async Task<RoomJoined> JoinWhenAcceptedAsync(string room, TimeSpan timeout)
    {
        RoomJoined? result = null;
        await Eventually.UntilAsync(
            async () =>
            {
                try
                {
                    result = await JoinAsync(room);
                    return true;
                }
                catch (Microsoft.AspNetCore.SignalR.HubException)
                {
                    return false;
                }
            },
            $"{_id ?? "a peer"}'s join of {room} to be accepted",
            timeout);
        return result!;
    }

    public Task ExitAsync(string room)
        => Connection.InvokeAsync(nameof(IRoomHub.Exit), new ExitRoomRequest(room)).Within($"{Id} to exit {room}");

    public Task OfferAsync(string to, string room, string sdp = "v=0")
        => Connection.InvokeAsync(nameof(IRoomHub.Offer), new SdpRequest(to, room, sdp)).Within($"{Id} to offer to {to}");

    public Task AnswerAsync(string to, string room, string sdp = "v=0")
        => Connection.InvokeAsync(nameof(IRoomHub.Answer), new SdpRequest(to, room, sdp)).Within($"{Id} to answer {to}");

    public Task CandidateAsync(string to, string room)
        => Connection.InvokeAsync(nameof(IRoomHub.Candidate), new CandidateRequest(to, room, new IceCandidate("candidate:1 1 udp 1 127.0.0.1 9 typ host", "0", 0, null)))
            .Within($"{Id} to send a candidate to {to}");

    public Task WaitForExitAsync(string from, string room, TimeSpan? timeout = null)
        => Eventually.UntilAsync(() => Exits.Any(e => e.From == from && e.Room == room), $"{Id} to receive exit of {from} from {room}", timeout);

    public Task WaitForJoinedAsync(string id, string room, TimeSpan? timeout = null)
        => Eventually.UntilAsync(() => Joined.Any(e => e.Id == id && e.Room == room), $"{Id} to receive joined of {id} in {room}", timeout);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Connection.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            // A connection to a killed node may hang on close; the test is over anyway.
        }
    }

    private void Add<T>(List<T> list, T item)
    {
        lock (_gate)
        {
            list.Add(item);
        }
    }

    private T[] Snapshot<T>(List<T> list)
    {
        lock (_gate)
        {
            return [.. list];
        }
    }
}
