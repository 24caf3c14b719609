using Microsoft.AspNetCore.SignalR;
using RoomSignal.Testing;

namespace RoomSignal.Redis.Tests.Backplane;

/// <summary>Prefixes keep deployments apart; unsupported features say so.</summary>
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
    public async Task ClientResultsAreRefusedWithAClearError()
    {
        await using var cluster = await BackplaneCluster.StartAsync(redis.Server, 1);
        var clients = await cluster.ConnectAsync(1);

        var error = await Assert.ThrowsAsync<NotSupportedException>(
            () => cluster[0].Manager.InvokeConnectionAsync<int>(clients[0].Id, "Compute", [], CancellationToken.None));
        Assert.Contains("not supported", error.Message, StringComparison.Ordinal);
    }
}
