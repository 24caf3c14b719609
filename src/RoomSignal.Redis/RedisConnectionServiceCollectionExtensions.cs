using Microsoft.Extensions.DependencyInjection.Extensions;
using RoomSignal.Redis;
using RoomSignal.Redis.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the shared Redis connection.</summary>
public static class RedisConnectionServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IRedisConnection"/> (once, however often called) with <see cref="RoomSignalRedisOptions"/>
    /// bound from <c>RoomSignal:Redis</c>.
    /// </summary>
    public static IServiceCollection AddRoomSignalRedisConnection(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<RoomSignalRedisOptions>()
            .BindConfiguration(RoomSignalRedisOptions.SectionName)
            .Validate(o => !string.IsNullOrWhiteSpace(o.Configuration), "RoomSignal:Redis:Configuration must be set to use Redis")
            .Validate(o => !string.IsNullOrWhiteSpace(o.Prefix) && o.Prefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'), "RoomSignal:Redis:Prefix must be non-empty A-Z a-z 0-9 _ - .")
            .ValidateOnStart();
        services.TryAddSingleton<RedisConnection>();
        services.TryAddSingleton<IRedisConnection>(sp => sp.GetRequiredService<RedisConnection>());
        return services;
    }
}
