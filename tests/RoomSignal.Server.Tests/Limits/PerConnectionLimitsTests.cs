using System.Net;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Contracts;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Limits;

public sealed class PerConnectionLimitsTests
{
    [Fact]
    public async Task InvocationsPastTheRateAreRefusedWithAnErrorNamingTheLimitAndTheConnectionStaysUsable()
    {
        await using var node = await StartAsync(("InvocationsPerSecond", "5"), ("InvocationBurst", "5"));
        await using var peer = await TestPeer.ConnectAsync(node);
        var room = TestNames.Unique("rate");

        var errors = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            try
            {
                await peer.Client.ExitAsync(room).Within("an exit");
            }
            catch (HubException ex)
            {
                errors.Add(ex.Message);
            }
        }

        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.Equal("rate: too many invocations, at most 5 per second", e));
        Assert.Equal(HubConnectionState.Connected, peer.Client.State);

        // The bucket refills: after a second the same connection is served again.
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                await peer.Client.JoinAsync(room);
                return true;
            }
            catch (HubException)
            {
                return false;
            }
        }, "the connection to be served again after its bucket refilled");
    }

    [Fact]
    public async Task JoinsHaveTheirOwnRate()
    {
        await using var node = await StartAsync(("JoinsPerSecond", "1"), ("JoinBurst", "2"));
        await using var peer = await TestPeer.ConnectAsync(node);

        await peer.JoinAsync(TestNames.Unique("j"));
        await peer.JoinAsync(TestNames.Unique("j"));
        var error = await Assert.ThrowsAsync<HubException>(() => peer.JoinAsync(TestNames.Unique("j")));

        Assert.Equal("rate: too many joins, at most 1 per second", error.Message);
        await peer.Client.ExitAsync("some-room").Within("an exit, which is not a join");
    }

    [Fact]
    public async Task AClientThatKeepsPushingPastTheRateIsDisconnectedAndOnlyIt()
    {
        await using var node = await StartAsync(("InvocationsPerSecond", "10"), ("InvocationBurst", "10"), ("DisconnectAfterRefusals", "20"));
        var room = TestNames.Unique("flood");
        await using var flooder = await TestPeer.ConnectAsync(node);
        await using var neighbour = await TestPeer.ConnectAsync(node);
        var flooderId = (await flooder.JoinAsync(room)).Id;
        await neighbour.JoinAsync(room);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        flooder.Client.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };

        // Fire-and-forget candidates, far past the rate, as a broken or hostile client would.
        for (var i = 0; i < 500 && flooder.Client.State == HubConnectionState.Connected; i++)
        {
            _ = flooder.Client.Connection.SendAsync(nameof(IRoomHub.Candidate), new CandidateRequest(neighbour.Id, room, new IceCandidate("candidate:1 1 udp 1 127.0.0.1 9 typ host", "0", 0, null)));
        }

        await closed.Task.Within("the flooder to be disconnected");
        await neighbour.WaitForAsync<PeerExited>(RoomClientEvents.Exit, e => e.From == flooderId, "the neighbour to see the flooder leave");
        Assert.Equal(HubConnectionState.Connected, neighbour.Client.State);
        Assert.InRange(neighbour.Count(RoomClientEvents.Candidate), 1, 10 + 10);
        await neighbour.JoinAsync(TestNames.Unique("still-served"));
    }

    [Fact]
    public async Task AJoinPastTheRoomsPerConnectionCapIsRefusedUntilTheConnectionLeavesOne()
    {
        await using var node = await StartAsync(("MaxRoomsPerConnection", "3"));
        await using var peer = await TestPeer.ConnectAsync(node);
        var rooms = Enumerable.Range(0, 4).Select(_ => TestNames.Unique("cap")).ToArray();
        foreach (var room in rooms[..3])
        {
            await peer.JoinAsync(room);
        }

        var error = await Assert.ThrowsAsync<HubException>(() => peer.JoinAsync(rooms[3]));
        Assert.Equal("rooms: a connection may be in at most 3 rooms at once", error.Message);

        await peer.JoinAsync(rooms[0]); // joining a room it is in again is no new room
        await peer.Client.ExitAsync(rooms[1]).Within("leaving a room");
        await peer.JoinAsync(rooms[3]);
    }

    [Fact]
    public async Task ConnectionsFromOneAddressPastTheCapAreRefusedNamingTheLimitUntilOneCloses()
    {
        await using var node = await StartAsync(("MaxConnectionsPerIp", "2"));
        await using var first = await TestPeer.ConnectAsync(node);
        var second = await TestPeer.ConnectAsync(node);

        var third = node.CreateHubConnection();
        var error = await TestHubConnections.StartExpectingCloseAsync(third, "the third connection");
        Assert.Contains("connections: at most 2 connections from one address", error?.Message, StringComparison.Ordinal);
        await third.DisposeAsync();

        await second.DisposeAsync();
        await Eventually.UntilAsync(async () =>
        {
            await using var again = await TestPeer.ConnectAsync(node);
            try
            {
                await again.JoinAsync(TestNames.Unique("again"));
                return true;
            }
            catch (Exception)
            {
                return false;
            }
        }, "a new connection from the address once one closed");
        await first.JoinAsync(TestNames.Unique("first"));
    }

    [Fact]
    public async Task OnlyTheConfiguredOriginsMayNegotiateOrOpenAWebSocket()
    {
        await using var node = await StartAsync(("__cors", "https://app.example"));
        using var http = new HttpClient { BaseAddress = node.BaseUri };

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "hubs/room/negotiate?negotiateVersion=1");
        preflight.Headers.Add("Origin", "https://app.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using var allowed = await http.SendAsync(preflight).Within("the preflight");
        Assert.Equal("https://app.example", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var other = new HttpRequestMessage(HttpMethod.Options, "hubs/room/negotiate?negotiateVersion=1");
        other.Headers.Add("Origin", "https://evil.example");
        other.Headers.Add("Access-Control-Request-Method", "POST");
        using var refused = await http.SendAsync(other).Within("the other preflight");
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));

        Assert.Equal((int)HttpStatusCode.Forbidden, await RawHubSocket.RefusalStatusAsync(node.HubUri, "https://evil.example"));
        await using var socket = await RawHubSocket.ConnectAsync(node.HubUri, origin: "https://app.example").Within("a WebSocket from the allowed origin");
    }

    private static Task<RoomSignalNode> StartAsync(params (string Key, string Value)[] limits)
        => RoomSignalNode.StartAsync(limits.ToDictionary(
            l => l.Key == "__cors" ? "RoomSignal:Cors:Origins:0" : "RoomSignal:Limits:" + l.Key,
            l => (string?)l.Value));
}
