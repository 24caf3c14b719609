using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using RoomSignal.Client.Internal;
using RoomSignal.Contracts;

namespace RoomSignal.Client;

/// <summary>
/// A typed client of the RoomSignal hub: join and leave rooms, relay SDP offers, answers and ICE candidates to
/// other members, and receive theirs as events.
/// </summary>
/// <remarks>
/// <para>
/// Every call that the server refuses (bad argument, full room, target not in the room) throws a
/// <see cref="HubException"/> carrying the server's message, e.g. <c>room: must be 1-64 characters of A-Z a-z 0-9 _ . : -</c>.
/// The connection stays usable after such an error.
/// </para>
/// <para>
/// Event handlers run one at a time, in the order the server sent the messages, and the next message waits until
/// the handler's task completes; so an offer's handler can finish applying it before the first candidate arrives.
/// An exception from a handler is logged by the underlying <see cref="HubConnection"/> and does not stop the client.
/// </para>
/// <para>
/// A short drop of a WebSocket is resumed by stateful reconnect (<see cref="RoomSignalClientOptions.StatefulReconnect"/>):
/// the connection keeps its id and its rooms, messages sent meanwhile are replayed, no event is raised and the other
/// members notice nothing. After a longer loss the automatic reconnect opens a new connection, which the server knows
/// by a new id; the client then rejoins every room it was in and raises <see cref="RoomsRejoined"/>. The other members
/// see the old id exit and the new id join.
/// </para>
/// </remarks>
public sealed class RoomSignalClient : IAsyncDisposable
{
    private readonly HubConnection _connection;
    private readonly bool _ownsConnection;
    private readonly List<IDisposable> _subscriptions = [];
    private readonly Lock _gate = new();
    private readonly HashSet<string> _rooms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _seqByRoom = new(StringComparer.Ordinal);
    // The joined/exit already raised at each room's current seq: a recovery may send several changes under one seq.
    private readonly Dictionary<string, HashSet<string>> _raisedAtSeq = new(StringComparer.Ordinal);
    private const string CreatedMarker = "created";
    // SignalR raises Reconnecting and Reconnected as separate fire-and-forget work items, so in a busy process the
    // second could run first. Each Reconnecting handler releases this once; each Reconnected handler waits for it.
    private readonly SemaphoreSlim _reconnectingHandled = new(0);
    private string? _connectionId;
    private int _disposed;

    /// <summary>Creates a client that connects to <paramref name="hubUrl"/> with the default options.</summary>
    /// <param name="hubUrl">The hub address, e.g. <c>https://signal.example.com/hubs/room</c>.</param>
    public RoomSignalClient(Uri hubUrl)
        : this(new RoomSignalClientOptions { HubUrl = hubUrl })
    {
    }

    /// <summary>Creates a client that builds its own connection from <paramref name="options"/>.</summary>
    /// <param name="options">The hub address and reconnect settings; <see cref="RoomSignalClientOptions.HubUrl"/> is required.</param>
    public RoomSignalClient(RoomSignalClientOptions options)
        : this(BuildConnection(options), ownsConnection: true)
    {
    }

    /// <summary>
    /// Creates a client over a <see cref="HubConnection"/> you built yourself with <c>HubConnectionBuilder</c>,
    /// for settings the options do not cover. The connection must point at the RoomSignal hub; with MessagePack, give
    /// it <see cref="RoomSignalMessagePack.SerializerOptions"/> (see there). If it was built with
    /// automatic reconnect, the client rejoins its rooms after each reconnect. Disposing the client leaves the
    /// connection to you: dispose it yourself.
    /// </summary>
    /// <param name="connection">The connection, started or not.</param>
    public RoomSignalClient(HubConnection connection)
        : this(connection, ownsConnection: false)
    {
    }

