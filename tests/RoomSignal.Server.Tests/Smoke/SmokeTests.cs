using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Contracts;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Smoke;

public sealed class SmokeTests
{
    [Fact]
    public async Task TwoConnectionsJoinOneRoomAndRelayAnOffer()
    {
        await using var node = await RoomSignalNode.StartAsync();
        await using var a = node.CreateHubConnection();
        await using var b = node.CreateHubConnection();
        var offers = new TaskCompletionSource<SdpMessage>();
        b.On<SdpMessage>(RoomClientEvents.Offer, m => offers.TrySetResult(m));
        await a.StartAsync().Within("a to connect");
        await b.StartAsync().Within("b to connect");

        var room = "smoke-" + Guid.NewGuid().ToString("N")[..8];
        var first = await a.InvokeAsync<RoomJoined>(nameof(IRoomHub.CreateAndJoinRoom), new JoinRoomRequest(room)).Within("a to join");
        var second = await b.InvokeAsync<RoomJoined>(nameof(IRoomHub.CreateAndJoinRoom), new JoinRoomRequest(room)).Within("b to join");
        Assert.Empty(first.Peers);
        Assert.Equal(first.Id, Assert.Single(second.Peers).Id);

        await a.InvokeAsync(nameof(IRoomHub.Offer), new SdpRequest(second.Id, room, "v=0")).Within("the offer");
        var offer = await offers.Task.Within("b to receive the offer");
        Assert.Equal(first.Id, offer.From);
    }
}
