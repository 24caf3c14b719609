using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RoomSignal.Server.Auth;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Auth;

public sealed class TokenSecrecyAndCommandTests
{
    private const string TurnSecret = "turn-secret-that-must-never-be-logged";

    [Fact]
    public async Task NoTokenSigningKeyOrTurnSecretAppearsInAnyLogLineEvenWithEveryCategoryAtDebug()
    {
        var logs = new CapturingLoggerProvider();
        var configuration = TestTokens.AuthOn();
        // An operator who turned everything up, request logging included.
        configuration["Logging:LogLevel:Default"] = "Debug";
        configuration["Logging:LogLevel:Microsoft"] = "Debug";
        configuration["Logging:LogLevel:Microsoft.AspNetCore"] = "Debug";
        configuration["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Debug";
        configuration["RoomSignal:Ice:TurnUrls:0"] = "turn:127.0.0.1:3478";
        configuration["RoomSignal:Ice:TurnSecret"] = TurnSecret;
        await using var node = await RoomSignalNode.StartAsync(configuration, services => services.AddSingleton<ILoggerProvider>(logs));
        var room = TestNames.Unique("secret");
        var good = TestTokens.For("alice", [room]);
        var other = TestTokens.For("bob", [room]);
        var wrongKey = TestTokens.For("mallory", [room], key: TestTokens.OtherKey);
        var turnCredential = "";
        var expired = TestTokens.Sign(new Dictionary<string, object?> { ["sub"] = "old", ["rooms"] = new[] { "*" }, ["exp"] = TestTokens.UnixTime(TimeSpan.FromHours(-1)) });

        await using (var a = await TestPeer.ConnectAsync(node, o => o.HubUrl = node.HubUriWithToken(good)))
        await using (var b = await TestPeer.ConnectAsync(node, o => o.Headers["Authorization"] = "Bearer " + other))
        {
            await a.JoinAsync(room);
            await b.JoinAsync(room);
            await a.Client.SendOfferAsync(b.Id, room, "v=0").Within("an offer");
            await b.WaitForAsync<Contracts.SdpMessage>(Contracts.RoomClientEvents.Offer);
            await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => a.JoinAsync(TestNames.Unique("forbidden")));
        }

        using var http = new HttpClient { BaseAddress = node.BaseUri };
        using (var ice = new HttpRequestMessage(HttpMethod.Get, "api/ice-servers"))
        {
            ice.Headers.Authorization = new AuthenticationHeaderValue("Bearer", good);
            var list = System.Text.Json.JsonDocument.Parse(await (await http.SendAsync(ice).Within("ice servers")).Content.ReadAsStringAsync()).RootElement;
            turnCredential = list.GetProperty("iceServers")[0].GetProperty("credential").GetString()!;
        }

        foreach (var token in new[] { good, wrongKey, expired })
        {
            using var negotiate = new HttpRequestMessage(HttpMethod.Post, "hubs/room/negotiate?negotiateVersion=1");
            negotiate.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            (await http.SendAsync(negotiate).Within("negotiate")).Dispose();
            (await http.GetAsync($"hubs/room?id=unknown&access_token={token}").Within("a long-polling request")).Dispose();
            using var socket = new ClientWebSocket();
            try
            {
                await socket.ConnectAsync(node.HubUriWithToken(token).AsWebSocketUri(), CancellationToken.None).Within("an upgrade");
            }
            catch (WebSocketException)
            {
                // the refused ones
            }
        }

        await node.DisposeAsync();
        var entries = logs.Entries;
        Assert.Contains(entries, e => e.Level == LogLevel.Debug && e.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)); // the capture sees Debug
        Assert.Contains(entries, e => e.Category.StartsWith("Microsoft.AspNetCore.Authentication", StringComparison.Ordinal)); // and the refusals
        var secrets = new[] { good, other, wrongKey, expired }
            .SelectMany(t => new[] { t, t.Split('.')[2] }) // whole tokens and their signatures
            .Append(TestTokens.Key)
            .Append(TurnSecret)
            .Append(turnCredential)
            .ToArray();
        foreach (var entry in entries)
        {
            var text = entry.Message + " " + entry.Exception;
            foreach (var secret in secrets)
            {
                Assert.False(text.Contains(secret, StringComparison.Ordinal), $"[{entry.Level} {entry.Category}] leaked a secret: {text}");
            }
        }
    }

    [Fact]
    public async Task TheTokenCommandPrintsATokenTheServerAcceptsForExactlyTheNamedRooms()
    {
        var room = TestNames.Unique("demo");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = TokenCommand.Run(["token", "--sub", "alice", "--name", "Alice", "--rooms", room, "--ttl", "1h", $"--RoomSignal:Auth:SigningKey={TestTokens.Key}"], stdout, stderr);

        Assert.True(exit == 0, stderr.ToString());
        var token = stdout.ToString().Trim();
        await using var node = await RoomSignalNode.StartAsync(TestTokens.AuthOn());
        await using var peer = await TestPeer.ConnectAsync(node, o => o.HubUrl = node.HubUriWithToken(token));
        Assert.Equal(room, (await peer.JoinAsync(room)).Room);
        await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => peer.JoinAsync(room + "x"));
    }

    [Fact]
    public void TheTokenCommandWithoutAKeySaysWhichSettingToSet()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = TokenCommand.Run(["token", "--sub", "alice"], stdout, stderr);

        Assert.Equal(2, exit);
        Assert.Contains("RoomSignal:Auth:SigningKey", stderr.ToString(), StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout.ToString());
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("30m", 1800)]
    [InlineData("1h", 3600)]
    [InlineData("2d", 172800)]
    [InlineData("00:10:00", 600)]
    public void TtlsParseInTheUnitsTheUsageNames(string text, int seconds)
        => Assert.Equal(TimeSpan.FromSeconds(seconds), TokenCommand.ParseDuration(text));

    [Fact]
    public async Task TheServerExecutableRunsTheTokenCommandInsteadOfStarting()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(RoomSignalProcess.ServerDll);
        foreach (var arg in new[] { "token", "--sub", "alice", "--rooms", "demo", "--ttl", "1h" })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["RoomSignal__Auth__SigningKey"] = TestTokens.Key;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().Within("the token command to exit", TimeSpan.FromSeconds(30));

        Assert.Equal(0, process.ExitCode);
        var parts = (await output).Trim().Split('.');
        Assert.Equal(3, parts.Length);
        var payload = System.Text.Json.JsonDocument.Parse(Convert.FromBase64String(parts[1].Replace('-', '+').Replace('_', '/').PadRight((parts[1].Length + 3) / 4 * 4, '='))).RootElement;
        Assert.Equal("alice", payload.GetProperty("sub").GetString());
        Assert.Equal("demo", payload.GetProperty("rooms")[0].GetString());
        var ttl = payload.GetProperty("exp").GetInt64() - DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.InRange(ttl, 3500, 3600);
    }
}
