using System.Net;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RoomSignal.Contracts;
using RoomSignal.Server.Rooms;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Operations;

public sealed class OperationsTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private RoomSignalNode Node => fixture.Node;

    [Theory]
    [InlineData("healthz")]
    [InlineData("readyz")]
    public async Task HealthEndpointsAnswer200OnASingleNode(string path)
    {
        using var http = new HttpClient { BaseAddress = Node.BaseUri };

        using var response = await http.GetAsync(path).Within($"GET /{path}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync().Within("the body"));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("10001")]
    [InlineData("-3")]
    public async Task AnOutOfRangeMaxPeersStopsTheNodeFromStartingWithAMessageNamingTheKey(string value)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(
            () => RoomSignalNode.StartAsync(new Dictionary<string, string?> { ["RoomSignal:Rooms:MaxPeers"] = value }));

        Assert.Contains("RoomSignal:Rooms:MaxPeers must be between 1 and 10000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANonNumericMaxPeersStopsTheNodeFromStartingWithAMessageNamingTheKey()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => RoomSignalNode.StartAsync(new Dictionary<string, string?> { ["RoomSignal:Rooms:MaxPeers"] = "sixteen" }));

        Assert.Contains("RoomSignal:Rooms:MaxPeers", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMessageOver128KiBClosesThatConnectionOnly()
    {
        var room = TestNames.Unique("big");
        await using var big = await TestPeer.ConnectAsync(Node);
        await using var a = await TestPeer.ConnectAsync(Node);
        await using var b = await TestPeer.ConnectAsync(Node);
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        big.Client.Closed += e =>
        {
            closed.TrySetResult(e);
            return Task.CompletedTask;
        };
        var bigId = (await big.JoinAsync(room)).Id;
        await a.JoinAsync(room);
        await b.JoinAsync(room);

        // 140,000 characters of SDP: past the 128 KiB frame limit, so the server never even parses it.
        var oversized = big.Client.SendOfferAsync(a.Id, room, new string('s', 140_000));
        await Assert.ThrowsAnyAsync<Exception>(() => oversized.Within("the oversized offer to fail"));
        await closed.Task.Within("the oversized sender's connection to close");

        Assert.Equal(HubConnectionState.Disconnected, big.Client.State);
        await a.WaitForAsync<PeerExited>(RoomClientEvents.Exit, e => e.From == bigId, "the others to see the sender leave");
        Assert.DoesNotContain(a.Received, m => m.Event == RoomClientEvents.Offer);

        // The others are unaffected, and a large message under the limit still passes.
        var largest = new string('s', 65_536);
        await b.Client.SendOfferAsync(a.Id, room, largest).Within("a 64 KiB offer");
        var offer = await a.WaitForAsync<SdpMessage>(RoomClientEvents.Offer, because: "the 64 KiB offer");
        Assert.Equal(largest, offer.Sdp);
    }

    [Fact]
    public async Task AnUnexpectedServerFailureReachesTheClientWithoutDetailsAndIsLogged()
    {
        var logs = new CapturingLoggerProvider();
        await using var node = await RoomSignalNode.StartAsync(configureServices: services =>
        {
            services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs);
            services.AddSingleton<IRoomStore, FailingJoinRoomStore>();
        });
        await using var peer = await TestPeer.ConnectAsync(node);

        var error = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(
            () => peer.Client.JoinAsync(TestNames.Unique("boom")).Within("the failing join"));

        Assert.Equal("An unexpected error occurred invoking 'CreateAndJoinRoom' on the server.", error.Message);
        Assert.DoesNotContain(FailingJoinRoomStore.Secret, error.Message, StringComparison.Ordinal);
        await Eventually.UntilAsync(
            () => logs.Entries.Any(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Error && e.Exception?.Message == FailingJoinRoomStore.Secret),
            "the failure to be logged with its exception");
        var entry = logs.Entries.First(e => e.Exception?.Message == FailingJoinRoomStore.Secret);
        Assert.Contains("CreateAndJoinRoom", entry.Message, StringComparison.Ordinal);

        // The connection survives: a call that does not touch the failing path still works.
        await peer.Client.ExitAsync("any-room").Within("an exit after the failure");
        Assert.Equal(HubConnectionState.Connected, peer.Client.State);
    }

    /// <summary>The in-memory store, except that joining fails with an exception carrying internal details.</summary>
    private sealed class FailingJoinRoomStore : IRoomStore
    {
        public const string Secret = "internal detail: redis://admin:hunter2@10.0.0.5";

        private readonly InMemoryRoomStore _inner = new(new NoEvents());

        public ValueTask<RoomJoinResult> JoinAsync(string room, string connectionId, int capacity, CancellationToken cancellationToken = default)
            => throw new InvalidOperationException(Secret);

        public ValueTask<IReadOnlyList<string>?> LeaveAsync(string room, string connectionId, CancellationToken cancellationToken = default)
            => _inner.LeaveAsync(room, connectionId, cancellationToken);

        public ValueTask<IReadOnlyList<RoomDeparture>> LeaveAllAsync(string connectionId, CancellationToken cancellationToken = default)
            => _inner.LeaveAllAsync(connectionId, cancellationToken);

        public ValueTask<bool> AreMembersAsync(string room, string firstConnectionId, string secondConnectionId, CancellationToken cancellationToken = default)
            => _inner.AreMembersAsync(room, firstConnectionId, secondConnectionId, cancellationToken);

        private sealed class NoEvents : RoomSignal.Server.Rooms.Events.IRoomEventSink
        {
            public Task Enqueue(RoomSignal.Server.Rooms.Events.RoomEvent roomEvent) => Task.CompletedTask;
        }
    }
}
