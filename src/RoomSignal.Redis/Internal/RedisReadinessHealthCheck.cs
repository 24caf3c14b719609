using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RoomSignal.Redis.Internal;

/// <summary>
/// Healthy while the shared Redis connection answers and, when a backplane is registered, once it is ready
/// (<see cref="IRedisBackplaneStatus"/>); connects and probes on demand.
/// </summary>
internal sealed class RedisReadinessHealthCheck(IRedisConnection redis, IRedisBackplaneStatus? backplane = null) : IHealthCheck
{
    private static readonly TimeSpan ConnectWait = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await redis.GetMultiplexerAsync(cancellationToken).WaitAsync(ConnectWait, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "Redis is not connected yet.", ex);
        }

        if (!redis.IsConnected)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "Redis is unreachable; the node serves only its own connections.");
        }

        if (backplane is not null && !await backplane.CheckAsync(cancellationToken).ConfigureAwait(false))
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "Redis has not confirmed the backplane's subscriptions yet.");
        }

        return HealthCheckResult.Healthy("Redis is connected and the backplane's subscriptions are confirmed.");
    }
}
