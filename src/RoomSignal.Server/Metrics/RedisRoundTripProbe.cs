using Microsoft.Extensions.Options;
using RoomSignal.Redis;
using StackExchange.Redis;

namespace RoomSignal.Server.Metrics;

/// <summary>
/// Measures the Redis round trip for <c>roomsignal.redis.rtt</c>: one PING every <see cref="RoomSignalMetricsOptions.RedisPingInterval"/>
/// on the shared multiplexer, while it is connected. A PING that fails is not recorded (the outage shows in
/// <c>roomsignal.redis.connected</c> and is logged once by the Redis connection).
/// </summary>
internal sealed class RedisRoundTripProbe(
    IRedisConnection redis,
    RoomSignalMetrics metrics,
    IOptions<RoomSignalMetricsOptions> options,
    TimeProvider time,
    ILogger<RedisRoundTripProbe> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RedisPingInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (!redis.IsConnected)
                {
                    continue;
                }

                try
                {
                    var multiplexer = await redis.GetMultiplexerAsync(stoppingToken);
                    metrics.RedisRoundTrip(await multiplexer.GetDatabase().PingAsync());
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    MetricsLog.PingFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }
}

internal static partial class MetricsLog
{
    // Debug: while Redis is down every PING fails; the Redis connection logs the outage once at Error.
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Redis round-trip PING failed")]
    public static partial void PingFailed(ILogger logger, Exception exception);
}
