using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
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
/// After an automatic reconnect the server knows the client by a new connection id; the client then rejoins every
/// room it was in and raises <see cref="RoomsRejoined"/>. The other members see the old id exit and the new id join.
/// </para>
/// </remarks>
public sealed class RoomSignalClient : IAsyncDisposable
{
    private readonly HubConnection _connection;
    private readonly bool _ownsConnection;
    private readonly List<IDisposable> _subscriptions = [];
    private readonly Lock _gate = new();
    private readonly HashSet<string> _rooms = new(StringComparer.Ordinal);
    // SignalR raises Reconnecting and Reconnected as separate fire-and-forget work items, so in a busy process the
    // second could run first. Each Reconnecting handler releases this once; each Reconnected handler waits for it.
    private readonly SemaphoreSlim _reconnectingHandled = new(0);
    private string? _connectionId;
    private int _disposed;

    /// <summary>Creates a client that connects to <paramref name="hubUrl"/> with the default options.</summary>
    /// <param name="hubUrl">The hub address, e.g. <c>ws://localhost:5000/hubs/room</c>.</param>
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
    /// Creates a client over a <see cref="HubConnection"/> you built yourself, for instance with the full
    /// SignalR client package (negotiation, long polling) where it is available. The connection must point at the
    /// RoomSignal hub and use the JSON protocol. If it was built with automatic reconnect, the client rejoins its
    /// rooms after each reconnect. Disposing the client leaves the connection to you: dispose it yourself.
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

        Subscribe<RoomJoined>(RoomClientEvents.Created, m => RaiseAsync(Created, m));
        Subscribe<PeerJoined>(RoomClientEvents.Joined, m => RaiseAsync(Joined, m));
        Subscribe<SdpMessage>(RoomClientEvents.Offer, m => RaiseAsync(Offer, m));
        Subscribe<SdpMessage>(RoomClientEvents.Answer, m => RaiseAsync(Answer, m));
        Subscribe<CandidateMessage>(RoomClientEvents.Candidate, m => RaiseAsync(Candidate, m));
        Subscribe<PeerExited>(RoomClientEvents.Exit, m => RaiseAsync(Exit, m));

        _connection.Reconnecting += OnReconnectingAsync;
        _connection.Reconnected += OnReconnectedAsync;
        _connection.Closed += OnClosedAsync;
    }

    /// <summary>The caller itself joined a room (also after a rejoin); same payload as <see cref="JoinAsync"/> returns.</summary>
    public event Func<RoomJoined, Task>? Created;

    /// <summary>Another connection joined one of this client's rooms.</summary>
    public event Func<PeerJoined, Task>? Joined;

    /// <summary>An SDP offer from another member.</summary>
    public event Func<SdpMessage, Task>? Offer;

    /// <summary>An SDP answer from another member.</summary>
    public event Func<SdpMessage, Task>? Answer;

    /// <summary>An ICE candidate from another member.</summary>
    public event Func<CandidateMessage, Task>? Candidate;

    /// <summary>A member left one of this client's rooms (explicitly or by disconnecting).</summary>
    public event Func<PeerExited, Task>? Exit;

    /// <summary>The connection dropped and the client is trying to reconnect; the argument is the cause, if any.</summary>
    public event Func<Exception?, Task>? Reconnecting;

    /// <summary>
    /// The client reconnected. The server knows it by a new connection id, learned when the rooms are rejoined
    /// (see <see cref="RoomsRejoined"/>, raised next). The argument is the id SignalR reports for the new
    /// transport, which is not that server id; most handlers ignore it.
    /// </summary>
    public event Func<string?, Task>? Reconnected;

    /// <summary>After a reconnect, the client rejoined the rooms it was in: the new results, and the rooms it lost.</summary>
    public event Func<RoomsRejoinedEventArgs, Task>? RoomsRejoined;

    /// <summary>The connection closed for good (stopped, or reconnecting gave up); the argument is the cause, if any.</summary>
    public event Func<Exception?, Task>? Closed;

    /// <summary>
    /// The id the server knows this client by, which other members see as <c>from</c> and use as <c>to</c>.
    /// The server reports it when a room is joined, so it is <see langword="null"/> until the first join on the
    /// current connection, and changes after a reconnect.
    /// </summary>
    public string? ConnectionId => Volatile.Read(ref _connectionId);

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

        var builder = new HubConnectionBuilder();
        builder.WithWebSocketUrl(options.HubUrl, options.ConfigureWebSocket);
        if (options.AutomaticReconnect)
        {
            builder.WithAutomaticReconnect(options.ReconnectDelays.ToArray());
        }

        options.ConfigureConnection?.Invoke(builder);
        return builder.Build();
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
