using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Limits;

/// <summary>
/// A client that opens and closes connections in a tight loop, every way a connection can end: a clean close, a
/// dropped socket in the middle of a join, a socket dropped before its handshake, the official client's negotiate,
/// start and stop. Afterwards nothing is counted that is not there: the node (a process of its own, so its
/// <c>/metrics</c> are its alone) reports no connection, member or room, is ready, and admits exactly its cap again.
/// </summary>
public sealed class ConnectCloseLoopTests
{
    private const int Cap = 16;
    private const int Iterations = 3000;
    private const int Workers = 4;

    [Fact]
    public async Task ThousandsOfConnectsAndClosesLeaveNoCountedConnectionAndTheNodeAdmitsItsWholeCapAgain()
    {
        await using var node = await RoomSignalProcess.StartAsync(new Dictionary<string, string?>
        {
            ["RoomSignal:Limits:MaxConnections"] = Cap.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RoomSignal:Limits:MaxConnectionsPerIp"] = Cap.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RoomSignal:Metrics:Prometheus"] = "true",
        });
        using var http = new HttpClient { BaseAddress = node.BaseUri, Timeout = TimeSpan.FromSeconds(5) };

        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var next = -1;
        async Task WorkAsync()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Iterations)
            {
                try
                {
                    await OneConnectionAsync(node, i);
                }
                catch (Exception ex) when (ex is WebSocketException or HttpRequestException or InvalidOperationException or IOException or OperationCanceledException)
                {
                    failures.Enqueue($"#{i} ({i % 4}): {ex.GetType().Name}: {ex.Message}");
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(WorkAsync)))
            .Within($"{Iterations} connects and closes", TimeSpan.FromSeconds(120));

        // At most four at once, far below the cap: none may have been refused.
        Assert.True(failures.IsEmpty, $"{failures.Count} of {Iterations} connections failed, first: {failures.FirstOrDefault()}");
        Assert.False(node.HasExited, "the node died:" + Environment.NewLine + node.Output);

        var counts = "";
        try
        {
        await Eventually.UntilAsync(
            async () =>
            {
                var scrape = await PrometheusScrape.ReadAsync(node);
                counts = $"connections {scrape.Sum("roomsignal_connections")}, members {scrape.Sum("roomsignal_room_members")}, rooms {scrape.Sum("roomsignal_rooms")}";
                return scrape.Has("roomsignal_connections") && scrape.Sum("roomsignal_connections") == 0
                    && scrape.Sum("roomsignal_room_members") == 0 && scrape.Sum("roomsignal_rooms") == 0;
            },
            "the node to count no connection, member or room",
            TimeSpan.FromSeconds(15));
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}; last scrape: {counts}", ex);
        }
        using (var ready = await http.GetAsync("readyz").Within("/readyz after the loop"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        // No connection stayed a member of a room it joined as it went: a newcomer finds every room of the loop empty.
        await using (var newcomer = await TestPeer.ConnectAsync(node))
        {
            var ghosts = new List<string>();
            for (var k = 0; k < 50; k++)
            {
                var joined = await newcomer.JoinAsync($"loop-{k}");
                ghosts.AddRange(joined.Peers.Select(p => $"loop-{k}: {p.Id}"));
                await newcomer.Client.ExitAsync($"loop-{k}").Within("an exit");
            }

            Assert.True(ghosts.Count == 0, $"{ghosts.Count} members of gone connections are still in rooms, e.g. {ghosts.FirstOrDefault()}");
        }

        // The connection cap and the per-address cap count nothing left over (a leak would refuse one of these) and
        // nothing below zero (which would admit one more).
        var held = new List<RawHubSocket>();
        try
        {
            for (var i = 0; i < Cap; i++)
            {
                held.Add(await RawHubSocket.ConnectAsync(node.HubUri).Within($"connection {i + 1} of the cap"));
            }

            Assert.Equal(503, await RawHubSocket.RefusalStatusAsync(node.HubUri));
            await Eventually.UntilAsync(async () => (await PrometheusScrape.ReadAsync(node)).Sum("roomsignal_connections") == Cap, "the held connections to be counted");
        }
        finally
        {
            foreach (var socket in held)
            {
                await socket.DisposeAsync();
            }
        }

        await Eventually.UntilAsync(async () => (await PrometheusScrape.ReadAsync(node)).Sum("roomsignal_connections") == 0, "the held connections to be counted out");
    }

    private static async Task OneConnectionAsync(RoomSignalProcess node, int i)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        switch (i % 4)
        {
            case 0: // handshake, then a clean close
            {
                await using var socket = await RawHubSocket.ConnectAsync(node.HubUri, timeout.Token);
                break;
            }

            case 1: // join a room and drop the socket while the join may still be running
            {
                var socket = await RawHubSocket.ConnectAsync(node.HubUri, timeout.Token);
                await socket.SendAsync($$"""{"type":1,"invocationId":"1","target":"CreateAndJoinRoom","arguments":[{"room":"loop-{{i % 50}}"}]}""", timeout.Token);
                if (i % 8 == 1)
                {
                    await socket.ReceiveAsync(timeout.Token); // sometimes after the join completed
                }

                socket.Abort();
                break;
            }

            case 2: // upgraded, then dropped before the SignalR handshake
            {
                using var socket = new ClientWebSocket();
                await socket.ConnectAsync(node.HubUri.AsWebSocketUri(), timeout.Token);
                socket.Abort();
                break;
            }

            default: // the official client: negotiate, connect, stop
            {
                await using var connection = new HubConnectionBuilder()
                    .WithUrl(node.HubUri, Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets)
                    .Build();
                await connection.StartAsync(timeout.Token);
                await connection.StopAsync(timeout.Token);
                break;
            }
        }
    }
}
