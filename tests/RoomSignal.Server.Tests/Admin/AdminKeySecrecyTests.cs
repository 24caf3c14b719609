using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RoomSignal.Contracts;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Admin;

public sealed class AdminKeySecrecyTests
{
    [Fact]
    public async Task WithAuthOnTheDetailShowsUserIdsAndTheAdminKeyNeverAppearsInALogLine()
    {
        var logs = new CapturingLoggerProvider();
        var configuration = TestTokens.AuthOn(); // the JWT handler sees the admin bearer too
        configuration["RoomSignal:Admin:Key"] = AdminClient.TestKey;
        configuration["Logging:LogLevel:Default"] = "Information";
        configuration["Logging:LogLevel:Microsoft"] = "Information";
        configuration["Logging:LogLevel:Microsoft.AspNetCore"] = "Information";
        await using var node = await RoomSignalNode.StartAsync(configuration, services => services.AddSingleton<ILoggerProvider>(logs));
        var room = TestNames.Unique("secret");
        await using var a = await TestPeer.ConnectAsync(node, o => o.HubUrl = node.HubUriWithToken(TestTokens.For("alice", [room])));
        await a.JoinAsync(room);
        using var admin = new AdminClient(node);
        using var wrong = new AdminClient(node, AdminClient.TestKey[..^1] + "!");

        Assert.Equal(1, (await admin.ListRoomsAsync())[room]);
        Assert.Equal("alice", Assert.Single((await admin.GetRoomAsync(room))!).UserId); // with auth on: the token's sub
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.SendAsync(HttpMethod.Get, "admin/rooms")).Status);
        Assert.Equal(HttpStatusCode.NoContent, await admin.RemoveMemberAsync(room, a.Id));
        await a.WaitForAsync<RemovedFromRoom>(RoomClientEvents.Removed);
        await node.DisposeAsync();

        var entries = logs.Entries;
        Assert.Contains(entries, e => e.Level == LogLevel.Information && e.Message.Contains("Admin removed connection", StringComparison.Ordinal)); // the capture sees Information
        Assert.Contains(entries, e => e.Message.Contains("wrong key", StringComparison.Ordinal)); // and the refusal, without the key
        foreach (var entry in entries)
        {
            var text = entry.Message + " " + entry.Exception;
            Assert.False(text.Contains(AdminClient.TestKey[..^1], StringComparison.Ordinal), $"[{entry.Level} {entry.Category}] leaked the admin key: {text}");
        }
    }

    [Fact]
    public async Task AKeyShorterThan16CharactersStopsTheServerNamingTheSetting()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => RoomSignalNode.StartAsync(new Dictionary<string, string?> { ["RoomSignal:Admin:Key"] = "short-key" }));
        Assert.Contains("RoomSignal:Admin:Key must be at least 16 characters", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("short-key", error.Message, StringComparison.Ordinal);
    }
}
