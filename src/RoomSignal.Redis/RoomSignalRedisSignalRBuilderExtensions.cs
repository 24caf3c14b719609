using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RoomSignal.Redis;
using RoomSignal.Redis.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the RoomSignal Redis backplane for SignalR.</summary>
public static class RoomSignalRedisSignalRBuilderExtensions
{
    /// <summary>Name of the Redis health check.</summary>
    public const string HealthCheckName = "redis";

    /// <summary>Tag the Redis health check carries by default, so that a readiness endpoint filtering on it returns 503 while Redis is unreachable.</summary>
    public const string ReadinessTag = "ready";

    /// <summary>
    /// Makes every hub use <see cref="RedisHubLifetimeManager{THub}"/> over the shared Redis connection bound from
    /// <c>RoomSignal:Redis</c> (<c>Configuration</c>, <c>Prefix</c>), with <see cref="RedisBackplaneOptions"/> from
    /// <c>RoomSignal:Redis:Backplane</c>, and adds a Redis health check tagged <see cref="ReadinessTag"/>.
    /// </summary>
    public static ISignalRServerBuilder AddRoomSignalRedis(this ISignalRServerBuilder builder)
        => builder.AddRoomSignalRedis(static _ => { });

    /// <summary>
    /// Makes every hub use <see cref="RedisHubLifetimeManager{THub}"/>, as <see cref="AddRoomSignalRedis(ISignalRServerBuilder)"/>
    /// does, then applies <paramref name="configure"/> to the backplane options.
    /// </summary>
    public static ISignalRServerBuilder AddRoomSignalRedis(this ISignalRServerBuilder builder, Action<RedisBackplaneOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddRoomSignalRedisConnection();
        services.AddOptions<RedisBackplaneOptions>()
            .BindConfiguration(RedisBackplaneOptions.SectionName)
            .Configure(configure)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // The last registration wins over AddSignalR's default manager.
        services.AddSingleton(typeof(HubLifetimeManager<>), typeof(RedisHubLifetimeManager<>));
        services.AddRoomSignalRedisHealthCheck();
        return builder;
    }

    /// <summary>
    /// Adds a health check named <see cref="HealthCheckName"/> that is unhealthy while the shared Redis connection is
    /// down (once, however often called), tagged with <paramref name="tags"/> or, when none are given, <see cref="ReadinessTag"/>.
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
                    sp => new RedisReadinessHealthCheck(sp.GetRequiredService<IRedisConnection>()),
                    HealthStatus.Unhealthy,
                    checkTags));
            }
        });
        return services;
    }
}
