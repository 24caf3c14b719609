using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Contracts;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Failures;

/// <summary>
/// A node whose Redis is down refuses new connections at negotiation with a 503 that names Redis (so nginx takes it
/// out and retries the next node), counts each refusal, keeps serving the connections it already has (a stateful
/// reconnect's resume included), and admits a newcomer as soon as Redis is back.
/// </summary>
public sealed class RedisDownAdmissionTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task WhileItsRedisIsDownANodeAnswersNegotiateWith503NamingRedisAndOnceRedisIsBackANewClientConnectsAndJoins()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        var prefix = TestCluster.UniquePrefix();
        await using var node = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix, ("RoomSignal:Metrics:Prometheus", "true")));
        await using var first = await Peer.ConnectAsync(node);
        var room = TestNames.Unique("admission");
        await first.JoinAsync(room);
        Assert.Equal(200, (await node.NegotiateAsync()).Status);

        await redis.KillAsync();
        NegotiateAnswer? answer = null;
        await Eventually.UntilAsync(async () => (answer = await node.NegotiateAsync()).Status == 503, "negotiate to answer 503 while Redis is down", Deadline);
        Assert.Equal("5", answer!.RetryAfter);
        Assert.Equal("redis: this node cannot reach Redis right now; try again shortly or another node", answer.Body);
        Assert.True(await Peer.IsRefusedAsync(node), "the official client was admitted while Redis was down");
        var refusals = (await PrometheusScrape.ReadAsync(node)).Sum("roomsignal_connection_refusals_total", ("reason", "redis"));
        Assert.True(refusals >= 2, $"{refusals} refusals counted under reason=redis, expected at least the two above");

        // The connection admitted before the outage is still open and served (an unknown method is answered with an error).
        Assert.Equal(HubConnectionState.Connected, first.Connection.State);
        await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(
            () => first.Connection.InvokeCoreAsync("NoSuchMethod", typeof(object), []).Within("the server to answer an unknown method"));

        await redis.RestartAsync();
        await Eventually.UntilAsync(async () => (await node.NegotiateAsync()).Status == 200, "negotiate to answer 200 once Redis is back", Deadline);
        await using var newcomer = await Peer.ConnectAsync(node); // no retry: admitted at the first attempt
        var joined = await newcomer.JoinWhenAcceptedAsync(room, Deadline);
        Assert.Contains(first.Id, joined.Peers.Select(p => p.Id));
        await first.WaitForJoinedAsync(newcomer.Id, room);
    }

    [Fact]
    public async Task WhileRedisIsDownTwoClientsOfOneNodeKeepRelayingToEachOther()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        var prefix = TestCluster.UniquePrefix();
        await using var node = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await using var a = await Peer.ConnectAsync(node);
        await using var b = await Peer.ConnectAsync(node);
        var room = TestNames.Unique("local-relay");
        await a.JoinAsync(room);
        await b.JoinAsync(room);

        await redis.KillAsync();
        await Eventually.UntilAsync(async () => (await node.NegotiateAsync()).Status == 503, "the node to notice that Redis is down", Deadline);

        await a.OfferAsync(b.Id, room, "v=0 during the outage");
        await Eventually.UntilAsync(() => b.Offers.Any(o => o.From == a.Id && o.Sdp == "v=0 during the outage"), "b to receive a's offer during the outage");
        await b.AnswerAsync(a.Id, room, "v=0 answer during the outage");
        await Eventually.UntilAsync(() => a.Answers.Any(o => o.From == b.Id && o.Sdp == "v=0 answer during the outage"), "a to receive b's answer during the outage");
        await a.CandidateAsync(b.Id, room);
        await Eventually.UntilAsync(() => b.Candidates.Any(c => c.From == a.Id), "b to receive a's candidate during the outage");
    }

    [Fact]
    public async Task AClientWhoseNetworkDropsWhileRedisIsDownResumesItsConnectionAndKeepsRelayingOnItsNode()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        var prefix = TestCluster.UniquePrefix();
        await using var node = await RoomSignalNode.StartAsync(TestCluster.NodeConfiguration(redis, prefix));
        await using var network = TcpProxy.Start(node);
        await using var roamer = await TestPeer.ConnectAsync(node, o =>
        {
            o.HubUrl = network.HubUri;
            o.ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(500)];
        });
        var lifecycle = new List<string>();
        roamer.Client.Reconnecting += _ => Note(lifecycle, "reconnecting");
        roamer.Client.RoomsRejoined += _ => Note(lifecycle, "rejoined");
        roamer.Client.Closed += _ => Note(lifecycle, "closed");
        await using var stayer = await TestPeer.ConnectAsync(node);
        var room = TestNames.Unique("resume-outage");
        var id = (await roamer.JoinAsync(room)).Id;
        await stayer.JoinAsync(room);
        await roamer.WaitForAsync<PeerJoined>(RoomClientEvents.Joined, j => j.Id == stayer.Id, "the roamer to see the stayer join");

        await redis.KillAsync();
        await Eventually.UntilAsync(async () => (await node.NegotiateAsync()).Status == 503, "the node to refuse new connections for Redis", Deadline);

        // The roamer's network drops; its resume (a WebSocket carrying its connection id) reaches a node without Redis.
        network.Hold();
        network.Cut();
        await stayer.Client.SendOfferAsync(id, room, "v=0 during the drop").Within("an offer while the roamer is away");
        network.Restore();

        var offer = await roamer.WaitForAsync<SdpMessage>(RoomClientEvents.Offer, because: "the offer sent during the drop");
        Assert.Equal(new SdpMessage(stayer.Id, id, room, "v=0 during the drop"), offer);
        Assert.Equal(id, roamer.Client.ConnectionId);
        Assert.Equal(HubConnectionState.Connected, roamer.Client.State);
        await roamer.Client.SendAnswerAsync(stayer.Id, room, "v=0 after the resume").Within("an answer after the resume");
        Assert.Equal(id, (await stayer.WaitForAsync<SdpMessage>(RoomClientEvents.Answer)).From);
        lock (lifecycle)
        {
            Assert.Empty(lifecycle);
        }
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
