using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RoomSignal.Contracts;
using RoomSignal.Redis;
using RoomSignal.Server;
using RoomSignal.Server.Hubs;
using RoomSignal.Server.Rooms;
using RoomSignal.Server.Rooms.Redis;
using RoomSignal.Server.Validation;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Wires the RoomSignal service into an ASP.NET Core application.</summary>
public static class RoomSignalServerExtensions
{
    /// <summary>The largest hub message a client may send; a larger one closes that connection only.</summary>
    public const long MaximumReceiveMessageSize = 128 * 1024;

    /// <summary>Tag of the health checks that gate <c>/readyz</c> (the one the Redis health check carries).</summary>
    public const string ReadinessTag = RoomSignalRedisSignalRBuilderExtensions.ReadinessTag;

    /// <summary>Adds the room hub, its validation, options, room store and health checks.</summary>
    public static IHostApplicationBuilder AddRoomSignal(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;

        services.AddOptions<RoomSignalOptions>()
            .BindConfiguration(RoomSignalOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<RoomOptions>()
            .BindConfiguration(RoomOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<NodeIdentity>();
        services.AddSingleton(TimeProvider.System);

        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));

        var signalR = services.AddSignalR(o =>
        {
            o.MaximumReceiveMessageSize = MaximumReceiveMessageSize;
            o.EnableDetailedErrors = false;
            o.AddFilter<ValidationHubFilter>();
        });
        services.AddRoomSignalValidation();
        // SignalR logs every HubException a hub method throws as an error with a stack trace, so each refused
        // invocation (bad input, full room) would flood the log. ValidationHubFilter logs the unexpected failures itself.
        builder.Logging.AddFilter("Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher", LogLevel.Critical);
        // Likewise every failing /readyz probe would log an error while Redis is down; the Redis connection
        // already logs the outage once when it starts and once when it ends.
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService", LogLevel.Critical);

        // Scale out: with a Redis configured, every node shares one hub through our Redis backplane (and /readyz
        // reports 503 while Redis is unreachable), and room membership lives in Redis. Without one: a single node,
        // the default in-memory hub lifetime manager and the in-memory room store.
        services.AddHealthChecks();
        services.AddSingleton<IRoomStore, InMemoryRoomStore>();
        if (!string.IsNullOrWhiteSpace(builder.Configuration[$"{RoomSignalRedisOptions.SectionName}:Configuration"]))
        {
            signalR.AddRoomSignalRedis();
            services.AddRoomSignalRedisRooms(); // replaces the in-memory store

            // One id per node in logs and in Redis: the backplane takes RoomSignal:NodeId unless given its own.
            services.AddOptions<RedisBackplaneOptions>()
                .Configure<NodeIdentity>((backplane, node) => backplane.NodeId ??= node.Id);

            // The room store admits a connection only once the backplane can deliver to it, and /readyz waits for
            // both to have their subscriptions confirmed by Redis (a node that started without Redis needs that).
            services.AddSingleton(sp => (IRedisBackplaneStatus)sp.GetRequiredService<HubLifetimeManager<RoomHub>>());
            services.AddHealthChecks().AddCheck<ClusterReadinessHealthCheck>("cluster", tags: [ReadinessTag]);
        }

        return builder;
    }

    /// <summary>Maps the hub at <see cref="RoomHubRoutes.Path"/>, the demo page, <c>/healthz</c> and <c>/readyz</c>.</summary>
    public static WebApplication MapRoomSignal(this WebApplication app)
    {
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseWebSockets();

        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadinessTag) });
        // Stateful reconnect lets a client that lost its transport for a few seconds resume the same
        // connection (same id, same rooms) and replays the messages it missed.
        app.MapHub<RoomHub>(RoomHubRoutes.Path, o => o.AllowStatefulReconnects = true);
        return app;
    }
}
