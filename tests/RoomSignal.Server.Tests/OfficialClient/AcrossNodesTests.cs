using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Contracts;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.OfficialClient;

/// <summary>Plain connections on two nodes that share a real Redis: MessagePack and stateful reconnect through the backplane.</summary>
public sealed class AcrossNodesTests
{
    [Theory]
    [InlineData(WireProtocol.Json)]
    [InlineData(WireProtocol.MessagePack)]
    public async Task AShortDropOnOneNodeResumesAndARelayFromTheOtherNodeSentDuringItArrives(WireProtocol protocol)
    {
        await using var redis = await RedisServer.StartAsync();
        var configuration = new Dictionary<string, string?> { ["RoomSignal:Redis:Configuration"] = redis.Configuration };
        await using var nodeA = await RoomSignalNode.StartAsync(configuration);
        await using var nodeB = await RoomSignalNode.StartAsync(configuration);
        await WaitReadyAsync(nodeA);
        await WaitReadyAsync(nodeB);
        await using var network = TcpProxy.Start(nodeA);
        var room = TestNames.Unique("nodes");

        await using var roamer = await PlainPeer.ConnectAsync(network.HubUri, HttpTransportType.WebSockets, protocol, b => b.WithStatefulReconnect());
        await using var stayer = await PlainPeer.ConnectAsync(nodeB.HubUri, HttpTransportType.WebSockets, protocol);
        var id = roamer.Id;
        await roamer.JoinAsync(room);
        Assert.Equal([id], (await stayer.JoinAsync(room)).Peers.Select(p => p.Id));
        await roamer.WaitForAsync<PeerJoined>("Joined", j => j.Id == stayer.Id, "the roamer to see the stayer join from the other node");

        network.Hold();
        network.Cut();
        await stayer.Connection.InvokeAsync("Offer", new SdpRequest(id, room, "v=0 across nodes, during the drop")).Within("a cross-node offer during the drop");
        network.Restore();

        Assert.Equal(new SdpMessage(stayer.Id, id, room, "v=0 across nodes, during the drop"), await roamer.WaitForAsync<SdpMessage>("Offer", because: "the cross-node offer sent during the drop"));
        Assert.Equal(id, roamer.Connection.ConnectionId);
        await roamer.Connection.InvokeAsync("Answer", new SdpRequest(stayer.Id, room, "v=0 back across")).Within("an answer back across nodes");
        Assert.Equal(new SdpMessage(id, stayer.Id, room, "v=0 back across"), await stayer.WaitForAsync<SdpMessage>("Answer"));
        Assert.Empty(stayer.All<PeerExited>("Exit"));

        // And a real departure is still announced across nodes, as the room's third change (join, join, leave).
        await roamer.Connection.StopAsync().Within("the roamer leaving");
        Assert.Equal(new PeerExited(id, room, 3), await stayer.WaitForAsync<PeerExited>("Exit", because: "the stayer to see the roamer exit"));
    }

    private static async Task WaitReadyAsync(RoomSignalNode node)
    {
        using var http = new HttpClient { BaseAddress = node.BaseUri, Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.UntilAsync(async () => (await http.GetAsync("readyz")).IsSuccessStatusCode, $"{node.BaseUri} to be ready", TimeSpan.FromSeconds(20));
    }
}
