using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using RoomSignal.Contracts;
using RoomSignal.Server.Hubs;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Relay;

public sealed class RelayTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private static readonly IceCandidate SampleCandidate =
        new("candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host", "0", 0, "abcd");

    private RoomSignalNode Node => fixture.Node;

    [Fact]
    public void EveryInvocationsHubComesFromOneActivatorInsteadOfOneResolvedPerInvocationScope()
    {
        // SignalR resolves the activator from each invocation's scope; ours is a singleton (a relay's allocations).
        using var first = Node.Services.CreateScope();
        using var second = Node.Services.CreateScope();
        var activator = first.ServiceProvider.GetRequiredService<IHubActivator<RoomHub>>();
        Assert.IsType<RoomHubActivator>(activator);
        Assert.Same(activator, second.ServiceProvider.GetRequiredService<IHubActivator<RoomHub>>());
    }

    [Fact]
    public async Task OfferAnswerAndCandidateReachTheTargetStampedWithTheSenderAndNobodyElse()
    {
        var room = TestNames.Unique("relay");
        await using var a = await TestPeer.ConnectAsync(Node);
        await using var b = await TestPeer.ConnectAsync(Node);
        await using var bystander = await TestPeer.ConnectAsync(Node);
        var aId = (await a.JoinAsync(room)).Id;
        var bId = (await b.JoinAsync(room)).Id;
        await bystander.JoinAsync(room);

        await a.Client.SendOfferAsync(bId, room, "v=0 offer").Within("offer");
        await b.Client.SendAnswerAsync(aId, room, "v=0 answer").Within("answer");
        await a.Client.SendCandidateAsync(bId, room, SampleCandidate).Within("candidate");
        await a.Client.SendCandidateAsync(bId, room, new IceCandidate("", null, null, null)).Within("end of candidates");

        Assert.Equal(new SdpMessage(aId, bId, room, "v=0 offer"), await b.WaitForAsync<SdpMessage>(RoomClientEvents.Offer));
        Assert.Equal(new SdpMessage(bId, aId, room, "v=0 answer"), await a.WaitForAsync<SdpMessage>(RoomClientEvents.Answer));
        await b.WaitForAsync<CandidateMessage>(RoomClientEvents.Candidate, c => c.Candidate.Candidate == "", "the end-of-candidates marker");
        Assert.Equal(
            [new CandidateMessage(aId, bId, room, SampleCandidate), new CandidateMessage(aId, bId, room, new IceCandidate("", null, null, null))],
            b.All<CandidateMessage>(RoomClientEvents.Candidate));

        // Positive control for the bystander: a message addressed to it arrives, and it is the only relay it got.
        await a.Client.SendOfferAsync(bystander.Id, room, "v=0 for you").Within("offer to the bystander");
        await bystander.WaitForAsync<SdpMessage>(RoomClientEvents.Offer, because: "the bystander's own offer");
        Assert.Equal(
            ["v=0 for you"],
            bystander.Received.Where(m => m.Event is RoomClientEvents.Offer or RoomClientEvents.Answer or RoomClientEvents.Candidate)
                .Select(m => ((SdpMessage)m.Payload).Sdp));
    }

    [Fact]
    public async Task AForgedFromIsIgnoredAndReplacedByTheSendersId()
    {
        var room = TestNames.Unique("forge");
        await using var target = await TestPeer.ConnectAsync(Node);
        var targetId = (await target.JoinAsync(room)).Id;
        await using var raw = Node.CreateHubConnection();
        await raw.StartAsync().Within("raw connection");
        var sender = await raw.InvokeAsync<RoomJoined>(nameof(IRoomHub.CreateAndJoinRoom), new JoinRoomRequest(room)).Within("raw join");

        await raw.InvokeAsync(nameof(IRoomHub.Offer), new { to = targetId, room, sdp = "v=0 forged", from = "someone-else" }).Within("forged offer");
        await raw.InvokeAsync(nameof(IRoomHub.Candidate), new
        {
            to = targetId, room, from = "someone-else",
            candidate = new { candidate = "", sdpMid = (string?)null, sdpMLineIndex = (int?)null },
        }).Within("forged candidate");

        var offer = await target.WaitForAsync<SdpMessage>(RoomClientEvents.Offer);
        Assert.Equal(sender.Id, offer.From);
        var candidate = await target.WaitForAsync<CandidateMessage>(RoomClientEvents.Candidate);
        Assert.Equal(sender.Id, candidate.From);
    }

    [Fact]
    public async Task ARelayToAMemberOfAnotherRoomIsRefusedAndNotDelivered()
    {
        var mine = TestNames.Unique("mine");
        var theirs = TestNames.Unique("theirs");
        await using var a = await TestPeer.ConnectAsync(Node);
        await using var b = await TestPeer.ConnectAsync(Node);
        await a.JoinAsync(mine);
        var bId = (await b.JoinAsync(theirs)).Id;

        var offer = await Assert.ThrowsAsync<HubException>(() => a.Client.SendOfferAsync(bId, mine, "v=0 refused").Within("refused offer"));
        var answer = await Assert.ThrowsAsync<HubException>(() => a.Client.SendAnswerAsync(bId, mine, "v=0 refused").Within("refused answer"));
        var candidate = await Assert.ThrowsAsync<HubException>(() => a.Client.SendCandidateAsync(bId, mine, SampleCandidate).Within("refused candidate"));

        var expected = $"to: '{bId}' is not a member of room '{mine}'";
        Assert.Equal([expected, expected, expected], new[] { offer.Message, answer.Message, candidate.Message });
        await AssertOnlyTheLegitimateOfferArrivesAsync(a, b, theirs);
    }

    [Fact]
    public async Task ARelayFromANonMemberIsRefusedAndNotDelivered()
    {
        var room = TestNames.Unique("outside");
        await using var outsider = await TestPeer.ConnectAsync(Node);
        await using var b = await TestPeer.ConnectAsync(Node);
        var bId = (await b.JoinAsync(room)).Id;

        var error = await Assert.ThrowsAsync<HubException>(() => outsider.Client.SendOfferAsync(bId, room, "v=0 refused").Within("refused offer"));

        Assert.Equal($"room: you are not a member of '{room}'", error.Message);
        await AssertOnlyTheLegitimateOfferArrivesAsync(outsider, b, room);
    }

    [Fact]
    public async Task ARelayToAnUnknownConnectionIsRefusedQuickly()
    {
        var room = TestNames.Unique("ghost");
        await using var a = await TestPeer.ConnectAsync(Node);
        await a.JoinAsync(room);

        var error = await Assert.ThrowsAsync<HubException>(
            () => a.Client.SendOfferAsync("no-such-connection", room, "v=0").Within("refused offer", TimeSpan.FromSeconds(2)));

        Assert.Equal($"to: 'no-such-connection' is not a member of room '{room}'", error.Message);
    }

    [Fact]
    public async Task ARelayToADisconnectedMemberIsRefused()
    {
        var room = TestNames.Unique("left");
        await using var a = await TestPeer.ConnectAsync(Node);
        var b = await TestPeer.ConnectAsync(Node);
        await a.JoinAsync(room);
        var bId = (await b.JoinAsync(room)).Id;
        await b.DisposeAsync();
        await a.WaitForAsync<PeerExited>(RoomClientEvents.Exit, because: "b's exit");

        var error = await Assert.ThrowsAsync<HubException>(() => a.Client.SendOfferAsync(bId, room, "v=0").Within("refused offer"));

        Assert.Equal($"to: '{bId}' is not a member of room '{room}'", error.Message);
    }

    /// <summary>
    /// The positive control after a refused relay: the sender joins the target's room, sends a legitimate offer
    /// on the same path, and the target's only relayed message is that one.
    /// </summary>
    private static async Task AssertOnlyTheLegitimateOfferArrivesAsync(TestPeer sender, TestPeer target, string targetRoom)
    {
        var senderId = (await sender.JoinAsync(targetRoom)).Id;
        await sender.Client.SendOfferAsync(target.Id, targetRoom, "v=0 legit").Within("the legitimate offer");
        await target.WaitForAsync<SdpMessage>(RoomClientEvents.Offer, because: "the legitimate offer");
        var relayed = target.Received.Where(m => m.Event is RoomClientEvents.Offer or RoomClientEvents.Answer or RoomClientEvents.Candidate).ToArray();
        var only = Assert.Single(relayed);
        Assert.Equal(new SdpMessage(senderId, target.Id, targetRoom, "v=0 legit"), only.Payload);
    }
}
