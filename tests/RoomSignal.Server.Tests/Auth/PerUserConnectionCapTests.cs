using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Auth;

/// <summary>With auth on, <c>RoomSignal:Limits:MaxConnectionsPerUser</c> caps the connections of one <c>sub</c>, whatever tokens it holds.</summary>
public sealed class PerUserConnectionCapTests
{
    [Fact]
    public async Task ConnectionsOfOneUserPastTheCapAreRefusedNamingTheLimitWhileOtherUsersConnect()
    {
        var configuration = TestTokens.AuthOn();
        configuration["RoomSignal:Limits:MaxConnectionsPerUser"] = "2";
        await using var node = await RoomSignalNode.StartAsync(configuration);
        var room = TestNames.Unique("capped");

        // Two different tokens (another name, other rooms), one user: the cap counts the sub.
        await using var laptop = await ConnectAsync(node, TestTokens.For("alice", [room], "Alice on a laptop"));
        var phone = await ConnectAsync(node, TestTokens.For("alice", [room, "other-*"], "Alice on a phone"));
        await laptop.JoinAsync(room);
        await phone.JoinAsync(room);

        var refused = await ConnectExpectingRefusalAsync(node, TestTokens.For("alice", ["*"]));
        Assert.Contains("connections: at most 2 connections per user", refused?.Message, StringComparison.Ordinal);

        // Another user is not affected by alice's cap.
        await using var bob = await ConnectAsync(node, TestTokens.For("bob", [room]));
        var joined = await bob.JoinAsync(room);
        Assert.Equal(2, joined.Peers.Count);

        // Once one of alice's connections closes, she may open another.
        await phone.DisposeAsync();
        await Eventually.UntilAsync(async () =>
        {
            await using var again = await ConnectAsync(node, TestTokens.For("alice", [room]));
            try
            {
                await again.JoinAsync(room);
                return true;
            }
            catch (Exception)
            {
                return false;
            }
        }, "a new connection for alice once one of hers closed");
    }

    private static Task<TestPeer> ConnectAsync(RoomSignalNode node, string token)
        => TestPeer.ConnectAsync(node, o => o.HubUrl = node.HubUriWithToken(token));

    /// <summary>Connects with <paramref name="token"/> and returns the error the server closed the connection with.</summary>
    private static async Task<Exception?> ConnectExpectingRefusalAsync(RoomSignalNode node, string token)
    {
        await using var connection = TestHubConnections.Create(node.HubUriWithToken(token));
        return await TestHubConnections.StartExpectingCloseAsync(connection, "the capped connection");
    }
}
