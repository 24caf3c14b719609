using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using RoomSignal.Contracts;
using RoomSignal.Server.Tests.OfficialClient;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Server.Transport;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Transport;

/// <summary>
/// RoomSignal's direct transport (<c>RoomSignal:Transport:DirectWebSockets</c>) carries WebSocket connections that
/// skip negotiation: what SignalR's own transport does for them (keep-alive pings, closing at shutdown, the switch
/// off) it must do too. Relaying over it is covered with every other transport in <see cref="PlainHubConnectionTests"/>.
/// </summary>
public sealed class DirectTransportTests
{
    [Fact]
    public async Task AnIdleDirectConnectionIsPingedByTheServer()
    {
        await using var node = await RoomSignalNode.StartAsync();
        await using var socket = await RawHubSocket.ConnectAsync(node.HubUri).Within("a raw WebSocket without negotiation");
        Assert.Equal(1, node.Services.GetRequiredService<DirectConnections>().Count);

        // SignalR pings every 15 s (HubOptions.KeepAliveInterval); the direct transport's heartbeat drives it.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(25));
        var message = await socket.ReceiveAsync(timeout.Token);

        Assert.Equal("{\"type\":6}" + RawHubSocket.RecordSeparator, message);
    }

    [Fact]
    public async Task StoppingTheNodeClosesItsDirectConnectionsAtOnce()
    {
        var node = await RoomSignalNode.StartAsync();
        await using var _ = node;
        await using var peer = await PlainPeer.ConnectAsync(node.HubUri, HttpTransportType.WebSockets, skipNegotiation: true);
        await peer.JoinAsync(TestNames.Unique("stop"));
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        peer.Connection.Closed += error => { closed.TrySetResult(error); return Task.CompletedTask; };
        var direct = node.Services.GetRequiredService<DirectConnections>();
        Assert.Equal(1, direct.Count);

        // Kestrel stops first and would wait 15 s (the host's shutdown timeout) for a connection nobody closes.
        await node.StopAsync().Within("the node to stop", TimeSpan.FromSeconds(5));

        await closed.Task.Within("the client to see its connection close", TimeSpan.FromSeconds(5));
        Assert.Equal(0, direct.Count); // the node stopped only after the hub saw the connection end
    }

    [Fact]
    public async Task WithDirectWebSocketsOffAClientSkippingNegotiationIsServedBySignalRsTransport()
    {
        await using var node = await RoomSignalNode.StartAsync(new Dictionary<string, string?> { ["RoomSignal:Transport:DirectWebSockets"] = "false" });
        var room = TestNames.Unique("off");
        await using var a = await PlainPeer.ConnectAsync(node.HubUri, HttpTransportType.WebSockets, skipNegotiation: true);
        await using var b = await PlainPeer.ConnectAsync(node.HubUri, HttpTransportType.WebSockets, skipNegotiation: true);
        await a.JoinAsync(room);
        await b.JoinAsync(room);

        await a.Connection.InvokeAsync("Offer", new SdpRequest(b.Id, room, "v=0 signalr")).Within("an offer");

        Assert.Equal(new SdpMessage(a.Id, b.Id, room, "v=0 signalr"), await b.WaitForAsync<SdpMessage>("Offer"));
        Assert.Equal(0, node.Services.GetRequiredService<DirectConnections>().Count);
    }
}
