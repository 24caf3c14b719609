using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Ice;

/// <summary>One real coturn for the class, with the secret the nodes of these tests mint credentials with.</summary>
public sealed class CoturnFixture : IAsyncLifetime
{
    public Coturn Coturn { get; private set; } = null!;

    public async Task InitializeAsync() => Coturn = await Coturn.StartAsync().Within("coturn to start", TimeSpan.FromSeconds(30));

    public async Task DisposeAsync()
    {
        if (Coturn is not null)
        {
            await Coturn.DisposeAsync();
        }
    }
}

/// <summary>
/// The credentials <c>/api/ice-servers</c> mints are the ones a real coturn with <c>use-auth-secret</c> and the same
/// secret accepts; an expired one and one signed with another secret are refused (checked by allocating with
/// coturn's own <c>turnutils_uclient</c>).
/// </summary>
public sealed class CoturnTests(CoturnFixture fixture) : IClassFixture<CoturnFixture>
{
    private Coturn Coturn => fixture.Coturn;

    private Dictionary<string, string?> IceConfiguration(string secret, bool auth)
    {
        var configuration = auth ? TestTokens.AuthOn() : [];
        configuration["RoomSignal:Ice:TurnUrls:0"] = Coturn.UdpUrl;
        configuration["RoomSignal:Ice:TurnUrls:1"] = Coturn.TcpUrl;
        configuration["RoomSignal:Ice:TurnSecret"] = secret;
        return configuration;
    }

    /// <summary>GETs <c>/api/ice-servers</c> (with a token for <paramref name="sub"/> when given) and returns its TURN entry.</summary>
    private static async Task<(string Username, string Credential, string[] Urls)> MintAsync(RoomSignalNode node, string? sub = null)
    {
        using var http = new HttpClient { BaseAddress = node.BaseUri };
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/ice-servers");
        if (sub is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.For(sub, ["*"]));
        }

        using var response = await http.SendAsync(request).Within("GET /api/ice-servers");
        response.EnsureSuccessStatusCode();
        var turn = JsonDocument.Parse(await response.Content.ReadAsStringAsync().Within("the ice-servers body")).RootElement
            .GetProperty("iceServers").EnumerateArray().Single(s => s.TryGetProperty("username", out _));
        return (turn.GetProperty("username").GetString()!, turn.GetProperty("credential").GetString()!,
            turn.GetProperty("urls").EnumerateArray().Select(u => u.GetString()!).ToArray());
    }

    private static long Expiry(string username) => long.Parse(username[..username.IndexOf(':', StringComparison.Ordinal)], CultureInfo.InvariantCulture);

    [Fact]
    public async Task CredentialsFromTheIceEndpointAllocateRelaysOnCoturnOverUdpAndTcp()
    {
        await using var node = await RoomSignalNode.StartAsync(IceConfiguration(Coturn.Secret, auth: true));
        var (username, credential, urls) = await MintAsync(node, "alice");
        Assert.Equal([Coturn.UdpUrl, Coturn.TcpUrl], urls);
        Assert.EndsWith(":alice", username, StringComparison.Ordinal);

        var udp = await Coturn.AllocateAsync(username, credential);
        var tcp = await Coturn.AllocateAsync(username, credential, tcp: true);

        Assert.True(udp.ExitCode == 0 && udp.GotRelay, $"UDP allocation failed (exit {udp.ExitCode}):\n{udp.Output}\ncoturn log:\n{Coturn.ReadLog()}");
        Assert.True(tcp.ExitCode == 0 && tcp.GotRelay, $"TCP allocation failed (exit {tcp.ExitCode}):\n{tcp.Output}\ncoturn log:\n{Coturn.ReadLog()}");
    }

    [Fact]
    public async Task AnExpiredCredentialIsRefusedByCoturn()
    {
        // A node whose clock is two hours behind mints, with the right secret, credentials that expired an hour ago.
        var behind = new ShiftedTimeProvider(TimeSpan.FromHours(-2));
        await using var node = await RoomSignalNode.StartAsync(IceConfiguration(Coturn.Secret, auth: false), s => s.AddSingleton<TimeProvider>(behind));
        var (username, credential, _) = await MintAsync(node);
        Assert.InRange(Expiry(username), DateTimeOffset.UtcNow.AddMinutes(-65).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(-55).ToUnixTimeSeconds());
        Assert.Equal(Server.Ice.TurnCredentials.Credential(Coturn.Secret, username), credential); // rightly signed: only the expiry is wrong

        var result = await Coturn.AllocateAsync(username, credential);

        AssertRefused(result, username);
    }

    [Fact]
    public async Task ACredentialSignedWithAnotherSecretIsRefusedByCoturn()
    {
        await using var node = await RoomSignalNode.StartAsync(IceConfiguration("not-the-secret-coturn-has", auth: true));
        var (username, credential, _) = await MintAsync(node, "mallory");
        Assert.True(Expiry(username) > DateTimeOffset.UtcNow.ToUnixTimeSeconds(), "the credential is not expired: only its signature is wrong");

        var result = await Coturn.AllocateAsync(username, credential);

        AssertRefused(result, username);
    }

    [Fact]
    public async Task AUsernameChangedAfterSigningIsRefusedByCoturn()
    {
        await using var node = await RoomSignalNode.StartAsync(IceConfiguration(Coturn.Secret, auth: true));
        var (username, credential, _) = await MintAsync(node, "bob");
        var forged = username.Replace(":bob", ":admin", StringComparison.Ordinal);

        var result = await Coturn.AllocateAsync(forged, credential);

        AssertRefused(result, forged);
    }

    private void AssertRefused(UclientResult result, string username)
    {
        Assert.False(result.GotRelay, $"coturn granted a relay:\n{result.Output}");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Cannot complete Allocation", result.Output, StringComparison.Ordinal);
        // coturn says why in its own log: it could not authenticate this user (401).
        var expected = $"check_stun_auth: Cannot find credentials of user <{username}>";
        Assert.True(Coturn.ReadLog().Contains(expected, StringComparison.Ordinal), $"coturn's log does not contain '{expected}':\n{Coturn.ReadLog()}");
    }

    private sealed class ShiftedTimeProvider(TimeSpan offset) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + offset;
    }
}
