using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Contracts;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.OfficialClient;

/// <summary><c>WithStatefulReconnect()</c> on a plain connection, its network broken by a real TCP proxy.</summary>
public sealed class StatefulReconnectWithAPlainConnectionTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    public static TheoryData<WireProtocol> Protocols() => [.. Enum.GetValues<WireProtocol>()];

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task ADroppedWebSocketResumesWithTheSameIdAndARelaySentDuringTheDropArrives(WireProtocol protocol)
    {
        var room = TestNames.Unique("plainresume");
        await using var network = TcpProxy.Start(fixture.Node);
        await using var roamer = await PlainPeer.ConnectAsync(network.HubUri, HttpTransportType.WebSockets, protocol, b => b.WithStatefulReconnect());
        await using var stayer = await PlainPeer.ConnectAsync(fixture.Node.HubUri, HttpTransportType.WebSockets, protocol);
        var reconnecting = 0;
        roamer.Connection.Reconnecting += _ =>
        {
            Interlocked.Increment(ref reconnecting);
            return Task.CompletedTask;
        };
        var id = roamer.Id;
        await roamer.JoinAsync(room);
        await stayer.JoinAsync(room);
        await roamer.WaitForAsync<PeerJoined>("Joined", j => j.Id == stayer.Id);
        var connectionsBefore = network.Accepted;

        network.Hold();
        network.Cut();
        await stayer.Connection.InvokeAsync("Offer", new SdpRequest(id, room, "v=0 while you were away")).Within("an offer during the drop");
        network.Restore();

        Assert.Equal(new SdpMessage(stayer.Id, id, room, "v=0 while you were away"), await roamer.WaitForAsync<SdpMessage>("Offer", because: "the offer sent during the drop"));
        Assert.True(network.Accepted > connectionsBefore, "the client should have opened a new socket through the proxy");
        Assert.Equal(id, roamer.Connection.ConnectionId);
        Assert.Equal(HubConnectionState.Connected, roamer.Connection.State);
        await roamer.Connection.InvokeAsync("Answer", new SdpRequest(stayer.Id, room, "v=0 back again")).Within("an answer after the resume");
        Assert.Equal(id, (await stayer.WaitForAsync<SdpMessage>("Answer")).From);
        Assert.Empty(stayer.All<PeerExited>("Exit"));
        Assert.Empty(stayer.All<PeerJoined>("Joined"));
        Assert.Equal(0, Volatile.Read(ref reconnecting));
    }
}
