using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
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
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RoomSignalRedisOptions>, RoomSignalRedisOptionsValidator>());
        services.TryAddSingleton<RedisConnection>();
        services.TryAddSingleton<IRedisConnection>(sp => sp.GetRequiredService<RedisConnection>());
        return services;
    }
}

/// <summary>Names the broken rule of <see cref="RoomSignalRedisOptions"/> at start.</summary>
internal sealed class RoomSignalRedisOptionsValidator : IValidateOptions<RoomSignalRedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RoomSignalRedisOptions options)
        => options.Validate() is { } failure ? ValidateOptionsResult.Fail(failure) : ValidateOptionsResult.Success;
}
