using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Contracts;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Client;

public sealed class AccessTokenProviderTests
{
    [Fact]
    public async Task TheTokenProviderIsAskedAgainForTheResumeAndForTheReconnectSoAFreshTokenCanBeHandedOut()
    {
        await using var node = await RoomSignalNode.StartAsync(TestTokens.AuthOn());
        await using var network = TcpProxy.Start(node);
        var room = TestNames.Unique("tokens");
        var calls = 0;
        var rejoined = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var peer = await TestPeer.ConnectAsync(node, o =>
        {
            o.HubUrl = network.HubUri;
            o.AutomaticReconnect = true;
            o.ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(500)];
            o.AccessTokenProvider = () =>
            {
                Interlocked.Increment(ref calls);
                return Task.FromResult<string?>(TestTokens.For("alice", [room]));
            };
        });
        peer.Client.RoomsRejoined += e =>
        {
            rejoined.TrySetResult(e.ConnectionId);
            return Task.CompletedTask;
        };
        var id = (await peer.JoinAsync(room)).Id;
        var afterStart = Volatile.Read(ref calls);
        Assert.True(afterStart >= 1, "the provider should have been asked for the first connection");

        // A short drop: the resumed WebSocket presents a token again, and the id stays.
        network.Cut();
        await Eventually.UntilAsync(() => Volatile.Read(ref calls) > afterStart, "the resume to ask for a token");
        await peer.Client.SendOfferAsync(id, room, "v=0 to myself").Within("a relay after the resume");
        await peer.WaitForAsync<SdpMessage>(RoomClientEvents.Offer, o => o.Sdp == "v=0 to myself", "the relay");
        Assert.Equal(id, peer.Client.ConnectionId);
        var afterResume = Volatile.Read(ref calls);

        // A loss the resume cannot bridge: the new connection negotiates with a new token and rejoins.
        network.Refuse(true);
        network.Cut();
        await Eventually.UntilAsync(() => peer.Client.State != HubConnectionState.Connected, "the client to notice");
        network.Refuse(false);
        var newId = await rejoined.Task.Within("the reconnect and rejoin");

        Assert.NotEqual(id, newId);
        Assert.True(Volatile.Read(ref calls) > afterResume, "the reconnect should have asked for a token again");
    }
}
