using System.Text.Json;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RoomSignal.Contracts;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Operations;

public sealed class TransportSettingsTests
{
    [Fact]
    public async Task KestrelSocketSettingsInConfigurationReachTheTransportAndRelaysStillArrive()
    {
        await using var node = await RoomSignalNode.StartAsync(new Dictionary<string, string?>
        {
            ["Kestrel:Sockets:UnsafePreferInlineScheduling"] = "true",
            ["Kestrel:Sockets:IOQueueCount"] = "1",
        });

        var transport = node.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value;
        Assert.True(transport.UnsafePreferInlineScheduling);
        Assert.Equal(1, transport.IOQueueCount);
        await AssertAnOfferArrivesAsync(node, "inline");
    }

    [Fact]
    public void TheServersRuntimeConfigurationKeepsIdleWorkersFromSpinningAndTheGcHeapCountFixed()
    {
        // What `dotnet build` and `dotnet publish` (and so the Docker image) put beside RoomSignal.Server.dll; the
        // runtime reads it at start. docs/benchmarks.md measures both settings (relay CPU per message, join p99).
        var path = Path.ChangeExtension(RoomSignalProcess.ServerDll, ".runtimeconfig.json");
        using var config = JsonDocument.Parse(File.ReadAllText(path));
        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        Assert.True(properties.TryGetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", out var spinLimit),
            $"{path} does not set System.Threading.ThreadPool.UnfairSemaphoreSpinLimit");
        Assert.Equal(0, spinLimit.GetInt32());
        Assert.True(properties.GetProperty("System.GC.Server").GetBoolean(), "the server ships with server GC");
        Assert.True(properties.TryGetProperty("System.GC.DynamicAdaptationMode", out var adaptation),
            $"{path} does not turn off the GC's dynamic adaptation (System.GC.DynamicAdaptationMode)");
        Assert.Equal(0, adaptation.GetInt32());
    }

    [Fact]
    public async Task OnASingleNodeSocketCompletionsAndKestrelsContinuationsRunInlineByDefault()
    {
        await using var node = await RoomSignalNode.StartAsync();

        var transport = node.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value;
        Assert.True(transport.UnsafePreferInlineScheduling, "RoomSignal:Transport:InlineIO (unset: on without Redis) turns on Kestrel's inline scheduling");
        Assert.Equal("1", Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"));
        Assert.Equal(Environment.ProcessorCount.ToString(), Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT"));
        Assert.Equal(new SocketTransportOptions().IOQueueCount, transport.IOQueueCount);
    }

    [Fact]
    public async Task InAClusterKestrelKeepsItsDefaultsUnlessInlineIOIsAskedFor()
    {
        await using var redis = await RedisServer.StartAsync();
        var configuration = new Dictionary<string, string?>
        {
            ["RoomSignal:Redis:Configuration"] = redis.Configuration,
            ["RoomSignal:Redis:Prefix"] = TestNames.Unique("inline"),
        };
        await using (var node = await RoomSignalNode.StartAsync(configuration))
        {
            Assert.False(node.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.UnsafePreferInlineScheduling);
        }

        configuration["RoomSignal:Transport:InlineIO"] = "true";
        await using var asked = await RoomSignalNode.StartAsync(configuration);
        Assert.True(asked.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.UnsafePreferInlineScheduling);
    }

    [Fact]
    public async Task WithInlineIOOffTheTransportKeepsKestrelsDefaults()
    {
        await using var node = await RoomSignalNode.StartAsync(new Dictionary<string, string?> { ["RoomSignal:Transport:InlineIO"] = "false" });

        var transport = node.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value;
        Assert.False(transport.UnsafePreferInlineScheduling);
        Assert.Equal(new SocketTransportOptions().IOQueueCount, transport.IOQueueCount);
    }

    [Fact]
    public async Task SocketThreadsSetsHowManySocketEngineThreadsTheNodeRunsAndRelaysStillArrive()
    {
        // The runtime reads the thread count once per process, when the first socket opens: one node process per value.
        foreach (var threads in new[] { 1, 3 })
        {
            await using var node = await RoomSignalProcess.StartAsync(new Dictionary<string, string?>
            {
                ["RoomSignal:Transport:SocketThreads"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });

            Assert.Equal(threads, ThreadsNamed(node.ProcessId, ".NET Sockets"));
            await AssertAnOfferArrivesAsync(node, "threads", skipNegotiation: true); // the direct transport, on those threads
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-2")]
    [InlineData("1025")]
    public async Task AnOutOfRangeSocketThreadsStopsTheNodeFromStartingWithAMessageNamingTheKey(string value)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(
            () => RoomSignalNode.StartAsync(new Dictionary<string, string?> { ["RoomSignal:Transport:SocketThreads"] = value }));

        Assert.Contains("RoomSignal:Transport:SocketThreads must be between 1 and 1024", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnExplicitKestrelSettingWinsOverInlineIO()
    {
        await using var node = await RoomSignalNode.StartAsync(new Dictionary<string, string?> { ["Kestrel:Sockets:UnsafePreferInlineScheduling"] = "false" });

        Assert.False(node.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.UnsafePreferInlineScheduling);
    }

    private static async Task AssertAnOfferArrivesAsync(IRoomSignalEndpoint node, string name, bool skipNegotiation = false)
    {
        var room = TestNames.Unique(name);
        await using var a = await TestPeer.ConnectAsync(node, o => o.SkipNegotiation = skipNegotiation);
        await using var b = await TestPeer.ConnectAsync(node, o => o.SkipNegotiation = skipNegotiation);
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        await a.Client.SendOfferAsync(b.Id, room, $"v=0 {name}").Within("offer");
        Assert.Equal(new SdpMessage(a.Id, b.Id, room, $"v=0 {name}"), await b.WaitForAsync<SdpMessage>(RoomClientEvents.Offer));
    }

    private static int ThreadsNamed(int processId, string name)
    {
        var count = 0;
        foreach (var task in Directory.GetDirectories($"/proc/{processId}/task"))
        {
            try
            {
                count += File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') == name ? 1 : 0;
            }
            catch (IOException)
            {
                // the thread ended after the listing
            }
        }

        return count;
    }
}
