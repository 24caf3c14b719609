using System.Diagnostics;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Contracts;

namespace RoomSignal.Testing;

/// <summary>The shape of a churn run: how many peers, how they are grouped, how long they hold and pause.</summary>
public sealed class RoomChurnOptions
{
    /// <summary>Number of peers (each one connection at a time).</summary>
    public int Peers { get; init; } = 200;

    /// <summary>Peers per room: peer <c>i</c> moves between rooms <c>i / RoomSize</c> and the next one.</summary>
    public int RoomSize { get; init; } = 4;

    /// <summary>How long the churn runs before every peer settles in a last room.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Upper bound on cycles per peer, so the run stops by itself even on a fast machine.</summary>
    public int MaxCyclesPerPeer { get; init; } = 500;

    /// <summary>Shortest and longest stay in a room.</summary>
    public (int Min, int Max) HoldMilliseconds { get; init; } = (20, 200);

    /// <summary>Longest pause between leaving and the next join.</summary>
    public int MaxPauseMilliseconds { get; init; } = 50;

    /// <summary>Share of leaves that are disconnects (the peer then connects again, to the next endpoint).</summary>
    public double DisconnectShare { get; init; } = 0.1;

    /// <summary>Seed of the random choices (per peer: seed + index), so a failing run can be repeated.</summary>
    public int Seed { get; init; } = 9;

    /// <summary>How long the views may take to match the rooms once the churn stops.</summary>
    public TimeSpan SettleTimeout { get; init; } = TimeSpan.FromSeconds(15);
}

/// <summary>What a churn run did.</summary>
/// <param name="Cycles">Join, hold, leave cycles completed.</param>
/// <param name="Disconnects">Leaves that were disconnects.</param>
/// <param name="FailedCalls">Hub calls that failed (the server refused or could not answer), by message.</param>
/// <param name="Elapsed">How long the churn ran.</param>
/// <param name="Rooms">The rooms used.</param>
public sealed record RoomChurnResult(int Cycles, int Disconnects, IReadOnlyDictionary<string, int> FailedCalls, TimeSpan Elapsed, IReadOnlyList<string> Rooms)
{
    /// <inheritdoc/>
    public override string ToString()
        => $"{Cycles} cycles ({Disconnects} by disconnect) in {Elapsed.TotalSeconds:0.0} s over {Rooms.Count} rooms; failed calls: "
            + (FailedCalls.Count == 0 ? "none" : string.Join("; ", FailedCalls.Select(f => $"{f.Value} x {f.Key}")));
}

/// <summary>
/// Runs peers that join, stay, exit or disconnect, and join again, on one or several endpoints, feeding every raw
/// membership event they receive to a <see cref="RoomViewChecker"/>; then settles every peer in a last room and
/// compares the views with the real rooms. Raw <see cref="HubConnection"/>s, not an SDK, so nothing is filtered.
/// </summary>
public sealed class RoomChurn
{
    private readonly IReadOnlyList<IRoomSignalEndpoint> _endpoints;
    private readonly RoomViewChecker _checker;
    private readonly RoomChurnOptions _options;
    private readonly string[] _rooms;
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
    private int _cycles;
    private int _disconnects;

    /// <summary>Prepares a run over <paramref name="endpoints"/> (peer <c>i</c> starts on endpoint <c>i % count</c>).</summary>
    public RoomChurn(IReadOnlyList<IRoomSignalEndpoint> endpoints, RoomViewChecker checker, RoomChurnOptions? options = null)
    {
        _endpoints = endpoints;
        _checker = checker;
        _options = options ?? new RoomChurnOptions();
        var roomCount = Math.Max(1, _options.Peers / _options.RoomSize);
        var tag = TestNames.Unique("churn");
        _rooms = Enumerable.Range(0, roomCount).Select(i => $"{tag}-{i}").ToArray();
    }

    /// <summary>The rooms the peers use.</summary>
    public IReadOnlyList<string> Rooms => _rooms;

    /// <summary>
    /// Runs the churn; <paramref name="duringChurn"/> (if given) runs alongside, from the start (e.g. waits, then
    /// kills a node). Then every peer joins a last room, and the views are compared with <paramref name="membersOf"/>
    /// until they match or <see cref="RoomChurnOptions.SettleTimeout"/> runs out; what still differs is recorded
    /// as anomalies. The peers are disconnected at the end.
    /// </summary>
    public async Task<RoomChurnResult> RunAsync(
        Func<IReadOnlyList<string>, Task<IReadOnlyDictionary<string, IReadOnlySet<string>>>> membersOf,
        Func<Task>? duringChurn = null)
    {
        var peers = new ChurnPeer[_options.Peers];
        for (var i = 0; i < peers.Length; i++)
        {
            peers[i] = new ChurnPeer(this, i);
        }

        try
        {
            foreach (var batch in peers.Chunk(25))
            {
                await Task.WhenAll(batch.Select(p => p.ConnectAsync())).Within("the churn peers to connect", TimeSpan.FromSeconds(60));
            }

            var clock = Stopwatch.StartNew();
            var end = DateTime.UtcNow + _options.Duration;
            var side = duringChurn?.Invoke() ?? Task.CompletedTask;
            await Task.WhenAll(peers.Select(p => p.ChurnAsync(end)))
                .Within("the churn to end", _options.Duration + TimeSpan.FromSeconds(90));
            var elapsed = clock.Elapsed;
            await side.Within("the work alongside the churn", TimeSpan.FromSeconds(90));

            await Task.WhenAll(peers.Select(p => p.SettleAsync())).Within("every peer to join its last room", TimeSpan.FromSeconds(60));

            // Views become exact once every event in flight has arrived.
            IReadOnlyList<ViewAnomaly> differences = [];
            var deadline = DateTime.UtcNow + _options.SettleTimeout;
            do
            {
                await Task.Delay(100);
                differences = _checker.CompareWith(await membersOf(_rooms));
            }
            while (differences.Count > 0 && DateTime.UtcNow < deadline);
            _checker.Record(differences);
            _checker.FinishResults();

            lock (_failures)
            {
                return new RoomChurnResult(_cycles, _disconnects, new Dictionary<string, int>(_failures), elapsed, _rooms);
            }
        }
        finally
        {
            await Task.WhenAll(peers.Select(p => p.DisposeAsync().AsTask()));
        }
    }

