using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RoomSignal.Server.Rooms;
using RoomSignal.Server.Rooms.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the cluster room store (membership in Redis).</summary>
public static class RedisRoomsServiceCollectionExtensions
{
    /// <summary>
    /// Replaces the room store with the Redis one, adds the cluster service (heartbeat, sweep of dead nodes,
    /// recovery after Redis loses its data, drain on graceful stop) and binds <see cref="RoomClusterOptions"/>
    /// from <c>RoomSignal:Cluster</c>. Needs <c>RoomSignal:Redis:Configuration</c>.
    /// </summary>
    public static IServiceCollection AddRoomSignalRedisRooms(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddRoomSignalRedisConnection();
        services.AddOptions<RoomClusterOptions>()
            .BindConfiguration(RoomClusterOptions.SectionName)
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RoomClusterOptions>, RoomClusterOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RedisRoomStore>();
        services.RemoveAll<IRoomStore>();
        services.AddSingleton<IRoomStore>(sp => sp.GetRequiredService<RedisRoomStore>());
        services.AddHostedService<RoomClusterService>();
        return services;
    }
}
