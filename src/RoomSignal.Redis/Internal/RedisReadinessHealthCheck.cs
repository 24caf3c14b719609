using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RoomSignal.Redis.Internal;

/// <summary>Healthy while the shared Redis connection answers; connects on first use.</summary>
internal sealed class RedisReadinessHealthCheck(IRedisConnection redis) : IHealthCheck
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

        return redis.IsConnected
            ? HealthCheckResult.Healthy("Redis is connected.")
            : new HealthCheckResult(context.Registration.FailureStatus, "Redis is unreachable; the node serves only its own connections.");
    }
}
