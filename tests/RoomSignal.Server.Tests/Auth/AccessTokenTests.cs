using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Auth;

/// <summary>With auth on, only holders of a valid token connect, and only into the rooms their token names.</summary>
public sealed class AccessTokenTests(AuthNodeFixture fixture) : IClassFixture<AuthNodeFixture>
{
    private RoomSignalNode Node => fixture.Node;

    public static TheoryData<string, string?> RefusedTokens()
    {
        var inTenMinutes = TestTokens.UnixTime(TimeSpan.FromMinutes(10));
        return new()
        {
            { "no token", null },
            { "expired beyond the 30 s skew", TestTokens.Sign(new Dictionary<string, object?> { ["sub"] = "u", ["rooms"] = new[] { "*" }, ["exp"] = TestTokens.UnixTime(TimeSpan.FromSeconds(-60)) }) },
            { "not valid for another two minutes", TestTokens.Sign(new Dictionary<string, object?> { ["sub"] = "u", ["rooms"] = new[] { "*" }, ["nbf"] = TestTokens.UnixTime(TimeSpan.FromMinutes(2)), ["exp"] = inTenMinutes }) },
            { "signed with another key", TestTokens.For("u", ["*"], key: TestTokens.OtherKey) },
            { "without sub", TestTokens.Sign(new Dictionary<string, object?> { ["rooms"] = new[] { "*" }, ["exp"] = inTenMinutes }) },
            { "with an empty sub", TestTokens.Sign(new Dictionary<string, object?> { ["sub"] = "", ["rooms"] = new[] { "*" }, ["exp"] = inTenMinutes }) },
            { "without exp", TestTokens.Sign(new Dictionary<string, object?> { ["sub"] = "u", ["rooms"] = new[] { "*" } }) },
            { "with the signature cut off", string.Join('.', TestTokens.For("u", ["*"]).Split('.')[..2]) + "." },
            { "garbage", "not-a-jwt" },
        };
    }