    private RoomSignalClient(HubConnection connection, bool ownsConnection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        _ownsConnection = ownsConnection;

        Subscribe<RoomJoined>(RoomClientEvents.Created, m =>
        {
            SetRoomSeq(m.Room, m.Seq);
            return RaiseAsync(Created, m);
        });
        Subscribe<PeerJoined>(RoomClientEvents.Joined, m => IsNewChange(m.Room, m.Seq, "+" + m.Id) ? RaiseAsync(Joined, m) : Task.CompletedTask);
        Subscribe<SdpMessage>(RoomClientEvents.Offer, m => RaiseAsync(Offer, m));
        Subscribe<SdpMessage>(RoomClientEvents.Answer, m => RaiseAsync(Answer, m));
        Subscribe<CandidateMessage>(RoomClientEvents.Candidate, m => RaiseAsync(Candidate, m));
        Subscribe<PeerExited>(RoomClientEvents.Exit, m => IsNewChange(m.Room, m.Seq, "-" + m.From) ? RaiseAsync(Exit, m) : Task.CompletedTask);
        Subscribe<RemovedFromRoom>(RoomClientEvents.Removed, m =>
        {
            ForgetRoom(m.Room);
            return RaiseAsync(Removed, m);
        });

        _connection.Reconnecting += OnReconnectingAsync;
        _connection.Reconnected += OnReconnectedAsync;
        _connection.Closed += OnClosedAsync;
    }

    /// <summary>The caller itself joined a room (also after a rejoin); same payload as <see cref="JoinAsync"/> returns.</summary>
    public event Func<RoomJoined, Task>? Created;

    /// <summary>
    /// Another connection joined one of this client's rooms. A <c>joined</c> whose <see cref="PeerJoined.Seq"/> is below
    /// the room's <see cref="GetRoomSeq"/> (stale), or that repeats one already raised at that seq, is not raised. Several
    /// different changes may share one seq: a server recovering from a lost change sends the difference at the room's
    /// current seq.
    /// </summary>
    public event Func<PeerJoined, Task>? Joined;

    /// <summary>An SDP offer from another member.</summary>
    public event Func<SdpMessage, Task>? Offer;

    /// <summary>An SDP answer from another member.</summary>
    public event Func<SdpMessage, Task>? Answer;

    /// <summary>An ICE candidate from another member.</summary>
    public event Func<CandidateMessage, Task>? Candidate;

    /// <summary>
    /// A member left one of this client's rooms (explicitly or by disconnecting). An <c>exit</c> whose
    /// <see cref="PeerExited.Seq"/> is below the room's <see cref="GetRoomSeq"/> (stale), or that repeats one already
    /// raised at that seq, is not raised (see <see cref="Joined"/>).
    /// </summary>
    public event Func<PeerExited, Task>? Exit;

    /// <summary>
    /// An administrator removed this client from a room (the server's admin API). The client is no longer in
    /// <see cref="RemovedFromRoom.Room"/>: it has dropped the room from <see cref="Rooms"/> (so it does not rejoin it after
    /// a reconnect) before raising this; the connection stays open, and <see cref="JoinAsync"/> may join the room again.
    /// The other members receive <see cref="Exit"/> for this client as for any departure.
    /// </summary>
    public event Func<RemovedFromRoom, Task>? Removed;

    /// <summary>The connection dropped and the client is trying to reconnect; the argument is the cause, if any.</summary>
    public event Func<Exception?, Task>? Reconnecting;

    /// <summary>
    /// The client reconnected after a loss that stateful reconnect could not resume. The server knows it by a new
    /// connection id (the argument; <see langword="null"/> with <see cref="RoomSignalClientOptions.SkipNegotiation"/>),
    /// and the client rejoins its rooms next (see <see cref="RoomsRejoined"/>).
    /// </summary>
    public event Func<string?, Task>? Reconnected;

    /// <summary>After a reconnect, the client rejoined the rooms it was in: the new results, and the rooms it lost.</summary>
    public event Func<RoomsRejoinedEventArgs, Task>? RoomsRejoined;

