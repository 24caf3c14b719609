using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Limits;

/// <summary>
/// A node that has been told to stop (SIGTERM) refuses new connections with a 503 that says it is shutting down,
/// for as long as its drain runs, so a client or nginx goes to another node instead of landing on a dying one.
/// </summary>
public sealed class ShutdownAdmissionTests
{
    [Fact]
    public async Task ANodeThatIsStoppingRefusesANewNegotiateAndANewWebSocketWith503NamingTheShutdown()
    {
        var drain = new HeldDrain();
        await using var node = await RoomSignalNode.StartAsync(
            new Dictionary<string, string?> { ["RoomSignal:Metrics:Prometheus"] = "true" },
            services => services.AddHostedService(_ => drain));
        Assert.Equal(200, (await node.NegotiateAsync()).Status);

        // What SIGTERM does: the lifetime signals stopping, then the host stops; the drain is held back here.
        node.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        var stopped = node.StopAsync();
        await drain.Entered.Within("the stop to reach the held drain");

        var answer = await node.NegotiateAsync();
        Assert.True(answer.Status == 503, $"negotiate on a stopping node answered {answer}");
        Assert.Equal("5", answer.RetryAfter);
        Assert.Equal("server: this node is shutting down; connect to another node", answer.Body);

        // A WebSocket opened without negotiation (no connection id) is refused the same way, before the upgrade.
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(node.HubUri.AsWebSocketUri(), CancellationToken.None).Within("a raw WebSocket to the stopping node"));
        Assert.Equal(503, (int)socket.HttpStatusCode);

        var scrape = await PrometheusScrape.ReadAsync(node);
        Assert.Equal(2, scrape.Sum("roomsignal_connection_refusals_total", ("reason", "stopping")));

        drain.Release();
        await stopped.Within("the node to finish stopping", TimeSpan.FromSeconds(20));
    }

    /// <summary>A stop step that runs before the server stops listening, held until the test releases it.</summary>
    private sealed class HeldDrain : IHostedLifecycleService
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Entered => _entered.Task;

        public void Release() => _released.TrySetResult();

        public async Task StoppingAsync(CancellationToken cancellationToken)
        {
            _entered.TrySetResult();
            await _released.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }

        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