    [Theory]
    [MemberData(nameof(RefusedTokens))]
    public async Task NegotiateIsRefusedWith401(string because, string? token)
    {
        using var http = new HttpClient { BaseAddress = Node.BaseUri };
        using var request = new HttpRequestMessage(HttpMethod.Post, "hubs/room/negotiate?negotiateVersion=1");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await http.SendAsync(request).Within("negotiate");

        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"negotiate with a token {because} answered {(int)response.StatusCode}");
    }

    [Theory]
    [MemberData(nameof(RefusedTokens))]
    public async Task TheWebSocketUpgradeIsRefusedWith401(string because, string? token)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        var uri = (token is null ? Node.HubUri : Node.HubUriWithToken(token)).AsWebSocketUri();

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(uri, CancellationToken.None).Within("the WebSocket upgrade"));

        Assert.True(socket.HttpStatusCode == HttpStatusCode.Unauthorized, $"the upgrade with a token {because} answered {(int)socket.HttpStatusCode}");
    }

    [Fact]
    public async Task AValidTokenInTheQueryStringConnectsAndJoinsItsRoom()
    {
        var room = TestNames.Unique("auth");
        await using var peer = await TestPeer.ConnectAsync(Node, o => o.HubUrl = Node.HubUriWithToken(TestTokens.For("alice", [room])));

        var joined = await peer.JoinAsync(room);

        Assert.Equal(room, joined.Room);
    }

    [Fact]
    public async Task AValidTokenInTheAuthorizationHeaderConnects()
    {
        var room = TestNames.Unique("auth");
        var token = TestTokens.For("alice", [room]);
        await using var peer = await TestPeer.ConnectAsync(Node, o => o.AccessTokenProvider = () => Task.FromResult<string?>(token));

        var joined = await peer.JoinAsync(room);

        Assert.Equal(room, joined.Room);
    }

    [Fact]
    public async Task NegotiateAnswers200WithAValidBearerHeader()
    {
        using var http = new HttpClient { BaseAddress = Node.BaseUri };
        using var request = new HttpRequestMessage(HttpMethod.Post, "hubs/room/negotiate?negotiateVersion=1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.For("alice", ["*"]));

        using var response = await http.SendAsync(request).Within("negotiate");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ATokenSignedWithAnAdditionalKeyIsAccepted()
    {
        var room = TestNames.Unique("rotated");
        await using var peer = await TestPeer.ConnectAsync(Node, o => o.HubUrl = Node.HubUriWithToken(TestTokens.For("alice", [room], key: AuthNodeFixture.RotatedKey)));

        Assert.Equal(room, (await peer.JoinAsync(room)).Room);
    }

    [Fact]
    public async Task ATokenThatExpiredWithinTheClockSkewIsStillAccepted()
    {
        var token = TestTokens.Sign(new Dictionary<string, object?> { ["sub"] = "late", ["rooms"] = new[] { "*" }, ["exp"] = TestTokens.UnixTime(TimeSpan.FromSeconds(-10)) });

        await using var peer = await TestPeer.ConnectAsync(Node, o => o.HubUrl = Node.HubUriWithToken(token));

        Assert.NotNull(await peer.JoinAsync(TestNames.Unique("skew")));
    }

    [Fact]
    public async Task AJoinOutsideTheTokensRoomsFailsNamingTheRoom()
    {
        var mine = TestNames.Unique("mine");
        var theirs = TestNames.Unique("theirs");
        await using var peer = await TestPeer.ConnectAsync(Node, o => o.HubUrl = Node.HubUriWithToken(TestTokens.For("alice", [mine])));

        var error = await Assert.ThrowsAsync<HubException>(() => peer.JoinAsync(theirs));

        Assert.Equal($"room: your token does not allow joining '{theirs}'", error.Message);
        Assert.Equal(mine, (await peer.JoinAsync(mine)).Room); // the connection stays usable
    }

    [Fact]
    public async Task AWebSocketThatSkipsNegotiationCarriesItsTokensRoomsToo()
    {
        // Such a connection is served by RoomSignal's direct transport, after authentication and authorization ran.
        var mine = TestNames.Unique("mine");
        var theirs = TestNames.Unique("theirs");
        await using var peer = await OfficialClient.PlainPeer.ConnectAsync(
            Node.HubUriWithToken(TestTokens.For("alice", [mine])), Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets, skipNegotiation: true);

        var error = await Assert.ThrowsAsync<HubException>(() => peer.JoinAsync(theirs));

        Assert.EndsWith($"HubException: room: your token does not allow joining '{theirs}'", error.Message, StringComparison.Ordinal);
        Assert.Equal(mine, (await peer.JoinAsync(mine)).Room);
    }

    [Fact]
    public async Task ATokenWithoutRoomsMayJoinNoRoom()
    {
        var token = TestTokens.Sign(new Dictionary<string, object?> { ["sub"] = "u", ["exp"] = TestTokens.UnixTime(TimeSpan.FromMinutes(5)) });
        await using var peer = await TestPeer.ConnectAsync(Node, o => o.HubUrl = Node.HubUriWithToken(token));

        var error = await Assert.ThrowsAsync<HubException>(() => peer.JoinAsync("lobby"));

        Assert.Equal("room: your token does not allow joining 'lobby'", error.Message);
    }

    [Fact]
    public async Task APrefixWildcardAllowsEveryRoomStartingWithThePrefixAndNoOther()
    {
        var prefix = TestNames.Unique("team") + "-";
        await using var peer = await TestPeer.ConnectAsync(Node, o => o.HubUrl = Node.HubUriWithToken(TestTokens.For("alice", [prefix + "*"])));

        Assert.Equal(prefix + "standup", (await peer.JoinAsync(prefix + "standup")).Room);
        Assert.Equal(prefix, (await peer.JoinAsync(prefix)).Room);
        var error = await Assert.ThrowsAsync<HubException>(() => peer.JoinAsync(prefix[..^1]));
        Assert.Equal($"room: your token does not allow joining '{prefix[..^1]}'", error.Message);
    }

    [Fact]
    public async Task AStarAloneAllowsEveryRoom()
    {
        await using var peer = await TestPeer.ConnectAsync(Node, o => o.HubUrl = Node.HubUriWithToken(TestTokens.For("admin", ["*"])));

        Assert.NotNull(await peer.JoinAsync(TestNames.Unique("any")));
        Assert.NotNull(await peer.JoinAsync(TestNames.Unique("other")));
    }

    [Fact]
    public async Task AnInvalidRoomNameIsStillRefusedByValidationFirst()
    {
        await using var peer = await TestPeer.ConnectAsync(Node, o => o.HubUrl = Node.HubUriWithToken(TestTokens.For("alice", ["*"])));

        var error = await Assert.ThrowsAsync<HubException>(() => peer.JoinAsync("no spaces"));

        Assert.StartsWith("room: must be 1-64 characters", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>Issuer and audience, and the checks of the auth settings at start.</summary>
public sealed class AuthConfigurationTests
{
    [Fact]
    public async Task WithAnAudienceConfiguredATokenForAnotherAudienceIsRefusedAndOneForOursAccepted()
    {
        var configuration = TestTokens.AuthOn();
        configuration["RoomSignal:Auth:Audience"] = "roomsignal";
        configuration["RoomSignal:Auth:Issuer"] = "https://backend.example";
        await using var node = await RoomSignalNode.StartAsync(configuration);
        string Token(string aud, string iss) => TestTokens.Sign(new Dictionary<string, object?>
        {
            ["sub"] = "u", ["rooms"] = new[] { "*" }, ["aud"] = aud, ["iss"] = iss, ["exp"] = TestTokens.UnixTime(TimeSpan.FromMinutes(5)),
        });

        foreach (var wrong in new[] { Token("someone-else", "https://backend.example"), Token("roomsignal", "https://evil.example") })
        {
            using var socket = new ClientWebSocket();
            socket.Options.CollectHttpResponseDetails = true;
            await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(node.HubUriWithToken(wrong).AsWebSocketUri(), CancellationToken.None).Within("the upgrade"));
            Assert.Equal(HttpStatusCode.Unauthorized, socket.HttpStatusCode);
        }

        await using var peer = await TestPeer.ConnectAsync(node, o => o.HubUrl = node.HubUriWithToken(Token("roomsignal", "https://backend.example")));
        Assert.NotNull(await peer.JoinAsync(TestNames.Unique("aud")));
    }

    [Theory]
    [InlineData("RoomSignal:Auth:SigningKey", "too-short-0123456789", "RoomSignal:Auth:SigningKey must be at least 32 bytes")]
    [InlineData("RoomSignal:Auth:AdditionalSigningKeys:0", "short", "RoomSignal:Auth:AdditionalSigningKeys:0 must be at least 32 bytes")]
    public async Task AShortKeyStopsTheNodeFromStartingWithAMessageNamingTheKeyButNotItsValue(string key, string value, string expected)
    {
        var configuration = TestTokens.AuthOn();
        configuration[key] = value;

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RoomSignalNode.StartAsync(configuration));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(value, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdditionalKeysWithoutASigningKeyStopTheNodeFromStarting()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RoomSignalNode.StartAsync(new Dictionary<string, string?>
        {
            ["RoomSignal:Auth:AdditionalSigningKeys:0"] = AuthNodeFixture.RotatedKey,
        }));

        Assert.Contains("AdditionalSigningKeys needs RoomSignal:Auth:SigningKey", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithAuthOffAnyoneJoinsAnyRoomAsBefore()
    {
        await using var node = await RoomSignalNode.StartAsync();
        await using var peer = await TestPeer.ConnectAsync(node);

        Assert.NotNull(await peer.JoinAsync(TestNames.Unique("open")));
    }
}