    /// <summary>The connection closed for good (stopped, or reconnecting gave up); the argument is the cause, if any.</summary>
    public event Func<Exception?, Task>? Closed;

    /// <summary>
    /// The id the server knows this client by, which other members see as <c>from</c> and use as <c>to</c>.
    /// Known once the connection is started (with <see cref="RoomSignalClientOptions.SkipNegotiation"/> only after the
    /// first join, which reports it); <see langword="null"/> while disconnected or reconnecting. It stays the same
    /// across a stateful reconnect and changes after an automatic reconnect.
    /// </summary>
    public string? ConnectionId => Volatile.Read(ref _connectionId) ?? _connection.ConnectionId;

    /// <summary>The state of the underlying connection.</summary>
    public HubConnectionState State => _connection.State;

    /// <summary>The rooms this client is in (as far as it knows), which it rejoins after a reconnect.</summary>
    public IReadOnlyCollection<string> Rooms
    {
        get
        {
            lock (_gate)
            {
                return _rooms.ToArray();
            }
        }
    }

    /// <summary>
    /// The change number of <paramref name="room"/> as this client has seen it: the <c>seq</c> of the last
    /// <see cref="Created"/>, <see cref="Joined"/> or <see cref="Exit"/> of the room; <see langword="null"/> when the
    /// client is not in the room or the server does not send <c>seq</c>.
    /// </summary>
    /// <param name="room">The room.</param>
    public long? GetRoomSeq(string room)
    {
        lock (_gate)
        {
            return _seqByRoom.TryGetValue(room, out var seq) ? seq : null;
        }
    }

    /// <summary>The underlying connection, for what this client does not wrap.</summary>
    public HubConnection Connection => _connection;

    /// <summary>Connects to the hub.</summary>
    /// <param name="cancellationToken">Cancels connecting.</param>
    public Task StartAsync(CancellationToken cancellationToken = default) => _connection.StartAsync(cancellationToken);

