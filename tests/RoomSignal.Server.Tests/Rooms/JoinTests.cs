using Microsoft.AspNetCore.SignalR;
using RoomSignal.Contracts;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Rooms;

public sealed class JoinTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private RoomSignalNode Node => fixture.Node;

    [Fact]
    public async Task JoiningAnEmptyRoomReturnsNoPeersAndSendsCreatedToTheCaller()
    {
        var room = TestNames.Unique("empty");
        await using var a = await TestPeer.ConnectAsync(Node);

        var joined = await a.JoinAsync(room);

        Assert.Equal(room, joined.Room);
        Assert.Empty(joined.Peers);
        Assert.False(string.IsNullOrEmpty(joined.Id));
        var created = await a.WaitForAsync<RoomJoined>(RoomClientEvents.Created, because: "created for the caller");
        Assert.Equal(joined.Id, created.Id);
        Assert.Equal(room, created.Room);
        Assert.Empty(created.Peers);
        Assert.Equal((1L, 1L), (joined.Seq, created.Seq));
    }

    [Fact]
    public async Task JoiningListsTheMembersAlreadyThereAndTellsEachOfThemOnce()
    {
        var room = TestNames.Unique("list");
        await using var a = await TestPeer.ConnectAsync(Node);
        await using var b = await TestPeer.ConnectAsync(Node);
        await using var c = await TestPeer.ConnectAsync(Node);
        var first = await a.JoinAsync(room);
        var second = await b.JoinAsync(room);

        var third = await c.JoinAsync(room);

        Assert.Equal([first.Id], second.Peers.Select(p => p.Id));
        Assert.Equal(new[] { first.Id, second.Id }.Order(), third.Peers.Select(p => p.Id).Order());
        await a.WaitForAsync<PeerJoined>(RoomClientEvents.Joined, j => j.Id == third.Id, "a to hear that c joined");
        await b.WaitForAsync<PeerJoined>(RoomClientEvents.Joined, j => j.Id == third.Id, "b to hear that c joined");
        // Each change of the room has the room's next seq: a joined at 1, b at 2, c at 3.
        Assert.Equal((1L, 2L, 3L), (first.Seq, second.Seq, third.Seq));
        Assert.Equal([new PeerJoined(second.Id, room, 2), new PeerJoined(third.Id, room, 3)], a.All<PeerJoined>(RoomClientEvents.Joined));
        Assert.Equal([new PeerJoined(third.Id, room, 3)], b.All<PeerJoined>(RoomClientEvents.Joined));
        Assert.Empty(c.All<PeerJoined>(RoomClientEvents.Joined));
    }

    [Fact]
    public async Task JoiningARoomAgainReturnsTheCurrentPeersAndSendsNoSecondJoined()
    {
        var room = TestNames.Unique("again");
        await using var a = await TestPeer.ConnectAsync(Node);
        await using var b = await TestPeer.ConnectAsync(Node);
        var first = await a.JoinAsync(room);
        var second = await b.JoinAsync(room);

        var again = await b.JoinAsync(room);

        Assert.Equal(second.Id, again.Id);
        Assert.Equal([first.Id], again.Peers.Select(p => p.Id));

        // Positive control: a third joiner is announced, and by then a has seen exactly one joined for b.
        await using var c = await TestPeer.ConnectAsync(Node);
        var third = await c.JoinAsync(room);
        Assert.Equal(2, third.Peers.Count);
        await a.WaitForAsync<PeerJoined>(RoomClientEvents.Joined, j => j.Id == third.Id, "a to hear that c joined");
        Assert.Equal([second.Id, third.Id], a.All<PeerJoined>(RoomClientEvents.Joined).Select(j => j.Id));
    }

    [Fact]
    public async Task OneConnectionCanBeInTwoRoomsAtOnce()
    {
        var red = TestNames.Unique("red");
        var blue = TestNames.Unique("blue");
        await using var hub = await TestPeer.ConnectAsync(Node);
        await using var r = await TestPeer.ConnectAsync(Node);
        await using var b = await TestPeer.ConnectAsync(Node);
        await hub.JoinAsync(red);
        var inBlue = await hub.JoinAsync(blue);
        var rJoined = await r.JoinAsync(red);
        var bJoined = await b.JoinAsync(blue);

        await hub.Client.SendOfferAsync(rJoined.Id, red, "v=0 red").Within("offer in red");
        await hub.Client.SendOfferAsync(bJoined.Id, blue, "v=0 blue").Within("offer in blue");

        Assert.Equal("v=0 red", (await r.WaitForAsync<SdpMessage>(RoomClientEvents.Offer)).Sdp);
        Assert.Equal("v=0 blue", (await b.WaitForAsync<SdpMessage>(RoomClientEvents.Offer)).Sdp);
        Assert.Equal([inBlue.Id], bJoined.Peers.Select(p => p.Id));

        // Leaving one room leaves the other intact.
        await hub.Client.ExitAsync(red).Within("exit red");
        await r.WaitForAsync<PeerExited>(RoomClientEvents.Exit, e => e.From == inBlue.Id && e.Room == red, "r to see hub leave red");
        await hub.Client.SendAnswerAsync(bJoined.Id, blue, "v=0 still blue").Within("answer in blue");
        Assert.Equal("v=0 still blue", (await b.WaitForAsync<SdpMessage>(RoomClientEvents.Answer)).Sdp);
        Assert.Empty(b.All<PeerExited>(RoomClientEvents.Exit));
    }

    [Fact]
    public async Task AFullRoomRefusesTheNextJoinerAndNobodyHearsOfIt()
    {
        await using var node = await RoomSignalNode.StartAsync(new Dictionary<string, string?> { ["RoomSignal:Rooms:MaxPeers"] = "2" });
        var room = TestNames.Unique("full");
        await using var a = await TestPeer.ConnectAsync(node);
        await using var b = await TestPeer.ConnectAsync(node);
        await using var c = await TestPeer.ConnectAsync(node);
        await a.JoinAsync(room);
        await b.JoinAsync(room);

        var error = await Assert.ThrowsAsync<HubException>(() => c.JoinAsync(room));

        Assert.Equal($"room: '{room}' is full (at most 2 members)", error.Message);
        Assert.Empty(c.All<RoomJoined>(RoomClientEvents.Created));

        // Positive control: once b leaves there is a seat, and c's join is then announced to a, as the only joined after b.
        await b.Client.ExitAsync(room).Within("b to leave");
        var joined = await c.JoinAsync(room);
        await a.WaitForAsync<PeerJoined>(RoomClientEvents.Joined, j => j.Id == joined.Id, "a to hear that c joined");
        Assert.Equal(2, a.All<PeerJoined>(RoomClientEvents.Joined).Count);
    }

    [Fact]
    public async Task ManyConcurrentJoinersNeverOverfillARoom()
    {
        await using var node = await RoomSignalNode.StartAsync(new Dictionary<string, string?> { ["RoomSignal:Rooms:MaxPeers"] = "5" });
        var room = TestNames.Unique("crowd");
        var peers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => TestPeer.ConnectAsync(node)));
        try
        {
            var attempts = await Task.WhenAll(peers.Select(async p =>
            {
                try
                {
                    return (Joined: await p.JoinAsync(room), Error: (HubException?)null);
                }
                catch (HubException ex)
                {
                    return (Joined: (RoomJoined?)null, Error: ex);
                }
            }));

            var admitted = attempts.Where(a => a.Joined is not null).Select(a => a.Joined!).ToArray();
            Assert.Equal(5, admitted.Length);
            Assert.All(attempts.Where(a => a.Error is not null), a => Assert.Equal($"room: '{room}' is full (at most 5 members)", a.Error!.Message));
            // Joins were ordered: the admitted saw 0, 1, 2, 3 and 4 peers.
            Assert.Equal([0, 1, 2, 3, 4], admitted.Select(j => j.Peers.Count).Order());
        }
        finally
        {
            foreach (var peer in peers)
            {
                await peer.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task TwoClientsJoiningAtTheSameMomentExactlyOneSeesTheOther()
    {
        const int pairs = 20;
        var races = await Task.WhenAll(Enumerable.Range(0, pairs).Select(async i =>
        {
            var room = TestNames.Unique($"race{i}");
            var a = await TestPeer.ConnectAsync(Node);
            var b = await TestPeer.ConnectAsync(Node);
            var results = await Task.WhenAll(a.JoinAsync(room), b.JoinAsync(room));
            return (Room: room, A: a, B: b, JoinA: results[0], JoinB: results[1]);
        }));

        try
        {
            foreach (var race in races)
            {
                var aSeesB = race.JoinA.Peers.Any(p => p.Id == race.JoinB.Id);
                var bSeesA = race.JoinB.Peers.Any(p => p.Id == race.JoinA.Id);
                Assert.True(aSeesB ^ bSeesA, $"In {race.Room} exactly one joiner must list the other (a sees b: {aSeesB}, b sees a: {bSeesA}).");

                // The one that listed nobody is told about the other.
                var (first, second) = aSeesB ? (race.B, race.JoinA) : (race.A, race.JoinB);
                await first.WaitForAsync<PeerJoined>(RoomClientEvents.Joined, j => j.Id == second.Id && j.Room == race.Room, $"the first joiner of {race.Room} to hear of the second");
            }

            foreach (var race in races)
            {
                // And the one that listed the other got no joined for it.
                var (second, firstId) = race.JoinA.Peers.Count > 0 ? (race.A, race.JoinB.Id) : (race.B, race.JoinA.Id);
                Assert.DoesNotContain(second.All<PeerJoined>(RoomClientEvents.Joined), j => j.Id == firstId);
            }
        }
        finally
        {
            foreach (var race in races)
            {
                await race.A.DisposeAsync();
                await race.B.DisposeAsync();
            }
        }
    }
}
