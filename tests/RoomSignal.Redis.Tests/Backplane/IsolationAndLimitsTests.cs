using Microsoft.AspNetCore.SignalR;
using RoomSignal.Testing;

namespace RoomSignal.Redis.Tests.Backplane;

/// <summary>Prefixes keep deployments apart; client results work across nodes.</summary>
public sealed class IsolationAndLimitsTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task TwoDeploymentsWithDifferentPrefixesShareOneRedisWithoutCrosstalk()
    {
        await using var blue = await BackplaneCluster.StartAsync(redis.Server, 2);
        await using var green = await BackplaneCluster.StartAsync(redis.Server, 2);
        var blueClients = await blue.ConnectAsync(2);
        var greenClients = await green.ConnectAsync(2);
        var message = TestNames.Unique("blue-only");

        await blueClients[0].InvokeAsync(nameof(BackplaneTestHub.SendAll), message);

        await Task.WhenAll(blueClients.Select(c => c.WaitForAsync(message)));
        await green.FenceAsync(greenClients[0], greenClients);
        Assert.All(greenClients, c => Assert.False(c.Has(message)));
    }

    [Fact]
    public async Task AClientResultFromAConnectionOnAnotherNodeComesBack()
    {
        // Our own backplane refused client results; the official one carries them (docs/backplane.md).
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 2);
        var clients = await cluster.ConnectAsync(2); // c1 on B

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var result = await cluster[0].HubContext.Clients.Client(clients[1].Id).InvokeAsync<int>(BackplaneTestHub.Compute, 21, timeout.Token);

        Assert.Equal(42, result);
    }
}

/// <summary>The shared Redis of this suite comes from where the run asked for it (scripts/test.sh asks for a container).</summary>
public sealed class RedisFixtureChoiceTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task TheSharedRedisComesFromTheSourceTheRunAskedForAndAnswers()
    {
        var expected = Environment.GetEnvironmentVariable("REDIS_URL") is { Length: > 0 } ? "REDIS_URL"
            : Environment.GetEnvironmentVariable("ROOMSIGNAL_TEST_REDIS") switch
            {
                "container" => "container",
                "local" => "local",
                _ => await RedisServer.DockerAnswersAsync() ? "container" : "local",
            };

        Assert.Equal(expected, redis.Server.Source);
        using var admin = await redis.Server.ConnectAsync();
        await admin.GetDatabase().PingAsync().Within("the shared Redis to answer");
    }
}
