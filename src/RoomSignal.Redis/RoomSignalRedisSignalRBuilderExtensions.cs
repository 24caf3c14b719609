using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using RoomSignal.Redis;
using RoomSignal.Redis.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the official SignalR Redis backplane over RoomSignal's shared Redis connection.</summary>
public static class RoomSignalRedisSignalRBuilderExtensions
{
    /// <summary>Name of the Redis health check.</summary>
    public const string HealthCheckName = "redis";

    /// <summary>Tag the Redis health check carries by default, so that a readiness endpoint filtering on it returns 503 while Redis is unreachable.</summary>
    public const string ReadinessTag = "ready";

    /// <summary>
    /// Makes every hub use the official <see cref="RedisHubLifetimeManager{THub}"/> (<c>AddStackExchangeRedis</c>) over the
    /// shared connection bound from <c>RoomSignal:Redis</c> (<c>Configuration</c>, <c>Prefix</c> as the channel prefix,
    /// timeouts), and adds a health check tagged <see cref="ReadinessTag"/> that is healthy once Redis answers and
    /// the backplane of <typeparamref name="THub"/> is ready (<see cref="IRedisBackplaneStatus"/>, also registered).
    /// </summary>
    /// <typeparam name="THub">The hub whose backplane readiness gates the health check.</typeparam>
    public static ISignalRServerBuilder AddRoomSignalRedis<THub>(this ISignalRServerBuilder builder) where THub : Hub
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddRoomSignalRedisConnection();
        builder.AddStackExchangeRedis();
        services.AddOptions<RedisOptions>().Configure<RedisConnection>((options, redis) =>
        {
            options.Configuration = redis.Configuration;
            options.ConnectionFactory = redis.ConnectBackplaneAsync;
        });
        services.TryAddSingleton<RedisBackplaneStatus<THub>>();
        services.TryAddSingleton<IRedisBackplaneStatus>(sp => sp.GetRequiredService<RedisBackplaneStatus<THub>>());
        services.AddRoomSignalRedisHealthCheck();

        // The shared connection logs a Redis outage once when it starts and once when it ends; the backplane would log
        // the same drop and return again, and its failed first connect, in its own words.
        services.AddLogging(logging => logging.AddFilter("Microsoft.AspNetCore.SignalR.StackExchangeRedis", LogLevel.Critical));
        return builder;
    }

    /// <summary>
    /// Adds a health check named <see cref="HealthCheckName"/> that is unhealthy while the shared Redis connection is
    /// down or the backplane (when registered) is not ready (once, however often called), tagged with
    /// <paramref name="tags"/> or, when none are given, <see cref="ReadinessTag"/>.
    /// </summary>
    public static IServiceCollection AddRoomSignalRedisHealthCheck(this IServiceCollection services, params string[] tags)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddRoomSignalRedisConnection();
        services.AddHealthChecks();
        var checkTags = tags is { Length: > 0 } ? tags : [ReadinessTag];
        services.Configure<HealthCheckServiceOptions>(options =>
        {
            if (options.Registrations.All(r => r.Name != HealthCheckName))
            {
                options.Registrations.Add(new HealthCheckRegistration(
                    HealthCheckName,
                    sp => new RedisReadinessHealthCheck(sp.GetRequiredService<IRedisConnection>(), sp.GetService<IRedisBackplaneStatus>()),
                    HealthStatus.Unhealthy,
                    checkTags));
            }
        });
        return services;
    }
}
