using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RoomSignal.Server.Rooms.Redis;

/// <summary>
/// Ready once Redis has confirmed this node's subscription to room changes (the backplane's readiness is the
/// Redis health check's). A node that started or reconnected without Redis answers 503 until then, so a load
/// balancer sends it no clients whose membership changes it could not yet follow.
/// </summary>
internal sealed class ClusterReadinessHealthCheck(RedisRoomStore store, TimeProvider time) : IHealthCheck
{
    // The subscription is confirmed a round trip after Redis answers; a probe in that moment waits for it.
    private static readonly TimeSpan SettleWait = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var started = time.GetTimestamp();
        while (!IsReady())
        {
            if (time.GetElapsedTime(started) >= SettleWait)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, "Redis has not confirmed the subscription to room changes yet.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(25), time, cancellationToken);
        }

        return HealthCheckResult.Healthy("Subscriptions confirmed.");
    }

    private bool IsReady() => store.IsSubscribed;
}
