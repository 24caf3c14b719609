using Microsoft.AspNetCore.SignalR;
using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Contract;

/// <summary>Two nodes sharing one real Redis, rooms capped at 3 members.</summary>
public sealed class TwoNodeCluster : TwoNodes
{
    protected override (string Key, string Value)[] Settings => [("RoomSignal:Rooms:MaxPeers", "3")];
}

/// <summary>The wire contract (PROTOCOL.md) holds with the members of a room on different nodes.</summary>
public sealed class CrossNodeContractTests(TwoNodeCluster cluster) : IClassFixture<TwoNodeCluster>
{
    [Fact]
    public async Task AJoinOnOneNodeListsPeersOnTheOtherAndTellsThemJoined()
    {
        await using var a = await Peer.ConnectAsync(cluster.NodeA);
        await using var b = await Peer.ConnectAsync(cluster.NodeB);
        var room = TestNames.Unique("join");

        var first = await a.JoinAsync(room);
        var second = await b.JoinAsync(room);

        Assert.Empty(first.Peers);
        Assert.Equal(b.Id, second.Id);
        Assert.Equal([a.Id], second.Peers.Select(p => p.Id));
        await a.WaitForJoinedAsync(b.Id, room);
        Assert.Empty(b.Joined);
    }

    [Fact]
    public async Task RejoiningFromAnotherNodesPointOfViewIsIdempotent()
    {
        await using var a = await Peer.ConnectAsync(cluster.NodeA);
        await using var b = await Peer.ConnectAsync(cluster.NodeB);
        var room = TestNames.Unique("rejoin");
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        await a.WaitForJoinedAsync(b.Id, room);

        var again = await b.JoinAsync(room);

        Assert.Equal([a.Id], again.Peers.Select(p => p.Id));
        await a.OfferAsync(b.Id, room); // a round trip through both nodes, after which a second joined would have arrived
        await Eventually.UntilAsync(() => b.Offers.Count == 1, "the offer");
        Assert.Single(a.Joined);
        Assert.Equal(TestCluster.Sorted(a.Id, b.Id), await TestCluster.MembersAsync(cluster.Redis, cluster.Prefix, room));
    }

    [Fact]
    public async Task OffersAnswersAndCandidatesCrossNodesWithTheSenderStamped()
    {
        await using var a = await Peer.ConnectAsync(cluster.NodeA);
        await using var b = await Peer.ConnectAsync(cluster.NodeB);
        var room = TestNames.Unique("relay");
        await a.JoinAsync(room);
        await b.JoinAsync(room);

        await a.OfferAsync(b.Id, room, "v=0 offer");
        await b.AnswerAsync(a.Id, room, "v=0 answer");
        await a.CandidateAsync(b.Id, room);

        await Eventually.UntilAsync(() => b.Offers.Count == 1 && a.Answers.Count == 1 && b.Candidates.Count == 1, "offer, answer and candidate");
        Assert.Equal(new RoomSignal.Contracts.SdpMessage(a.Id, b.Id, room, "v=0 offer"), b.Offers[0]);
        Assert.Equal(new RoomSignal.Contracts.SdpMessage(b.Id, a.Id, room, "v=0 answer"), a.Answers[0]);
        Assert.Equal(a.Id, b.Candidates[0].From);
    }

    [Fact]
    public async Task ARelayToSomeoneOnAnotherNodeWhoIsNotInTheRoomIsRefused()
    {
        await using var a = await Peer.ConnectAsync(cluster.NodeA);
        await using var b = await Peer.ConnectAsync(cluster.NodeB);
        await using var outsider = await Peer.ConnectAsync(cluster.NodeB);
        var room = TestNames.Unique("refuse");
        var elsewhere = TestNames.Unique("elsewhere");
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        await outsider.JoinAsync(elsewhere);

        var toOutsider = await Assert.ThrowsAsync<HubException>(() => a.OfferAsync(outsider.Id, room));
        var fromOutsider = await Assert.ThrowsAsync<HubException>(() => outsider.OfferAsync(a.Id, room));
        var wrongRoom = await Assert.ThrowsAsync<HubException>(() => a.OfferAsync(b.Id, elsewhere));

        Assert.Contains($"to: '{outsider.Id}' is not a member of room '{room}'", toOutsider.Message, StringComparison.Ordinal);
        Assert.Contains($"room: you are not a member of '{room}'", fromOutsider.Message, StringComparison.Ordinal);
        Assert.Contains($"room: you are not a member of '{elsewhere}'", wrongRoom.Message, StringComparison.Ordinal);
        await a.OfferAsync(b.Id, room); // still usable, and the only offer that arrives
        await Eventually.UntilAsync(() => b.Offers.Count == 1, "the allowed offer");
        Assert.Empty(outsider.Offers);
        Assert.Empty(a.Offers);
    }

