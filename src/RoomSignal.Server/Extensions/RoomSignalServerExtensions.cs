using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RoomSignal.Contracts;
using RoomSignal.Redis;
using Microsoft.Extensions.Options;
using RoomSignal.Server;
using RoomSignal.Server.Auth;
using RoomSignal.Server.Hubs;
using RoomSignal.Server.Limits;
using RoomSignal.Server.Metrics;
using RoomSignal.Server.Rooms;
using RoomSignal.Server.Rooms.Events;
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
        var clustered = !string.IsNullOrWhiteSpace(builder.Configuration[$"{RoomSignalRedisOptions.SectionName}:Configuration"]);
        builder.AddRoomSignalTransport(clustered); // RoomSignal:Transport: the direct WebSocket transport and inline I/O
        services.AddRoomSignalTransportTuning(); // Kestrel:Sockets, measured in docs/benchmarks.md (after: explicit keys win)

        var signalR = services.AddSignalR(o =>
        {
            o.MaximumReceiveMessageSize = MaximumReceiveMessageSize;
            o.EnableDetailedErrors = false;
            // Limits first: a flood is refused before anything is validated.
            o.AddFilter<LimitsHubFilter>();
            o.AddFilter<ValidationHubFilter>();
        });
        services.AddSingleton<IHubActivator<RoomHub>, RoomHubActivator>(); // wins over SignalR's scoped open-generic activator
        // JSON and MessagePack; MessagePack maps keyed by the same camelCase names as JSON, so JS clients read the same fields.
        signalR.AddMessagePackProtocol(o => o.SerializerOptions = RoomSignalMessagePack.SerializerOptions);
        services.AddRoomSignalValidation();
        services.AddRoomSignalLimits();
        builder.AddRoomSignalMetrics();
        builder.AddRoomSignalAuth(); // after validation: its hub filter checks rooms already known to be well formed
        builder.AddRoomSignalIce();
        // SignalR logs every HubException a hub method throws as an error with a stack trace, so each refused
        // invocation (bad input, full room) would flood the log. ValidationHubFilter logs the unexpected failures itself.
        builder.Logging.AddFilter("Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher", LogLevel.Critical);
        // Likewise every failing /readyz probe would log an error while Redis is down; the Redis connection
        // already logs the outage once when it starts and once when it ends.
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService", LogLevel.Critical);

        // Scale out: with a Redis configured, every node shares one hub through the official SignalR Redis
        // backplane, Microsoft.AspNetCore.SignalR.StackExchangeRedis, wired in RoomSignal.Redis; /readyz reports 503
        // while Redis is unreachable; and room membership lives in Redis. Without one: a single node,
        // the default in-memory hub lifetime manager and the in-memory room store.
        services.AddHealthChecks().AddCheck<ConnectionCapacityHealthCheck>("capacity", tags: [ReadinessTag]);
        services.AddSingleton<IRoomEventSink, RoomEventDispatcher>();
        services.AddSingleton<IRoomStore, InMemoryRoomStore>();
        if (clustered)
        {
            // The official backplane over the one shared multiplexer; /readyz waits for its subscriptions (probe).
            signalR.AddRoomSignalRedis<RoomHub>();
            services.AddRoomSignalRedisRooms(); // replaces the in-memory store; admits a connection only once the backplane is ready
            services.AddHealthChecks().AddCheck<ClusterReadinessHealthCheck>("cluster", tags: [ReadinessTag]);
        }

        builder.AddRoomSignalAdmin(clustered); // /admin/rooms when RoomSignal:Admin:Key is set (docs/admin.md)

        return builder;
    }

    /// <summary>Maps the hub at <see cref="RoomHubRoutes.Path"/>, the demo page, <c>/healthz</c> and <c>/readyz</c>.</summary>
    public static WebApplication MapRoomSignal(this WebApplication app)
    {
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseRoomSignalLimits(); // forwarded headers, CORS, WebSockets, the connection cap
        var auth = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        if (auth.Enabled)
        {
            AuthLog.Enabled(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AuthOptions).FullName!),
                auth.KeyBytes().Count(), auth.Issuer ?? "(any)", auth.Audience ?? "(any)");
            app.UseAuthentication();
            app.UseAuthorization();
        }

        app.UseRoomSignalTransport(); // after authorization: the hub's policy applies to direct connections too
        app.MapRoomSignalMetrics(); // /metrics when RoomSignal:Metrics:Prometheus is true
        app.MapRoomSignalAdmin(); // /admin/rooms when RoomSignal:Admin:Key is set
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadinessTag) });
        // Stateful reconnect lets a client that lost its transport for a few seconds resume the same
        // connection (same id, same rooms) and replays the messages it missed.
        var hub = app.MapHub<RoomHub>(RoomHubRoutes.Path, o => o.AllowStatefulReconnects = true);
        if (auth.Enabled)
        {
            hub.RequireAuthorization(); // 401 on negotiate and on the WebSocket upgrade without a valid token
        }

        app.MapRoomSignalIce(requireAuthorization: auth.Enabled);

        return app;
    }
}
