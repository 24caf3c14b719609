using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Failures;

/// <summary>
/// A node that started without Redis: it answers negotiation with a 503 naming Redis while Redis is down (the official
/// backplane subscribes each connection's channel when it connects), and a client that connects as soon as it is
/// accepted, before the node is ready, may see a join refused (and retry, as real clients do after an error) but is never told it joined
/// while messages to it would be lost. Once a join succeeds, it and the clients of other nodes reach each other both ways.
/// </summary>
public sealed class LateRedisTests
{
    private static readonly TimeSpan JoinDeadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task AClientRefusedWhileRedisWasDownReachesAndIsReachedOnceItsJoinSucceeds()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        var prefix = TestCluster.UniquePrefix();
        await using var nodeA = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await using var a = await Peer.ConnectAsync(nodeA);
        await redis.KillAsync();
        await using var nodeB = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        var answer = await nodeB.NegotiateAsync();
        Assert.True(answer.Status == 503 && answer.Body.StartsWith("redis: ", StringComparison.Ordinal), $"node B answered negotiate with {answer} while Redis was down");
        Assert.True(await Peer.IsRefusedAsync(nodeB), "node B accepted a connection while Redis was down");
        await redis.RestartAsync();
        await using var b = await Peer.ConnectWhenAcceptedAsync(nodeB, JoinDeadline);

        await AssertBothWaysAsync(a, b);
    }

    [Fact]
    public async Task AClientThatConnectedBeforeTheNodeWasReadyReachesAndIsReachedOnceItsJoinSucceeds()
    {
        // Node B starts while nothing listens on Redis's port; its client connects as soon as Redis is up,
        // before B has noticed, and node A (which had Redis from its start) comes up after that.
        await using var redis = RedisServer.CreateOwnedNotStarted();
        var prefix = TestCluster.UniquePrefix();
        await using var nodeB = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await redis.RestartAsync();
        await using var b = await Peer.ConnectWhenAcceptedAsync(nodeB, JoinDeadline);
        await using var nodeA = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await using var a = await Peer.ConnectAsync(nodeA);

        await AssertBothWaysAsync(a, b);
    }

    /// <summary>a is on a node that had Redis all along, b on the late node.</summary>
    private static async Task AssertBothWaysAsync(Peer a, Peer b)
    {
        // a is there first: b's join (retried until the late node accepts it) lists a, and a hears of b.
        var first = TestNames.Unique("late-first");
        await JoinWhenAcceptedAsync(a, first);
        var joined = await JoinWhenAcceptedAsync(b, first);
        Assert.Equal([a.Id], joined.Peers.Select(p => p.Id));
        await a.WaitForJoinedAsync(b.Id, first);

        // Relays both ways.
        await a.OfferAsync(b.Id, first, "v=0 a-to-b");
        await Eventually.UntilAsync(() => b.Offers.Any(o => o.From == a.Id && o.Sdp == "v=0 a-to-b"), "b to receive a's offer");
        await b.AnswerAsync(a.Id, first, "v=0 b-to-a");
        await Eventually.UntilAsync(() => a.Answers.Any(o => o.From == b.Id && o.Sdp == "v=0 b-to-a"), "a to receive b's answer");
        await b.CandidateAsync(a.Id, first);
        await a.CandidateAsync(b.Id, first);
        await Eventually.UntilAsync(() => a.Candidates.Any(c => c.From == b.Id) && b.Candidates.Any(c => c.From == a.Id), "candidates both ways");

        // b is there first: b hears of a.
        var second = TestNames.Unique("late-second");
        await JoinWhenAcceptedAsync(b, second);
        var aJoined = await JoinWhenAcceptedAsync(a, second);
        Assert.Equal([b.Id], aJoined.Peers.Select(p => p.Id));
        await b.WaitForJoinedAsync(a.Id, second);
        await a.OfferAsync(b.Id, second, "v=0 second");
        await Eventually.UntilAsync(() => b.Offers.Any(o => o.Room == second), "b to receive a's offer in the second room");
    }

    private static Task<Contracts.RoomJoined> JoinWhenAcceptedAsync(Peer peer, string room) => peer.JoinWhenAcceptedAsync(room, JoinDeadline);
}
