using Microsoft.Extensions.Diagnostics.HealthChecks;
using RoomSignal.Redis;

namespace RoomSignal.Server.Rooms.Redis;

/// <summary>
/// Ready once Redis has confirmed this node's subscriptions: the room changes channel and the backplane's channels
/// (its connections registered). A node that started or reconnected without Redis answers 503 until then, so a load
/// balancer sends it no clients whose messages from other nodes it could not yet receive.
/// </summary>
internal sealed class ClusterReadinessHealthCheck(RedisRoomStore store, TimeProvider time, IRedisBackplaneStatus? backplane = null) : IHealthCheck
{
    // The backplane confirms its subscriptions a round trip after Redis answers; a probe in that moment waits for it.
    private static readonly TimeSpan SettleWait = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var started = time.GetTimestamp();
        while (!IsReady())
        {
            if (time.GetElapsedTime(started) >= SettleWait)
            {
                return new HealthCheckResult(
                    context.Registration.FailureStatus,
                    !store.IsSubscribed
                        ? "Redis has not confirmed the subscription to room changes yet."
                        : "The backplane has not confirmed its subscriptions or registered its connections yet.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(25), time, cancellationToken);
        }

        return HealthCheckResult.Healthy("Subscriptions confirmed.");
    }

    private bool IsReady() => store.IsSubscribed && backplane?.IsReady != false;
}
