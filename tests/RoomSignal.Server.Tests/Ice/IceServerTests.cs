using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Options;
using RoomSignal.Client;
using RoomSignal.Contracts;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Ice;

/// <summary>The ICE server list: STUN as configured, TURN with coturn use-auth-secret credentials, over HTTP and the hub.</summary>
public sealed class IceServerTests
{
    private const string Secret = "turn-shared-secret-for-tests";

    private static Dictionary<string, string?> IceConfiguration(bool auth)
    {
        var configuration = auth ? TestTokens.AuthOn() : [];
        configuration["RoomSignal:Ice:StunUrls:0"] = "stun:stun.example.org:3478";
        configuration["RoomSignal:Ice:TurnUrls:0"] = "turn:turn.example.org:3478?transport=udp";
        configuration["RoomSignal:Ice:TurnUrls:1"] = "turns:turn.example.org:5349";
        configuration["RoomSignal:Ice:TurnSecret"] = Secret;
        configuration["RoomSignal:Ice:CredentialTtl"] = "00:20:00";
        return configuration;
    }

    /// <summary>Checks a TURN username and credential without the server's code: expiry, id, HMAC-SHA1.</summary>
    private static void AssertCoturnCredential(JsonElement turn, string expectedId, TimeSpan ttl)
    {
        var username = turn.GetProperty("username").GetString()!;
        var colon = username.IndexOf(':', StringComparison.Ordinal);
        var expiry = long.Parse(username[..colon], CultureInfo.InvariantCulture);
        Assert.Equal(expectedId, username[(colon + 1)..]);
        Assert.InRange(expiry - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), (long)ttl.TotalSeconds - 30, (long)ttl.TotalSeconds + 1);
        using var hmac = new HMACSHA1(Encoding.UTF8.GetBytes(Secret));
        Assert.Equal(Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes(username))), turn.GetProperty("credential").GetString());
    }

    [Fact]
    public async Task TheHttpEndpointNeedsATokenWhenAuthIsOnAndMintsCredentialsForItsUser()
    {
        await using var node = await RoomSignalNode.StartAsync(IceConfiguration(auth: true));
        using var http = new HttpClient { BaseAddress = node.BaseUri };

        using (var refused = await http.GetAsync("api/ice-servers").Within("GET without a token"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "api/ice-servers");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.For("alice", ["*"]));
        using var response = await http.SendAsync(request).Within("GET with a token");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(1200, body.GetProperty("ttl").GetInt32());
        var servers = body.GetProperty("iceServers");
        Assert.Equal(2, servers.GetArrayLength());
        Assert.Equal(["stun:stun.example.org:3478"], servers[0].GetProperty("urls").EnumerateArray().Select(u => u.GetString()));
        Assert.False(servers[0].TryGetProperty("username", out _));
        Assert.Equal(["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"], servers[1].GetProperty("urls").EnumerateArray().Select(u => u.GetString()));
        AssertCoturnCredential(servers[1], "alice", TimeSpan.FromMinutes(20));
    }

    [Fact]
    public async Task TheHubMethodNamesTheUserWithAuthOn()
    {
        await using var node = await RoomSignalNode.StartAsync(IceConfiguration(auth: true));
        await using var connection = TestHubConnections.Create(node.HubUriWithToken(TestTokens.For("bob", ["*"])));
        await connection.StartAsync().Within("connecting");

        var list = await connection.InvokeAsync<JsonElement>(nameof(IRoomHub.GetIceServers)).Within("GetIceServers");

        AssertCoturnCredential(list.GetProperty("iceServers")[1], "bob", TimeSpan.FromMinutes(20));
    }

    [Fact]
    public async Task TheHubMethodNamesTheConnectionWithAuthOff()
    {
        await using var node = await RoomSignalNode.StartAsync(IceConfiguration(auth: false));
        await using var peer = await TestPeer.ConnectAsync(node);
        var joined = await peer.JoinAsync(TestNames.Unique("ice"));

        var list = await peer.Client.Connection.InvokeAsync<JsonElement>(nameof(IRoomHub.GetIceServers)).Within("GetIceServers");

        AssertCoturnCredential(list.GetProperty("iceServers")[1], joined.Id, TimeSpan.FromMinutes(20));
    }

    [Theory]
    [InlineData(RoomSignalProtocol.Json)]
    [InlineData(RoomSignalProtocol.MessagePack)]
    public async Task TheDotnetClientGetsTheServersWithCredentialsForItsUserOverEitherProtocol(RoomSignalProtocol protocol)
    {
        await using var node = await RoomSignalNode.StartAsync(IceConfiguration(auth: true));
        await using var client = new RoomSignalClient(new RoomSignalClientOptions
        {
            HubUrl = node.HubUri,
            Protocol = protocol,
            AccessTokenProvider = () => Task.FromResult<string?>(TestTokens.For("carol", ["*"])),
        });
        await client.StartAsync().Within("connecting");

        var list = await client.GetIceServersAsync().Within("GetIceServersAsync");

        Assert.Equal(1200, list.Ttl);
        Assert.Equal(2, list.IceServers.Count);
        Assert.Equal(["stun:stun.example.org:3478"], list.IceServers[0].Urls);
        Assert.Null(list.IceServers[0].Username);
        Assert.Null(list.IceServers[0].Credential);
        var turn = list.IceServers[1];
        Assert.Equal(["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"], turn.Urls);
        AssertCoturnCredential(JsonSerializer.SerializeToElement(turn, new JsonSerializerOptions(JsonSerializerDefaults.Web)), "carol", TimeSpan.FromMinutes(20));
    }

    [Fact]
    public async Task TheDotnetClientRefusesToAskWhileNotConnected()
    {
        await using var node = await RoomSignalNode.StartAsync(IceConfiguration(auth: false));
        await using var client = new RoomSignalClient(node.HubUri);

        await Assert.ThrowsAsync<InvalidOperationException>(() => client.GetIceServersAsync().Within("GetIceServersAsync"));
    }

    [Fact]
    public async Task WithNothingConfiguredTheListIsEmptyWithTheDefaultTtl()
    {
        await using var node = await RoomSignalNode.StartAsync();
        using var http = new HttpClient { BaseAddress = node.BaseUri };

        var body = JsonDocument.Parse(await http.GetStringAsync("api/ice-servers").Within("GET")).RootElement;

        Assert.Equal(0, body.GetProperty("iceServers").GetArrayLength());
        Assert.Equal(3600, body.GetProperty("ttl").GetInt32());
    }

    [Theory]
    [InlineData("RoomSignal:Ice:TurnUrls:0", "turn:t.example:3478", "RoomSignal:Ice:TurnSecret must be set")]
    [InlineData("RoomSignal:Ice:StunUrls:0", "http://stun.example", "RoomSignal:Ice:StunUrls:0 must start with stun:")]
    [InlineData("RoomSignal:Ice:CredentialTtl", "00:00:10", "RoomSignal:Ice:CredentialTtl must be between")]
    public async Task ABadIceSettingStopsTheNodeFromStartingNamingTheKey(string key, string value, string expected)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RoomSignalNode.StartAsync(new Dictionary<string, string?> { [key] = value }));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
