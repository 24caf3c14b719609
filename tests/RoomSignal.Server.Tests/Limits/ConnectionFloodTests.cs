using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text.RegularExpressions;
using RoomSignal.Server.Limits;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Limits;

/// <summary>
/// A flood of WebSockets past the node's descriptor limit: the real server as a process under a low <c>ulimit -n</c>.
/// Without the cap such a node climbs in memory and aborts with "Out of memory." within seconds (LESSONS).
/// </summary>
public sealed partial class ConnectionFloodTests
{
    private const int OpenFilesLimit = 1024;
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ANodeFloodedPastItsDescriptorLimitRefusesTheExcessStaysSmallReportsFullAndServesNewcomersOnceConnectionsDrop()
    {
        await using var node = await RoomSignalProcess.StartAsync(new Dictionary<string, string?>(), openFilesLimit: OpenFilesLimit);
        using var http = new HttpClient { BaseAddress = node.BaseUri, Timeout = TimeSpan.FromSeconds(5) };

        // The cap is derived from the descriptor limit and what the process holds at start, and logged.
        await Eventually.UntilAsync(() => CapLine().IsMatch(node.Output), "the node to log its connection cap");
        var match = CapLine().Match(node.Output);
        var expectedCap = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(ConnectionCapacity.DeriveFromDescriptors(OpenFilesLimit, int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture)), expectedCap);
        Assert.InRange(expectedCap, 100, OpenFilesLimit / 2);
        var rssAtStart = ResidentMegabytes(node.ProcessId);

        // Open more WebSockets than the descriptor limit allows at all.
        var attempts = OpenFilesLimit + 100;
        var held = new List<RawHubSocket>();
        var refused = 0;
        foreach (var batch in Enumerable.Range(0, attempts).Chunk(50))
        {
            var results = await Task.WhenAll(batch.Select(_ => TryConnectAsync(node.HubUri))).Within("a batch of WebSockets to connect or be refused", TimeSpan.FromSeconds(60));
            Assert.False(node.HasExited, "the node died during the flood:" + Environment.NewLine + node.Output);
            held.AddRange(results.OfType<RawHubSocket>());
            refused += results.Count(r => r is null);
        }

        try
        {
            Assert.Equal(expectedCap, held.Count);
            Assert.Equal(attempts - expectedCap, refused);
            using (var full = await http.GetAsync("readyz").Within("/readyz while full"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, full.StatusCode);
            }

            // Hold the node at its cap while newcomers keep knocking: it lives, refuses them, and its memory stays put.
            var rssAtCap = ResidentMegabytes(node.ProcessId);
            var peakRss = rssAtCap;
            var knocks = 0;
            var knocksRefused = 0;
            var until = DateTime.UtcNow + Hold;
            var nextPing = DateTime.UtcNow;
            while (DateTime.UtcNow < until)
            {
                var knock = await Task.WhenAll(Enumerable.Range(0, 25).Select(_ => TryConnectAsync(node.HubUri))).Within("newcomers at the cap");
                knocks += knock.Length;
                knocksRefused += knock.Count(r => r is null);
                foreach (var extra in knock.OfType<RawHubSocket>())
                {
                    held.Add(extra);
                }

                if (DateTime.UtcNow >= nextPing)
                {
                    await Task.WhenAll(held.Select(s => s.PingAsync())).Within("keep-alive pings");
                    nextPing = DateTime.UtcNow.AddSeconds(5);
                }

                Assert.False(node.HasExited, "the node died at its cap:" + Environment.NewLine + node.Output);
                peakRss = Math.Max(peakRss, ResidentMegabytes(node.ProcessId));
                await Task.Delay(200);
            }

            Assert.False(node.HasExited, "the node died at its cap:" + Environment.NewLine + node.Output);
            Assert.Equal(knocks, knocksRefused);
            Assert.All(held, s => Assert.Equal(WebSocketState.Open, s.State));
            Assert.True(peakRss - rssAtCap < 64, $"RSS climbed at the cap: {rssAtCap} MB -> {peakRss} MB (start {rssAtStart} MB)");
            Assert.DoesNotContain("Out of memory", node.Output, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Too many open files", node.Output, StringComparison.OrdinalIgnoreCase);

            // Some leave: the node is ready again and a newcomer with the real client joins a room.
            foreach (var socket in held.Take(20).ToArray())
            {
                await socket.DisposeAsync();
                held.Remove(socket);
            }

            await Eventually.UntilAsync(async () =>
            {
                using var ready = await http.GetAsync("readyz");
                return ready.StatusCode == HttpStatusCode.OK;
            }, "/readyz to be 200 again after connections dropped");
            await using var newcomer = await TestPeer.ConnectAsync(node.CreateHubConnection());
            var joined = await newcomer.JoinAsync(TestNames.Unique("after-flood"));
            Assert.Empty(joined.Peers);
        }
        finally
        {
            await Task.WhenAll(held.Select(s => s.DisposeAsync().AsTask()));
        }
    }

    private static async Task<RawHubSocket?> TryConnectAsync(Uri hubUri)
    {
        try
        {
            return await RawHubSocket.ConnectAsync(hubUri).Within("a WebSocket to connect or be refused");
        }
        catch (WebSocketException)
        {
            return null;
        }
        catch (HttpRequestException ex)
        {
            throw new InvalidOperationException("a connect failed below HTTP (is the node still alive?)", ex);
        }
    }

    private static long ResidentMegabytes(int processId)
    {
        var line = File.ReadLines($"/proc/{processId}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    [GeneratedRegex(@"Connection cap: (\d+) WebSockets.*descriptor limit \d+, (\d+) in use at start")]
    private static partial Regex CapLine();
}
