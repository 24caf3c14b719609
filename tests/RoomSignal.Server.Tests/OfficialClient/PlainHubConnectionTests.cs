using System.Text;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Contracts;
using Microsoft.Extensions.DependencyInjection;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Server.Transport;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.OfficialClient;

/// <summary>
/// What a user of the official SignalR .NET client writes, with no RoomSignal code on the client side:
/// every transport the server negotiates, every protocol it offers, and WebSockets without negotiation (which
/// RoomSignal's direct transport carries; negotiated connections never reach it).
/// </summary>
public sealed class PlainHubConnectionTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    public static TheoryData<HttpTransportType, WireProtocol, bool> Combinations()
    {
        var data = new TheoryData<HttpTransportType, WireProtocol, bool>();
        foreach (var protocol in Enum.GetValues<WireProtocol>())
        {
            foreach (var transport in new[] { HttpTransportType.WebSockets, HttpTransportType.ServerSentEvents, HttpTransportType.LongPolling })
            {
                // Server-Sent Events carry text only, so SignalR offers them to JSON clients only.
                if (protocol == WireProtocol.MessagePack && transport == HttpTransportType.ServerSentEvents)
                {
                    continue;
                }

                data.Add(transport, protocol, false);
            }

            data.Add(HttpTransportType.WebSockets, protocol, true);
        }

        return data;
    }

    private Uri HubUrl => fixture.Node.HubUri;

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task APlainConnectionJoinsUnderItsNegotiatedIdAndItsPeerSeesItArrive(HttpTransportType transport, WireProtocol protocol, bool skipNegotiation)
    {
        var room = TestNames.Unique("plain");
        await using var first = await PlainPeer.ConnectAsync(HubUrl, transport, protocol, skipNegotiation: skipNegotiation);
        await using var second = await PlainPeer.ConnectAsync(HubUrl, transport, protocol, skipNegotiation: skipNegotiation);

        await AssertCarriedDirectlyAsync(skipNegotiation ? 2 : 0);
        var alone = await first.JoinAsync(room);
        var joined = await second.JoinAsync(room);

        Assert.Equal(first.Id, alone.Id);
        Assert.Equal(room, alone.Room);
        Assert.Empty(alone.Peers);
        Assert.Equal(second.Id, joined.Id);
        Assert.Equal([first.Id], joined.Peers.Select(p => p.Id));
        Assert.Equal(new PeerJoined(second.Id, room, 2), await first.WaitForAsync<PeerJoined>("Joined"));
        Assert.Equal(joined.Id, (await second.WaitForAsync<RoomJoined>("Created")).Id);
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task ASixtyKilobyteSdpWithUnicodeArrivesIntactAndACandidateToo(HttpTransportType transport, WireProtocol protocol, bool skipNegotiation)
    {
        var room = TestNames.Unique("big");
        await using var caller = await PlainPeer.ConnectAsync(HubUrl, transport, protocol, skipNegotiation: skipNegotiation);
        await using var callee = await PlainPeer.ConnectAsync(HubUrl, transport, protocol, skipNegotiation: skipNegotiation);
        await caller.JoinAsync(room);
        await callee.JoinAsync(room);
        var sdp = BigSdp();
        Assert.InRange(sdp.Length, 60_000, RequestRulesMaxSdp);

        await caller.Connection.InvokeAsync("Offer", new SdpRequest(callee.Id, room, sdp)).Within("a 60 KB offer");
        await callee.Connection.InvokeAsync("Answer", new SdpRequest(caller.Id, room, "v=0 réponse 🎧")).Within("the answer");
        var candidate = new IceCandidate("candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host", "0", 0, "frag");
        await callee.Connection.InvokeAsync("Candidate", new CandidateRequest(caller.Id, room, candidate)).Within("a candidate");

        var offer = await callee.WaitForAsync<SdpMessage>("Offer");
        Assert.Equal(caller.Id, offer.From);
        Assert.Equal(callee.Id, offer.To);
        Assert.Equal(room, offer.Room);
        Assert.True(string.Equals(sdp, offer.Sdp, StringComparison.Ordinal), $"the SDP changed on the way: {offer.Sdp.Length} characters arrived, {sdp.Length} were sent");
        Assert.Equal(new SdpMessage(callee.Id, caller.Id, room, "v=0 réponse 🎧"), await caller.WaitForAsync<SdpMessage>("Answer"));
        Assert.Equal(new CandidateMessage(callee.Id, caller.Id, room, candidate), await caller.WaitForAsync<CandidateMessage>("Candidate"));
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task ARelayToAPeerOutsideTheRoomIsRefusedNamingToAndNothingArrives(HttpTransportType transport, WireProtocol protocol, bool skipNegotiation)
    {
        var mine = TestNames.Unique("mine");
        var theirs = TestNames.Unique("theirs");
        await using var sender = await PlainPeer.ConnectAsync(HubUrl, transport, protocol, skipNegotiation: skipNegotiation);
        await using var stranger = await PlainPeer.ConnectAsync(HubUrl, transport, protocol, skipNegotiation: skipNegotiation);
        await sender.JoinAsync(mine);
        await stranger.JoinAsync(theirs);

        var refused = await Assert.ThrowsAsync<HubException>(
            () => sender.Connection.InvokeAsync("Offer", new SdpRequest(stranger.Id, mine, "v=0 uninvited")).Within("a relay outside the room"));

        Assert.EndsWith($"HubException: to: '{stranger.Id}' is not a member of room '{mine}'", refused.Message, StringComparison.Ordinal);
        Assert.Equal(HubConnectionState.Connected, sender.Connection.State);
        Assert.Equal(mine, (await sender.JoinAsync(mine)).Room);
        Assert.Empty(stranger.All<SdpMessage>("Offer"));
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task WhenAPeerDisconnectsTheOthersSeeItExit(HttpTransportType transport, WireProtocol protocol, bool skipNegotiation)
    {
        var room = TestNames.Unique("bye");
        await using var stayer = await PlainPeer.ConnectAsync(HubUrl, transport, protocol, skipNegotiation: skipNegotiation);
        var leaver = await PlainPeer.ConnectAsync(HubUrl, transport, protocol, skipNegotiation: skipNegotiation);
        await stayer.JoinAsync(room);
        await leaver.JoinAsync(room);
        var leaverId = leaver.Id;

        await leaver.DisposeAsync();

        Assert.Equal(new PeerExited(leaverId, room, 3), await stayer.WaitForAsync<PeerExited>("Exit", because: "the stayer to see the leaver exit"));
    }

    private const int RequestRulesMaxSdp = 64 * 1024;

    /// <summary>Only the connections that skipped negotiation are on the direct transport (connections of earlier tests may still be closing).</summary>
    private Task AssertCarriedDirectlyAsync(int expected)
    {
        var direct = fixture.Node.Services.GetRequiredService<DirectConnections>();
        return Eventually.UntilAsync(() => direct.Count == expected, $"{expected} connections on the direct transport", TimeSpan.FromSeconds(5));
    }

    /// <summary>About 60,000 characters of SDP-like lines with accents, CJK and astral-plane emoji (surrogate pairs).</summary>
    private static string BigSdp()
    {
        var sdp = new StringBuilder("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=Réunion 日本語 🎥\r\n");
        for (var line = 0; sdp.Length < 60_000; line++)
        {
            sdp.Append("a=x-note:").Append(line).Append(" café naïve Ωμέγα 中文 😀👍🏽 ").Append('x', 40).Append("\r\n");
        }

        return sdp.ToString();
    }
}