    [Fact]
    public async Task ADisconnectSendsExitToTheMembersOnEveryNodeAndOnlyToThem()
    {
        await using var a = await Peer.ConnectAsync(cluster.NodeA);
        await using var b = await Peer.ConnectAsync(cluster.NodeB);
        await using var c = await Peer.ConnectAsync(cluster.NodeA);
        await using var bystander = await Peer.ConnectAsync(cluster.NodeB);
        var leaver = await Peer.ConnectAsync(cluster.NodeA);
        var room = TestNames.Unique("bye");
        var second = TestNames.Unique("bye2");
        var unrelated = TestNames.Unique("unrelated");
        await leaver.JoinAsync(room);
        await leaver.JoinAsync(second);
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        await c.JoinAsync(second);
        await bystander.JoinAsync(unrelated);
        var leaverId = leaver.Id;

        await leaver.DisposeAsync();

        await a.WaitForExitAsync(leaverId, room);
        await b.WaitForExitAsync(leaverId, room);
        await c.WaitForExitAsync(leaverId, second);
        Assert.Equal(TestCluster.Sorted(a.Id, b.Id), await TestCluster.MembersAsync(cluster.Redis, cluster.Prefix, room));
        Assert.Empty(bystander.Exits);
        Assert.Single(b.Exits);
    }

    [Fact]
    public async Task AnExitTellsTheMembersOnTheOtherNode()
    {
        await using var a = await Peer.ConnectAsync(cluster.NodeA);
        await using var b = await Peer.ConnectAsync(cluster.NodeB);
        var room = TestNames.Unique("exit");
        await a.JoinAsync(room);
        await b.JoinAsync(room);

        await b.ExitAsync(room);

        await a.WaitForExitAsync(b.Id, room);
        Assert.Empty(b.Exits);
        Assert.Equal([a.Id], await TestCluster.MembersAsync(cluster.Redis, cluster.Prefix, room));
    }

    [Fact]
    public async Task AFullRoomRefusesAJoinFromAnyNode()
    {
        var room = TestNames.Unique("full");
        await using var a = await Peer.ConnectAsync(cluster.NodeA);
        await using var b = await Peer.ConnectAsync(cluster.NodeB);
        await using var c = await Peer.ConnectAsync(cluster.NodeA);
        await using var d = await Peer.ConnectAsync(cluster.NodeB);
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        await c.JoinAsync(room); // capacity 3 in this fixture

        var refused = await Assert.ThrowsAsync<HubException>(() => d.JoinAsync(room));

        Assert.Contains("full", refused.Message, StringComparison.Ordinal);
        Assert.Equal(3, (await TestCluster.MembersAsync(cluster.Redis, cluster.Prefix, room)).Length);
        await c.ExitAsync(room);
        var admitted = await d.JoinAsync(room);
        Assert.Equal(2, admitted.Peers.Count);
    }

    [Fact]
    public async Task OfTwoPeersJoiningAtOnceOnTwoNodesExactlyOneSeesTheOther()
    {
        // 10 rounds of 4 pairs racing at once, each pair in its own room, one peer per node.
        for (var round = 0; round < 10; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 4).Select(pair => RaceOnePairAsync($"{round}.{pair}")));
        }
    }

    private async Task RaceOnePairAsync(string label)
    {
        await using var a = await Peer.ConnectAsync(cluster.NodeA);
        await using var b = await Peer.ConnectAsync(cluster.NodeB);
        var room = TestNames.Unique("race2");

        var joins = await Task.WhenAll(a.JoinAsync(room), b.JoinAsync(room));

        var aSawB = joins[0].Peers.Any(p => p.Id == b.Id);
        var bSawA = joins[1].Peers.Any(p => p.Id == a.Id);
        Assert.True(aSawB ^ bSawA, $"pair {label}: a saw b: {aSawB}, b saw a: {bSawA}");
        var (seen, seer) = aSawB ? (b, a) : (a, b);
        await seen.WaitForJoinedAsync(seer.Id, room); // the one listed is told of the other
        Assert.Empty(seer.Joined);
    }
}
