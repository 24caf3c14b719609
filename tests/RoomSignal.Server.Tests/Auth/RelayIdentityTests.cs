using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Contracts;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Auth;

/// <summary>
/// With auth on, a relayed message names its sender as the server knows it (connection id, and the user id and
/// name of its token) whatever the client wrote into the message, and the same-room rule still holds.
/// The auth-off versions are in <c>Relay/RelayTests</c>.
/// </summary>
public sealed class RelayIdentityTests(AuthNodeFixture fixture) : IClassFixture<AuthNodeFixture>
{
    private static readonly IceCandidate SampleCandidate =
        new("candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host", "0", 0, "abcd");

    private RoomSignalNode Node => fixture.Node;

    private Task<TestPeer> ConnectAsync(string sub, string? name, params string[] rooms)
        => TestPeer.ConnectAsync(Node, o => o.HubUrl = Node.HubUriWithToken(TestTokens.For(sub, rooms, name)));

    [Fact]
    public async Task AnOfferAnswerOrCandidateClaimingAnotherMembersIdentityReachesTheTargetWithTheSendersOwn()
    {
        var room = TestNames.Unique("forge");
        await using var alice = await ConnectAsync("alice", "Alice", room);
        await using var bob = await ConnectAsync("bob", "Bob", room);
        var aliceId = (await alice.JoinAsync(room)).Id;
        var bobId = (await bob.JoinAsync(room)).Id;
        // Mallory holds a valid token for the room and writes Alice's connection id, user id and name into
        // every message, hoping Bob will take it for Alice's.
        await using var mallory = TestHubConnections.Create(Node.HubUriWithToken(TestTokens.For("mallory", [room], "Mallory")));
        await mallory.StartAsync().Within("mallory connecting");
        var malloryId = (await mallory.InvokeAsync<RoomJoined>(nameof(IRoomHub.CreateAndJoinRoom), new JoinRoomRequest(room)).Within("mallory joining")).Id;
        var forged = new { from = aliceId, userId = "alice", name = "Alice" };

        await mallory.InvokeAsync(nameof(IRoomHub.Offer), new { to = bobId, room, sdp = "v=0 forged offer", forged.from, forged.userId, forged.name }).Within("forged offer");
        await mallory.InvokeAsync(nameof(IRoomHub.Answer), new { to = bobId, room, sdp = "v=0 forged answer", forged.from, forged.userId, forged.name }).Within("forged answer");
        await mallory.InvokeAsync(nameof(IRoomHub.Candidate), new
        {
            to = bobId, room, forged.from, forged.userId, forged.name,
            candidate = new { candidate = SampleCandidate.Candidate, sdpMid = SampleCandidate.SdpMid, sdpMLineIndex = SampleCandidate.SdpMLineIndex, usernameFragment = SampleCandidate.UsernameFragment },
        }).Within("forged candidate");

        var offer = await bob.WaitForAsync<SdpMessage>(RoomClientEvents.Offer, because: "mallory's offer");
        var answer = await bob.WaitForAsync<SdpMessage>(RoomClientEvents.Answer, because: "mallory's answer");
        var candidate = await bob.WaitForAsync<CandidateMessage>(RoomClientEvents.Candidate, because: "mallory's candidate");
        Assert.Equal(new SdpMessage(malloryId, bobId, room, "v=0 forged offer") { UserId = "mallory", Name = "Mallory" }, offer);
        Assert.Equal(new SdpMessage(malloryId, bobId, room, "v=0 forged answer") { UserId = "mallory", Name = "Mallory" }, answer);
        Assert.Equal(new CandidateMessage(malloryId, bobId, room, SampleCandidate) { UserId = "mallory", Name = "Mallory" }, candidate);
    }

    [Fact]
    public async Task AnOfferCarryingAnotherUsersUserIdReachesTheTargetWithTheUserIdOfTheSendersToken()
    {
        var room = TestNames.Unique("forge-user");
        await using var bob = await ConnectAsync("bob", "Bob", room);
        var bobId = (await bob.JoinAsync(room)).Id;
        // No name in this token: a forged name must not fill the gap either.
        await using var mallory = TestHubConnections.Create(Node.HubUriWithToken(TestTokens.For("mallory", [room])));
        await mallory.StartAsync().Within("mallory connecting");
        var malloryId = (await mallory.InvokeAsync<RoomJoined>(nameof(IRoomHub.CreateAndJoinRoom), new JoinRoomRequest(room)).Within("mallory joining")).Id;

        await mallory.InvokeAsync(nameof(IRoomHub.Offer), new { to = bobId, room, sdp = "v=0 as admin", userId = "admin", name = "The Administrator" }).Within("offer with a forged user id");

        var offer = await bob.WaitForAsync<SdpMessage>(RoomClientEvents.Offer, because: "mallory's offer");
        Assert.Equal((malloryId, "mallory", (string?)null), (offer.From, offer.UserId, offer.Name));
    }

    [Fact]
    public async Task ARelayToAMemberOfARoomTheSenderIsNotInIsRefusedAndNotDelivered()
    {
        var mine = TestNames.Unique("mine");
        var theirs = TestNames.Unique("theirs");
        // The sender's token allows both rooms, so only the membership rule stands between it and the target.
        await using var sender = await ConnectAsync("sender", null, mine, theirs);
        await using var target = await ConnectAsync("target", "Target", theirs);
        await using var member = await ConnectAsync("member", "Member", theirs);
        await sender.JoinAsync(mine);
        var targetId = (await target.JoinAsync(theirs)).Id;
        var memberId = (await member.JoinAsync(theirs)).Id;

        // Naming the target's room, which the sender is not in, and naming the sender's room, which the target is not in.
        var intoTheirs = await Assert.ThrowsAsync<HubException>(() => sender.Client.SendOfferAsync(targetId, theirs, "v=0 refused").Within("offer naming their room"));
        var answer = await Assert.ThrowsAsync<HubException>(() => sender.Client.SendAnswerAsync(targetId, theirs, "v=0 refused").Within("answer naming their room"));
        var candidate = await Assert.ThrowsAsync<HubException>(() => sender.Client.SendCandidateAsync(targetId, theirs, SampleCandidate).Within("candidate naming their room"));
        var intoMine = await Assert.ThrowsAsync<HubException>(() => sender.Client.SendOfferAsync(targetId, mine, "v=0 refused").Within("offer naming my room"));

        var notAMember = $"room: you are not a member of '{theirs}'";
        Assert.Equal([notAMember, notAMember, notAMember], new[] { intoTheirs.Message, answer.Message, candidate.Message });
        Assert.Equal($"to: '{targetId}' is not a member of room '{mine}'", intoMine.Message);

        // Positive control: a member of the target's room reaches it on the same path, and that is all it got.
        await member.Client.SendOfferAsync(targetId, theirs, "v=0 legit").Within("the legitimate offer");
        await target.WaitForAsync<SdpMessage>(RoomClientEvents.Offer, because: "the legitimate offer");
        var relayed = target.Received.Where(m => m.Event is RoomClientEvents.Offer or RoomClientEvents.Answer or RoomClientEvents.Candidate).ToArray();
        var only = Assert.Single(relayed);
        Assert.Equal(new SdpMessage(memberId, targetId, theirs, "v=0 legit") { UserId = "member", Name = "Member" }, only.Payload);
    }
}