    /// <summary>Closes the connection; the server tells the members of every room this client was in that it left.</summary>
    /// <param name="cancellationToken">Cancels stopping.</param>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _connection.StopAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _rooms.Clear();
            _seqByRoom.Clear();
            _raisedAtSeq.Clear();
        }
    }

    /// <summary>
    /// Joins <paramref name="room"/> (joining a room again is harmless) and returns this client's connection id and
    /// the members already there. The other members receive <see cref="Joined"/>.
    /// </summary>
    /// <param name="room">1-64 characters of <c>A-Z a-z 0-9 _ . : -</c>.</param>
    /// <param name="cancellationToken">Stops waiting for the answer (the server may still complete the join).</param>
    /// <exception cref="HubException">
    /// The server refused: a bad room name, the room is full, or (in a cluster) the node cannot reach Redis, is still
    /// connecting to the rest of the service, or is shutting down; the message says which. The latter are worth a retry.
    /// </exception>
    public async Task<RoomJoined> JoinAsync(string room, CancellationToken cancellationToken = default)
    {
        RoomJoined joined;
        try
        {
            joined = await _connection.InvokeAsync<RoomJoined>(nameof(IRoomHub.CreateAndJoinRoom), new JoinRoomRequest(room), cancellationToken)
                .ConfigureAwait(false);
        }
        catch (HubException ex) when (ServerErrors.TryUnwrap(ex, out var unwrapped))
        {
            throw unwrapped;
        }

        Volatile.Write(ref _connectionId, joined.Id);
        lock (_gate)
        {
            _rooms.Add(joined.Room);
        }

        return joined;
    }

    /// <summary>Leaves <paramref name="room"/>; the other members receive <see cref="Exit"/>. Leaving a room you are not in does nothing.</summary>
    /// <param name="room">The room to leave.</param>
    /// <param name="cancellationToken">Stops waiting for the answer.</param>
    /// <exception cref="HubException">The room name is not valid.</exception>
    public async Task ExitAsync(string room, CancellationToken cancellationToken = default)
    {
        // Forget the room first: whatever the server answers, the caller no longer wants to be rejoined to it.
        lock (_gate)
        {
            _rooms.Remove(room);
            if (room is not null)
            {
                _seqByRoom.Remove(room); // a null name is the server's to refuse
                _raisedAtSeq.Remove(room);
            }
        }

        await InvokeAsync(nameof(IRoomHub.Exit), new ExitRoomRequest(room), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends an SDP offer to <paramref name="to"/>, a member of <paramref name="room"/> as this client is.</summary>
    /// <param name="to">The target's connection id.</param>
    /// <param name="room">A room both are members of.</param>
    /// <param name="sdp">The session description (at most 65536 characters).</param>
    /// <param name="cancellationToken">Stops waiting for the answer.</param>
    /// <exception cref="HubException">The server refused: a bad argument, or sender and target do not share the room.</exception>
    public Task SendOfferAsync(string to, string room, string sdp, CancellationToken cancellationToken = default)
        => InvokeAsync(nameof(IRoomHub.Offer), new SdpRequest(to, room, sdp), cancellationToken);

    /// <summary>Sends an SDP answer to <paramref name="to"/>, a member of <paramref name="room"/> as this client is.</summary>
    /// <param name="to">The target's connection id.</param>
    /// <param name="room">A room both are members of.</param>
    /// <param name="sdp">The session description (at most 65536 characters).</param>
    /// <param name="cancellationToken">Stops waiting for the answer.</param>
    /// <exception cref="HubException">The server refused: a bad argument, or sender and target do not share the room.</exception>
    public Task SendAnswerAsync(string to, string room, string sdp, CancellationToken cancellationToken = default)
        => InvokeAsync(nameof(IRoomHub.Answer), new SdpRequest(to, room, sdp), cancellationToken);

    /// <summary>Sends an ICE candidate to <paramref name="to"/>, a member of <paramref name="room"/> as this client is.</summary>
    /// <param name="to">The target's connection id.</param>
    /// <param name="room">A room both are members of.</param>
    /// <param name="candidate">The candidate; an empty <see cref="IceCandidate.Candidate"/> means end of candidates.</param>
    /// <param name="cancellationToken">Stops waiting for the answer.</param>
    /// <exception cref="HubException">The server refused: a bad argument, or sender and target do not share the room.</exception>
    public Task SendCandidateAsync(string to, string room, IceCandidate candidate, CancellationToken cancellationToken = default)
        => InvokeAsync(nameof(IRoomHub.Candidate), new CandidateRequest(to, room, candidate), cancellationToken);

    /// <summary>
    /// Asks the server for the ICE servers to give a peer connection: its STUN URLs, and its TURN URLs with a
    /// username and credential minted for this caller (coturn's <c>use-auth-secret</c> scheme; the user id with auth
    /// on, else this connection's id). The credentials last <see cref="IceServerList.Ttl"/> seconds: fetch new ones
    /// after a reconnect and before they expire. An empty list when the server has no ICE servers configured.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting for the answer.</param>
    /// <returns>The servers (STUN first, then TURN) and the credentials' lifetime in seconds.</returns>
    /// <exception cref="InvalidOperationException">The client is not connected.</exception>
    public async Task<IceServerList> GetIceServersAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _connection.InvokeAsync<IceServerList>(nameof(IRoomHub.GetIceServers), cancellationToken).ConfigureAwait(false);
        }
        catch (HubException ex) when (ServerErrors.TryUnwrap(ex, out var unwrapped))
        {
            throw unwrapped;
        }
    }

    /// <summary>
    /// Stops listening and, when the client built the connection itself, closes and disposes it.
    /// A connection passed to the constructor is left to its owner.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _connection.Reconnecting -= OnReconnectingAsync;
        _connection.Reconnected -= OnReconnectedAsync;
        _connection.Closed -= OnClosedAsync;
        foreach (var subscription in _subscriptions)
        {
            subscription.Dispose();
        }

        if (_ownsConnection)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }

    }

    private static HubConnection BuildConnection(RoomSignalClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.HubUrl is null)
        {
            throw new ArgumentException($"{nameof(RoomSignalClientOptions)}.{nameof(RoomSignalClientOptions.HubUrl)} is required.", nameof(options));
        }

        var hubUrl = ToHttpUri(options.HubUrl);
        var builder = new HubConnectionBuilder();
        builder.WithUrl(hubUrl, http =>
        {
            if (options.SkipNegotiation)
            {
                http.SkipNegotiation = true;
                http.Transports = HttpTransportType.WebSockets;
            }
            else
            {
                http.Transports = options.Transports;
            }

            http.AccessTokenProvider = options.AccessTokenProvider;
            foreach (var (name, value) in options.Headers)
            {
                http.Headers[name] = value;
            }

            if (options.ConfigureWebSocket is { } configureWebSocket)
            {
                http.WebSocketConfiguration = configureWebSocket;
            }

            options.ConfigureHttpConnection?.Invoke(http);
        });
        if (options.Protocol == RoomSignalProtocol.MessagePack)
        {
            builder.AddMessagePackProtocol(o => o.SerializerOptions = RoomSignalMessagePack.SerializerOptions);
        }

        if (options.StatefulReconnect && !options.SkipNegotiation)
        {
            builder.WithStatefulReconnect();
        }

        if (options.AutomaticReconnect)
        {
            builder.WithAutomaticReconnect(options.ReconnectDelays.ToArray());
        }

        options.ConfigureConnection?.Invoke(builder);
        return builder.Build();
    }

    /// <summary>Turns <c>ws(s)://</c> into <c>http(s)://</c> (SignalR negotiates over HTTP); leaves <c>http(s)://</c> as it is.</summary>
    private static Uri ToHttpUri(Uri uri)
    {
        if (!uri.IsAbsoluteUri)
        {
            throw new ArgumentException($"{nameof(RoomSignalClientOptions)}.{nameof(RoomSignalClientOptions.HubUrl)} must be an absolute URL, not '{uri}'.", nameof(uri));
        }

        var scheme = uri.Scheme switch
        {
            "ws" => "http",
            "wss" => "https",
            "http" or "https" => uri.Scheme,
            _ => throw new ArgumentException($"Unsupported scheme '{uri.Scheme}' in {nameof(RoomSignalClientOptions.HubUrl)}: use http, https, ws or wss.", nameof(uri)),
        };
        return new UriBuilder(uri) { Scheme = scheme, Port = uri.IsDefaultPort ? -1 : uri.Port }.Uri;
    }

    private async Task InvokeAsync(string method, object request, CancellationToken cancellationToken)
    {
        try
        {
            await _connection.InvokeAsync(method, request, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException ex) when (ServerErrors.TryUnwrap(ex, out var unwrapped))
        {
            throw unwrapped;
        }
    }

    /// <summary>The server took this client out of <paramref name="room"/>: it is no longer one of ours to rejoin.</summary>
    private void ForgetRoom(string? room)
    {
        if (room is null)
        {
            return;
        }

        lock (_gate)
        {
            _rooms.Remove(room);
            _seqByRoom.Remove(room);
            _raisedAtSeq.Remove(room);
        }
    }

    /// <summary>Our own join's place in the room's order: later events of the room must carry a larger seq.</summary>
    private void SetRoomSeq(string room, long seq)
    {
        if (seq <= 0)
        {
            return; // a server that does not number changes
        }

        lock (_gate)
        {
            _seqByRoom[room] = seq;
            _raisedAtSeq[room] = [CreatedMarker]; // created is the whole room at its seq: nothing more at it is news
        }
    }

    /// <summary>
    /// Whether a joined/exit is news for the room: newer than what the room has seen, or at the room's seq and not
    /// raised yet (a recovery's difference); records it if so.
    /// </summary>
    private bool IsNewChange(string room, long seq, string change)
    {
        if (seq <= 0)
        {
            return true;
        }

        lock (_gate)
        {
            var known = _seqByRoom.TryGetValue(room, out var last);
            if (known && seq < last)
            {
                return false;
            }

            if (!known || seq > last || !_raisedAtSeq.TryGetValue(room, out var raised))
            {
                _seqByRoom[room] = seq;
                _raisedAtSeq[room] = [change];
                return true;
            }

            return !raised.Contains(CreatedMarker) && raised.Add(change);
        }
    }

    private void Subscribe<T>(string target, Func<T, Task> handler)
    {
        _subscriptions.Add(_connection.On(target, handler));

        // The contract spells the event names in lower case; accept either spelling from the server.
        var lower = target.ToLowerInvariant();
        if (!string.Equals(lower, target, StringComparison.Ordinal))
        {
            _subscriptions.Add(_connection.On(lower, handler));
        }
    }

    private async Task OnReconnectingAsync(Exception? exception)
    {
        try
        {
            Volatile.Write(ref _connectionId, null);
            await RaiseAsync(Reconnecting, exception).ConfigureAwait(false);
        }
        finally
        {
            _reconnectingHandled.Release();
        }
    }

    private async Task OnReconnectedAsync(string? transportConnectionId)
    {
        await _reconnectingHandled.WaitAsync().ConfigureAwait(false);

        // A failing user handler must not cost the rooms: rejoin first, report the handler's failure at the end.
        Exception? handlerError = null;
        try
        {
            await RaiseAsync(Reconnected, transportConnectionId).ConfigureAwait(false);
        }
        catch (AggregateException ex)
        {
            handlerError = ex;
        }

        // SignalR does not await this handler on its receive loop, so invoking the hub from here is safe.

        string[] rooms;
        lock (_gate)
        {
            rooms = _rooms.ToArray();
            _seqByRoom.Clear(); // new memberships: each rejoin's created sets its room's seq afresh
            _raisedAtSeq.Clear();
        }

        var rejoined = new List<RoomJoined>(rooms.Length);
        var failed = new Dictionary<string, Exception>(StringComparer.Ordinal);
        foreach (var room in rooms)
        {
            try
            {
                rejoined.Add(await JoinAsync(room).ConfigureAwait(false));
            }
            catch (HubException ex)
            {
                // The server refused (e.g. the room filled up meanwhile): the client is not in it any more.
                failed[room] = ex;
                lock (_gate)
                {
                    _rooms.Remove(room);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or OperationCanceledException)
            {
                // The connection dropped again; keep the room so the next reconnect retries it.
                failed[room] = ex;
            }
        }

        await RaiseAsync(RoomsRejoined, new RoomsRejoinedEventArgs(ConnectionId, rejoined, failed)).ConfigureAwait(false);
        if (handlerError is not null)
        {
            throw handlerError;
        }
    }

    private async Task OnClosedAsync(Exception? exception)
    {
        // A reconnect cycle that gave up leaves its Reconnecting signal unconsumed; drop it so that the next
        // cycle's Reconnected waits for its own Reconnecting.
        while (_reconnectingHandled.Wait(0))
        {
        }

        Volatile.Write(ref _connectionId, null);
        lock (_gate)
        {
            _rooms.Clear();
            _seqByRoom.Clear();
            _raisedAtSeq.Clear();
        }

        await RaiseAsync(Closed, exception).ConfigureAwait(false);
    }

    /// <summary>Runs every handler in turn, even when one throws; then reports the failures together.</summary>
    private static async Task RaiseAsync<T>(Func<T, Task>? handlers, T argument)
    {
        if (handlers is null)
        {
            return;
        }

        List<Exception>? errors = null;
        foreach (var handler in handlers.GetInvocationList().Cast<Func<T, Task>>())
        {
            try
            {
                await handler(argument).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                (errors ??= []).Add(ex);
            }
        }

        if (errors is not null)
        {
            throw new AggregateException("A RoomSignalClient event handler threw.", errors);
        }
    }
}
