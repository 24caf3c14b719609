using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Client;
using RoomSignal.Contracts;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Client;

public sealed class StatefulReconnectTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private RoomSignalNode Node => fixture.Node;

    [Theory]
    [InlineData(RoomSignalProtocol.Json)]
    [InlineData(RoomSignalProtocol.MessagePack)]
    public async Task AShortNetworkDropKeepsTheConnectionIdAndTheRoomsAndPeersNoticeNothing(RoomSignalProtocol protocol)
    {
        var room = TestNames.Unique("resume");
        await using var network = TcpProxy.Start(Node);
        await using var roamer = await TestPeer.ConnectAsync(Node, o =>
        {
            o.HubUrl = network.HubUri;
            o.Protocol = protocol;
            o.ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(500)];
        });
        var lifecycle = new List<string>();
        roamer.Client.Reconnecting += _ => Note(lifecycle, "reconnecting");
        roamer.Client.RoomsRejoined += _ => Note(lifecycle, "rejoined");
        roamer.Client.Closed += _ => Note(lifecycle, "closed");
        await using var stayer = await TestPeer.ConnectAsync(Node, o => o.Protocol = protocol);
        var id = (await roamer.JoinAsync(room)).Id;
        await stayer.JoinAsync(room);
        await roamer.WaitForAsync<PeerJoined>(RoomClientEvents.Joined, j => j.Id == stayer.Id, "the roamer to see the stayer join");

        // The network goes down and stays down while the stayer relays; then it comes back.
        network.Hold();
        network.Cut();
        await stayer.Client.SendOfferAsync(id, room, "v=0 sent during the drop").Within("an offer while the roamer is away");
        network.Restore();

        var offer = await roamer.WaitForAsync<SdpMessage>(RoomClientEvents.Offer, because: "the offer sent during the drop");
        Assert.Equal(new SdpMessage(stayer.Id, id, room, "v=0 sent during the drop"), offer);
        Assert.Equal(id, roamer.Client.ConnectionId);
        Assert.Equal(HubConnectionState.Connected, roamer.Client.State);
        Assert.Equal([room], roamer.Client.Rooms);

        // Still a member under the same id, both ways, and nobody saw it leave or arrive.
        await roamer.Client.SendAnswerAsync(stayer.Id, room, "v=0 back").Within("an answer after the resume");
        Assert.Equal(id, (await stayer.WaitForAsync<SdpMessage>(RoomClientEvents.Answer)).From);
        Assert.Empty(stayer.All<PeerExited>(RoomClientEvents.Exit));
        Assert.Single(stayer.All<RoomJoined>(RoomClientEvents.Created));
        Assert.Empty(stayer.All<PeerJoined>(RoomClientEvents.Joined));
        Assert.Single(roamer.All<RoomJoined>(RoomClientEvents.Created));
        Assert.Empty(lifecycle);
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
