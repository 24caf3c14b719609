using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using RoomSignal.Client;
using RoomSignal.Contracts;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Client;

public sealed class RoomSignalClientTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private RoomSignalNode Node => fixture.Node;

    [Fact]
    public async Task AfterAnAutomaticReconnectTheClientRejoinsEveryRoomItWasInButNotTheOnesItLeft()
    {
        var red = TestNames.Unique("red");
        var blue = TestNames.Unique("blue");
        var left = TestNames.Unique("left");
        await using var network = TcpProxy.Start(Node);
        // Without stateful reconnect every drop is a new connection: the path a longer loss takes.
        await using var roamer = await TestPeer.ConnectAsync(Node, o =>
        {
            o.HubUrl = network.HubUri;
            o.StatefulReconnect = false;
            o.AutomaticReconnect = true;
            o.ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(500)];
        });
        var events = new List<string>();
        var rejoined = new TaskCompletionSource<RoomsRejoinedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        roamer.Client.Reconnecting += _ => Note(events, "reconnecting");
        roamer.Client.Reconnected += _ => Note(events, "reconnected");
        roamer.Client.Reconnected += _ => throw new InvalidOperationException("A careless handler must not cost the client its rooms.");
        roamer.Client.RoomsRejoined += e =>
        {
            rejoined.TrySetResult(e);
            return Note(events, "rejoined");
        };
        await using var inRed = await TestPeer.ConnectAsync(Node);
        await using var inBlue = await TestPeer.ConnectAsync(Node);
        await using var inLeft = await TestPeer.ConnectAsync(Node);
        var oldId = (await roamer.JoinAsync(red)).Id;
        await roamer.JoinAsync(blue);
        await roamer.JoinAsync(left);
        await roamer.Client.ExitAsync(left).Within("leaving one room");
        await inRed.JoinAsync(red);
        await inBlue.JoinAsync(blue);
        await inLeft.JoinAsync(left);

        network.Cut();
        var result = await rejoined.Task.Within("the client to reconnect and rejoin");

        var newId = roamer.Id;
        Assert.NotEqual(oldId, newId);
        Assert.Equal(newId, result.ConnectionId);
        Assert.Empty(result.Failed);
        Assert.Equal(new[] { blue, red }.Order(StringComparer.Ordinal), result.Rejoined.Select(r => r.Room).Order(StringComparer.Ordinal));
        Assert.Equal([inRed.Id], result.Rejoined.Single(r => r.Room == red).Peers.Select(p => p.Id));
        Assert.Equal([inBlue.Id], result.Rejoined.Single(r => r.Room == blue).Peers.Select(p => p.Id));
        Assert.Equal(["reconnecting", "reconnected", "rejoined"], events);
        Assert.Equal(new[] { blue, red }.Order(StringComparer.Ordinal), roamer.Client.Rooms.Order(StringComparer.Ordinal));

        // The members saw the old id leave and the new one join, and relays work both ways with the new id.
        await inRed.WaitForAsync<PeerExited>(RoomClientEvents.Exit, e => e.From == oldId, "red to see the old id exit");
        await inRed.WaitForAsync<PeerJoined>(RoomClientEvents.Joined, j => j.Id == newId, "red to see the new id join");
        await inRed.Client.SendOfferAsync(newId, red, "v=0 welcome back").Within("an offer to the new id");
        await roamer.WaitForAsync<SdpMessage>(RoomClientEvents.Offer, o => o.Sdp == "v=0 welcome back", "the offer");
        await roamer.Client.SendAnswerAsync(inBlue.Id, blue, "v=0 hello blue").Within("an answer from the new id");
        Assert.Equal(newId, (await inBlue.WaitForAsync<SdpMessage>(RoomClientEvents.Answer)).From);

        // The room it had left is not rejoined: its member hears nothing of the new id.
        await using var late = await TestPeer.ConnectAsync(Node);
        Assert.Equal([inLeft.Id], (await late.JoinAsync(left)).Peers.Select(p => p.Id));
        Assert.DoesNotContain(inLeft.All<PeerJoined>(RoomClientEvents.Joined), j => j.Id == newId);
    }

    [Fact]
    public async Task WhenTheServerRestartsOnTheSameAddressTheClientReconnectsAndRejoinsItsRooms()
    {
        var room = TestNames.Unique("restart");
        var address = new Dictionary<string, string?> { ["urls"] = $"http://127.0.0.1:{RedisServer.FreePort()}" };
        await using var before = await RoomSignalNode.StartAsync(address);
        await using var roamer = await TestPeer.ConnectAsync(before, o =>
        {
            o.AutomaticReconnect = true;
            o.ReconnectDelays = [TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)];
        });
        var rejoined = new TaskCompletionSource<RoomsRejoinedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        roamer.Client.RoomsRejoined += e =>
        {
            rejoined.TrySetResult(e);
            return Task.CompletedTask;
        };
        var oldId = (await roamer.JoinAsync(room)).Id;

        await before.DisposeAsync();
        await using var after = await RoomSignalNode.StartAsync(address);
        var result = await rejoined.Task.Within("the client to find the restarted server and rejoin");

        var back = Assert.Single(result.Rejoined);
        Assert.Equal(room, back.Room);
        Assert.Empty(back.Peers);
        Assert.NotEqual(oldId, back.Id);
        await using var newcomer = await TestPeer.ConnectAsync(after);
        Assert.Equal([back.Id], (await newcomer.JoinAsync(room)).Peers.Select(p => p.Id));
    }

    [Fact]
    public async Task ARoomThatFilledUpDuringTheOutageIsReportedAsFailedAndForgotten()
    {
        await using var node = await RoomSignalNode.StartAsync(new Dictionary<string, string?> { ["RoomSignal:Rooms:MaxPeers"] = "2" });
        var room = TestNames.Unique("taken");
        await using var network = TcpProxy.Start(node);
        await using var roamer = await TestPeer.ConnectAsync(node, o =>
        {
            o.HubUrl = network.HubUri;
            o.StatefulReconnect = false;
            o.AutomaticReconnect = true;
            o.ReconnectDelays = [TimeSpan.Zero];
        });
        var rejoined = new TaskCompletionSource<RoomsRejoinedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        roamer.Client.RoomsRejoined += e =>
        {
            rejoined.TrySetResult(e);
            return Task.CompletedTask;
        };
        await using var stayer = await TestPeer.ConnectAsync(node);
        await using var newcomer = await TestPeer.ConnectAsync(node);
        var oldId = (await roamer.JoinAsync(room)).Id;
        await stayer.JoinAsync(room);

        network.Hold();
        network.Cut();
        await stayer.WaitForAsync<PeerExited>(RoomClientEvents.Exit, e => e.From == oldId, "the server to drop the roamer");
        await newcomer.JoinAsync(room);
        network.Restore();
        var result = await rejoined.Task.Within("the rejoin attempt");

        Assert.Empty(result.Rejoined);
        var failure = Assert.IsType<HubException>(Assert.Single(result.Failed, f => f.Key == room).Value);
        Assert.Equal($"room: '{room}' is full (at most 2 members)", failure.Message);
        Assert.Empty(roamer.Client.Rooms);
        Assert.Equal(HubConnectionState.Connected, roamer.Client.State);
    }

    [Fact]
    public async Task WithoutAutomaticReconnectAClientThatCannotResumeClosesAndForgetsItsRooms()
    {
        var room = TestNames.Unique("noretry");
        await using var network = TcpProxy.Start(Node);
        await using var client = await TestPeer.ConnectAsync(Node, o => o.HubUrl = network.HubUri);
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Client.Closed += e =>
        {
            closed.TrySetResult(e);
            return Task.CompletedTask;
        };
        await client.JoinAsync(room);

        // The network stays down, so the stateful resume fails too.
        network.Refuse(true);
        network.Cut();
        await closed.Task.Within("the client to close");

        Assert.Equal(HubConnectionState.Disconnected, client.Client.State);
        Assert.Empty(client.Client.Rooms);
        Assert.Null(client.Client.ConnectionId);
    }

    [Fact]
    public async Task AClientOverAUserBuiltHubConnectionJoinsRelaysAndLeavesTheConnectionToItsOwner()
    {
        var room = TestNames.Unique("own");
        await using var connection = Node.CreateHubConnection(b => b.WithAutomaticReconnect());
        var own = await TestPeer.ConnectAsync(connection);
        await using var other = await TestPeer.ConnectAsync(Node);
        var ownId = (await own.JoinAsync(room)).Id;
        await other.JoinAsync(room);

        await own.Client.SendOfferAsync(other.Id, room, "v=0 from a custom connection").Within("the offer");
        await other.Client.SendAnswerAsync(ownId, room, "v=0 back").Within("the answer");
        await other.Client.SendCandidateAsync(ownId, room, new IceCandidate("", null, null, null)).Within("the candidate");

        Assert.Equal(ownId, (await other.WaitForAsync<SdpMessage>(RoomClientEvents.Offer)).From);
        await own.WaitForAsync<SdpMessage>(RoomClientEvents.Answer, a => a.Sdp == "v=0 back", "the answer");
        await own.WaitForAsync<CandidateMessage>(RoomClientEvents.Candidate, because: "the candidate");
        await own.WaitForAsync<PeerJoined>(RoomClientEvents.Joined, j => j.Id == other.Id, "the other's joined");
        var refused = await Assert.ThrowsAsync<HubException>(() => own.Client.JoinAsync("bad room").Within("a refused join"));
        Assert.Equal("room: must be 1-64 characters of A-Z a-z 0-9 _ . : -", refused.Message);

        await own.DisposeAsync();
        Assert.Equal(HubConnectionState.Connected, connection.State);
        await other.Client.SendOfferAsync(ownId, room, "v=0 after dispose").Within("an offer to the still-open connection");
    }

    [Fact]
    public async Task TheClientAcceptsAWsHubUrlAsWellAsAnHttpOne()
    {
        await using var client = new RoomSignalClient(new UriBuilder(Node.HubUri) { Scheme = "ws" }.Uri);
        await client.StartAsync().Within("connecting");

        var joined = await client.JoinAsync(TestNames.Unique("http")).Within("joining");

        Assert.Equal(joined.Id, client.ConnectionId);
        Assert.Equal(joined.Id, client.Connection.ConnectionId);
        Assert.Equal(HubConnectionState.Connected, client.State);
    }

    [Fact]
    public async Task TheClientDropsStaleAndDuplicateMembershipEventsBySeqAndExposesTheRoomsSeq()
    {
        var room = TestNames.Unique("seq");
        await using var peer = await TestPeer.ConnectAsync(Node);
        var joined = await peer.JoinAsync(room);
        Assert.Equal(1, joined.Seq);
        await Eventually.UntilAsync(() => peer.Client.GetRoomSeq(room) == 1, "the created to set the room's seq");
        var hub = Node.Services.GetRequiredService<IHubContext<RoomSignal.Server.Hubs.RoomHub>>();
        var client = hub.Clients.Client(joined.Id);

        // As a server would send them after a recovery or a duplicate delivery: older, equal, newer, repeated.
        await client.SendAsync(RoomClientEvents.Joined, new PeerJoined("stale", room, 1)).Within("a stale joined");
        await client.SendAsync(RoomClientEvents.Joined, new PeerJoined("new", room, 5)).Within("a new joined");
        await client.SendAsync(RoomClientEvents.Joined, new PeerJoined("new", room, 5)).Within("the same joined again");
        await client.SendAsync(RoomClientEvents.Exit, new PeerExited("new", room, 4)).Within("an exit older than it");
        await client.SendAsync(RoomClientEvents.Exit, new PeerExited("new", room, 6)).Within("the new exit");
        // A recovery sends the difference under the room's current seq: another change at 6 is news, its repeat is not.
        await client.SendAsync(RoomClientEvents.Joined, new PeerJoined("recovered", room, 6)).Within("a recovery's joined at the same seq");
        await client.SendAsync(RoomClientEvents.Joined, new PeerJoined("recovered", room, 6)).Within("that joined again");
        await client.SendAsync(RoomClientEvents.Exit, new PeerExited("new", room, 6)).Within("the exit at 6 again");
        await client.SendAsync(RoomClientEvents.Exit, new PeerExited("unnumbered", room)).Within("an exit from a server without seq");

        await peer.WaitForAsync<PeerExited>(RoomClientEvents.Exit, e => e.From == "unnumbered");
        Assert.Equal([new PeerJoined("new", room, 5), new PeerJoined("recovered", room, 6)], peer.All<PeerJoined>(RoomClientEvents.Joined));
        Assert.Equal([new PeerExited("new", room, 6), new PeerExited("unnumbered", room)], peer.All<PeerExited>(RoomClientEvents.Exit));
        Assert.Equal(6, peer.Client.GetRoomSeq(room));

        await peer.Client.ExitAsync(room).Within("leaving");
        Assert.Null(peer.Client.GetRoomSeq(room));
    }

    [Fact]
    public async Task TheClientAlsoReceivesEventsSentWithLowerCaseNames()
    {
        var room = TestNames.Unique("lower");
        await using var peer = await TestPeer.ConnectAsync(Node);
        var id = (await peer.JoinAsync(room)).Id;
        var hub = Node.Services.GetRequiredService<IHubContext<RoomSignal.Server.Hubs.RoomHub>>();

        // The contract spells the events in lower case; our server sends "Offer", another might send "offer".
        await hub.Clients.Client(id).SendAsync("offer", new SdpMessage("someone", id, room, "v=0 lower")).Within("a lower-case offer");
        await hub.Clients.Client(id).SendAsync("exit", new PeerExited("someone", room)).Within("a lower-case exit");

        Assert.Equal("v=0 lower", (await peer.WaitForAsync<SdpMessage>(RoomClientEvents.Offer)).Sdp);
        Assert.Equal(new PeerExited("someone", room), await peer.WaitForAsync<PeerExited>(RoomClientEvents.Exit));
    }

    [Fact]
    public void OptionsWithoutAHubUrlAreRejectedUpFront()
    {
        var error = Assert.Throws<ArgumentException>(() => new RoomSignalClient(new RoomSignalClientOptions()));
        Assert.Contains("HubUrl", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoppingTheClientTellsTheOtherMembers()
    {
        var room = TestNames.Unique("stop");
        await using var leaver = await TestPeer.ConnectAsync(Node);
        await using var stayer = await TestPeer.ConnectAsync(Node);
        var leaverId = (await leaver.JoinAsync(room)).Id;
        await stayer.JoinAsync(room);

        await leaver.Client.StopAsync().Within("stopping");

        Assert.Equal(new PeerExited(leaverId, room, 3), await stayer.WaitForAsync<PeerExited>(RoomClientEvents.Exit));
        Assert.Empty(leaver.Client.Rooms);
    }

    private static Task Note(List<string> events, string what)
    {
        lock (events)
        {
            events.Add(what);
        }

        return Task.CompletedTask;
    }
}
