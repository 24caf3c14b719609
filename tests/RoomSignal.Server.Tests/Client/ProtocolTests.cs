using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using RoomSignal.Client;
using RoomSignal.Contracts;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Client;

/// <summary>The whole call surface of <see cref="RoomSignalClient"/> over each protocol and transport it can use.</summary>
public sealed class ProtocolTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    public static TheoryData<RoomSignalProtocol, HttpTransportType> Combinations() => new()
    {
        { RoomSignalProtocol.Json, HttpTransportType.WebSockets },
        { RoomSignalProtocol.Json, HttpTransportType.ServerSentEvents },
        { RoomSignalProtocol.Json, HttpTransportType.LongPolling },
        { RoomSignalProtocol.MessagePack, HttpTransportType.WebSockets },
        { RoomSignalProtocol.MessagePack, HttpTransportType.LongPolling },
    };

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task JoinRelayRefusalAndExitWorkTheSame(RoomSignalProtocol protocol, HttpTransportType transport)
    {
        var room = TestNames.Unique("proto");
        void Configure(RoomSignalClientOptions o)
        {
            o.Protocol = protocol;
            o.Transports = transport;
        }

        await using var a = await TestPeer.ConnectAsync(fixture.Node, Configure);
        var b = await TestPeer.ConnectAsync(fixture.Node, Configure);
        var aId = (await a.JoinAsync(room)).Id;
        var joined = await b.JoinAsync(room);
        Assert.Equal([aId], joined.Peers.Select(p => p.Id));
        Assert.Equal(new PeerJoined(b.Id, room, 2), await a.WaitForAsync<PeerJoined>(RoomClientEvents.Joined));

        var candidate = new IceCandidate("candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host", "0", 3, "frag");
        await a.Client.SendOfferAsync(b.Id, room, "v=0 ünïcødé 🎥").Within("the offer");
        await b.Client.SendAnswerAsync(aId, room, "v=0 answer").Within("the answer");
        await b.Client.SendCandidateAsync(aId, room, candidate).Within("the candidate");
        await a.Client.SendCandidateAsync(b.Id, room, new IceCandidate("", null, null, null)).Within("end of candidates");

        Assert.Equal(new SdpMessage(aId, b.Id, room, "v=0 ünïcødé 🎥"), await b.WaitForAsync<SdpMessage>(RoomClientEvents.Offer));
        Assert.Equal(new SdpMessage(b.Id, aId, room, "v=0 answer"), await a.WaitForAsync<SdpMessage>(RoomClientEvents.Answer));
        Assert.Equal(new CandidateMessage(b.Id, aId, room, candidate), await a.WaitForAsync<CandidateMessage>(RoomClientEvents.Candidate));
        Assert.Equal(new IceCandidate("", null, null, null), (await b.WaitForAsync<CandidateMessage>(RoomClientEvents.Candidate)).Candidate);

        var refused = await Assert.ThrowsAsync<HubException>(() => a.Client.SendOfferAsync(b.Id, TestNames.Unique("elsewhere"), "v=0").Within("a refused relay"));
        Assert.StartsWith("room: you are not a member of ", refused.Message, StringComparison.Ordinal);
        var bad = await Assert.ThrowsAsync<HubException>(() => a.Client.JoinAsync("bad room").Within("a refused join"));
        Assert.Equal("room: must be 1-64 characters of A-Z a-z 0-9 _ . : -", bad.Message);

        var bId = b.Id;
        await b.DisposeAsync();
        Assert.Equal(new PeerExited(bId, room, 3), await a.WaitForAsync<PeerExited>(RoomClientEvents.Exit));
    }
}
