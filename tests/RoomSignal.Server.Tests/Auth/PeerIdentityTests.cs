using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Client;
using RoomSignal.Contracts;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Auth;

/// <summary>With auth on, every peer object names the member's user (sub) and display name; with auth off nothing changes.</summary>
public sealed class PeerIdentityTests(AuthNodeFixture fixture) : IClassFixture<AuthNodeFixture>
{
    private RoomSignalNode Node => fixture.Node;

    private Task<TestPeer> ConnectAsync(string sub, string? name, string room)
        => TestPeer.ConnectAsync(Node, o => o.HubUrl = Node.HubUriWithToken(TestTokens.For(sub, [room], name)));

    [Fact]
    public async Task CreatedTheJoinResultAndJoinedCarryUserIdsAndNames()
    {
        var room = TestNames.Unique("who");
        await using var alice = await ConnectAsync("alice", "Alice A.", room);
        await using var bob = await ConnectAsync("bob", "Bob B.", room);

        var first = await alice.JoinAsync(room);
        var second = await bob.JoinAsync(room);

        Assert.Equal(("alice", "Alice A."), (first.UserId, first.Name));
        Assert.Equal(("bob", "Bob B."), (second.UserId, second.Name));
        var peer = Assert.Single(second.Peers);
        Assert.Equal((alice.Id, "alice", "Alice A."), (peer.Id, peer.UserId, peer.Name));
        var created = await bob.WaitForAsync<RoomJoined>(RoomClientEvents.Created);
        Assert.Equal(("bob", "Bob B."), (created.UserId, created.Name));
        Assert.Equal(("alice", "Alice A."), (created.Peers[0].UserId, created.Peers[0].Name));
        var joined = await alice.WaitForAsync<PeerJoined>(RoomClientEvents.Joined);
        Assert.Equal((bob.Id, "bob", "Bob B."), (joined.Id, joined.UserId, joined.Name));
        // The identity rides beside the room's change number, not instead of it.
        Assert.True(second.Seq > first.Seq, $"seq {first.Seq} then {second.Seq}");
        Assert.Equal((second.Seq, second.Seq), (created.Seq, joined.Seq));
    }

    [Fact]
    public async Task RelayedMessagesCarryTheSendersUserIdAndName()
    {
        var room = TestNames.Unique("relay");
        await using var alice = await ConnectAsync("alice", "Alice", room);
        await using var bob = await ConnectAsync("bob", null, room);
        await alice.JoinAsync(room);
        await bob.JoinAsync(room);

        await alice.Client.SendOfferAsync(bob.Id, room, "v=0 offer").Within("offer");
        await bob.Client.SendAnswerAsync(alice.Id, room, "v=0 answer").Within("answer");
        await alice.Client.SendCandidateAsync(bob.Id, room, new IceCandidate("candidate:1 1 udp 1 127.0.0.1 9 typ host", "0", 0, null)).Within("candidate");

        var offer = await bob.WaitForAsync<SdpMessage>(RoomClientEvents.Offer);
        var answer = await alice.WaitForAsync<SdpMessage>(RoomClientEvents.Answer);
        var candidate = await bob.WaitForAsync<CandidateMessage>(RoomClientEvents.Candidate);
        Assert.Equal((alice.Id, "alice", "Alice"), (offer.From, offer.UserId, offer.Name));
        Assert.Equal((bob.Id, "bob", (string?)null), (answer.From, answer.UserId, answer.Name));
        Assert.Equal((alice.Id, "alice", "Alice"), (candidate.From, candidate.UserId, candidate.Name));
    }

    [Fact]
    public async Task ExitsCarryTheDepartedUserWhetherItLeftOrDisconnected()
    {
        var room = TestNames.Unique("exit");
        await using var alice = await ConnectAsync("alice", "Alice", room);
        var bob = await ConnectAsync("bob", "Bob", room);
        await using var carol = await ConnectAsync("carol", null, room);
        await alice.JoinAsync(room);
        await bob.JoinAsync(room);
        await carol.JoinAsync(room);

        await carol.Client.ExitAsync(room).Within("carol leaving");
        await bob.DisposeAsync();

        var carolLeft = await alice.WaitForAsync<PeerExited>(RoomClientEvents.Exit, e => e.From == carol.Id);
        var bobLeft = await alice.WaitForAsync<PeerExited>(RoomClientEvents.Exit, e => e.UserId == "bob");
        Assert.Equal(("carol", (string?)null), (carolLeft.UserId, carolLeft.Name));
        Assert.Equal("Bob", bobLeft.Name);
    }

    [Fact]
    public async Task OneUserMayHoldSeveralConnectionsEachItsOwnPeer()
    {
        var room = TestNames.Unique("tabs");
        await using var tab1 = await ConnectAsync("alice", "Alice", room);
        await using var tab2 = await ConnectAsync("alice", "Alice", room);
        await tab1.JoinAsync(room);

        var second = await tab2.JoinAsync(room);

        var peer = Assert.Single(second.Peers);
        Assert.Equal(tab1.Id, peer.Id);
        Assert.NotEqual(tab1.Id, tab2.Id);
        Assert.Equal(("alice", "alice"), (second.UserId, peer.UserId));
    }

    [Fact]
    public async Task ANameIsLeftOutOfTheJsonWhenTheTokenHasNone()
    {
        var room = TestNames.Unique("json");
        var created = await RawCreatedAsync(Node.HubUriWithToken(TestTokens.For("nameless", [room])), room);

        Assert.Equal("nameless", created.GetProperty("userId").GetString());
        Assert.False(created.TryGetProperty("name", out _), created.ToString());
    }

    [Fact]
    public async Task WithAuthOffThePeerObjectsCarryNoIdentityFields()
    {
        await using var node = await RoomSignalNode.StartAsync();
        var room = TestNames.Unique("plain");
        await using var first = await TestPeer.ConnectAsync(node);
        await first.JoinAsync(room);

        var created = await RawCreatedAsync(node.HubUri, room);

        Assert.Equal(["id", "room", "peers", "seq"], created.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal(["id"], created.GetProperty("peers")[0].EnumerateObject().Select(p => p.Name).ToArray());
    }

    /// <summary>Joins <paramref name="room"/> over a bare hub connection and returns the <c>created</c> payload as the server sent it.</summary>
    private static async Task<JsonElement> RawCreatedAsync(Uri hubUri, string room)
    {
        await using var connection = TestHubConnections.Create(hubUri);
        var created = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.On<JsonElement>(RoomClientEvents.Created, e => created.TrySetResult(e.Clone()));
        await connection.StartAsync().Within("connecting");
        await connection.InvokeAsync<JsonElement>(nameof(IRoomHub.CreateAndJoinRoom), new JoinRoomRequest(room)).Within("joining");
        return await created.Task.Within("created");
    }
}