    private void Fail(Exception exception)
    {
        var message = exception is HubException ? exception.Message : exception.GetType().Name + ": " + exception.Message;
        lock (_failures)
        {
            _failures[message] = _failures.GetValueOrDefault(message) + 1;
        }
    }

    private sealed class ConnectionIdentity
    {
        public volatile string? Id;
    }

    /// <summary>One peer: one connection at a time, its events fed to the checker under the id the server gave it.</summary>
    private sealed class ChurnPeer(RoomChurn churn, int index)
    {
        private readonly Random _random = new(churn._options.Seed + index);
        private HubConnection? _connection;
        private ConnectionIdentity _self = new();
        private int _connects;

        public async Task ConnectAsync()
        {
            var endpoint = churn._endpoints[(index + _connects++) % churn._endpoints.Count];
            var connection = endpoint.CreateHubConnection();
            var checker = churn._checker;
            // Handlers run one at a time in arrival order; the id is learned from our own created, which comes first.
            // Each connection has its own id holder: a closing connection's last handlers must not use the next one's.
            var self = new ConnectionIdentity();
            connection.On<RoomJoined>(RoomClientEvents.Created, m =>
            {
                self.Id = m.Id;
                checker.OnCreated(m.Id, m);
            });
            connection.On<PeerJoined>(RoomClientEvents.Joined, m => checker.OnJoined(self.Id ?? "(no created yet)", m));
            connection.On<PeerExited>(RoomClientEvents.Exit, m => checker.OnExit(self.Id ?? "(no created yet)", m));
            _self = self;
            await connection.StartAsync();
            _connection = connection;
        }

        public async Task ChurnAsync(DateTime end)
        {
            var options = churn._options;
            for (var cycle = 0; cycle < options.MaxCyclesPerPeer && DateTime.UtcNow < end; cycle++)
            {
                if (_connection is null)
                {
                    if (!await TryAsync(ConnectAsync))
                    {
                        await Task.Delay(100);
                        continue;
                    }
                }

                var room = churn._rooms[(index / options.RoomSize + _random.Next(2)) % churn._rooms.Length];
                long? joinSeq = null;
                await TryAsync(async () => joinSeq = await JoinAsync(room));
                await Task.Delay(_random.Next(options.HoldMilliseconds.Min, options.HoldMilliseconds.Max + 1));
                if (_connection is null)
                {
                    // The server closed it meanwhile (its node died): it has left already; connect again next cycle.
                    Interlocked.Increment(ref churn._cycles);
                    continue;
                }

                if (_random.NextDouble() < options.DisconnectShare)
                {
                    await DisconnectAsync();
                    Interlocked.Increment(ref churn._disconnects);
                }
                else
                {
                    await TryAsync(async () =>
                    {
                        await _connection!.InvokeAsync(nameof(IRoomHub.Exit), new ExitRoomRequest(room));
                        if (_self.Id is { } id && joinSeq is { } seq)
                        {
                            churn._checker.OnLeft(id, room, seq);
                        }
                    });
                }

                Interlocked.Increment(ref churn._cycles);
                await Task.Delay(_random.Next(0, options.MaxPauseMilliseconds + 1));
            }
        }

        public async Task SettleAsync()
        {
            var room = churn._rooms[(index / churn._options.RoomSize) % churn._rooms.Length];
            for (var attempt = 0; attempt < 20; attempt++)
            {
                if (_connection is null && !await TryAsync(ConnectAsync))
                {
                    await Task.Delay(250);
                    continue;
                }

                if (await TryAsync(() => JoinAsync(room)))
                {
                    return;
                }

                await Task.Delay(250);
            }

            throw new InvalidOperationException($"Churn peer {index} could not join its last room {room}.");
        }

        public async ValueTask DisposeAsync()
        {
            if (_connection is { } connection)
            {
                _connection = null;
                await connection.DisposeAsync();
            }
        }

        private async Task<long> JoinAsync(string room)
        {
            var result = await _connection!.InvokeAsync<RoomJoined>(nameof(IRoomHub.CreateAndJoinRoom), new JoinRoomRequest(room));
            _self.Id = result.Id;
            churn._checker.OnJoinReturned(result.Id, result);
            return result.Seq;
        }

        private async Task DisconnectAsync()
        {
            var connection = _connection!;
            _connection = null;
            await connection.DisposeAsync();
            if (_self.Id is { } id)
            {
                churn._checker.OnDisconnected(id);
            }
        }

        private async Task<bool> TryAsync(Func<Task> call)
        {
            try
            {
                await call().WaitAsync(TimeSpan.FromSeconds(20));
                return true;
            }
            catch (Exception ex) when (ex is HubException or InvalidOperationException or IOException or TimeoutException or HttpRequestException or AggregateException
                                           or System.Net.WebSockets.WebSocketException or OperationCanceledException)
            {
                churn.Fail(ex);
                if (_connection is { State: HubConnectionState.Disconnected } dead)
                {
                    // The server closed it (a node died): this peer has left its rooms.
                    _connection = null;
                    await dead.DisposeAsync();
                    if (_self.Id is { } id)
                    {
                        churn._checker.OnDisconnected(id);
                    }
                }

                return false;
            }
        }
    }
}
