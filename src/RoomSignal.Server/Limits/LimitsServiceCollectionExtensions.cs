using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace RoomSignal.Server.Limits;

/// <summary>Registers the node's connection cap, the per-connection limits and the allowed browser origins.</summary>
internal static class LimitsServiceCollectionExtensions
{
    /// <summary>Kestrel's own caps sit this far above ours, as the backstop: our middleware answers first and cleanly.</summary>
    private const int KestrelSlack = 16;

    public static IServiceCollection AddRoomSignalLimits(this IServiceCollection services)
    {
        services.AddOptions<LimitsOptions>()
            .BindConfiguration(LimitsOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<RoomSignalCorsOptions>().BindConfiguration(RoomSignalCorsOptions.SectionName);
        services.AddSingleton<ConnectionCapacity>();
        services.AddSingleton<NodeAdmission>();
        services.AddSingleton<LimitsHubFilter>();
        services.AddHostedService<ConnectionCapReporter>();
        services.AddOptions<KestrelServerOptions>().Configure<ConnectionCapacity>((kestrel, capacity) =>
        {
            // Both: a WebSocket stops counting as a connection once upgraded.
            kestrel.Limits.MaxConcurrentConnections = capacity.MaxConnections + KestrelSlack;
            kestrel.Limits.MaxConcurrentUpgradedConnections = capacity.MaxConnections + KestrelSlack;
        });
        services.AddCors();
        services.AddOptions<Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions>()
            .Configure<IOptions<RoomSignalCorsOptions>>((cors, allowed) => cors.AddDefaultPolicy(policy =>
            {
                var origins = allowed.Value.Origins;
                if (origins.Contains("*"))
                {
                    policy.AllowAnyOrigin();
                }
                else
                {
                    policy.WithOrigins(origins).AllowCredentials();
                }

                policy.AllowAnyHeader().AllowAnyMethod();
            }));
        services.Configure<ForwardedHeadersOptions>(o => o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto);
        return services;
    }

    /// <summary>
    /// Trusts <c>X-Forwarded-For</c> from a proxy on loopback (nginx in front), applies the allowed origins to
    /// negotiation and WebSockets, and admits WebSockets up to the cap.
    /// </summary>
    public static WebApplication UseRoomSignalLimits(this WebApplication app)
    {
        app.UseForwardedHeaders();
        var origins = app.Services.GetRequiredService<IOptions<RoomSignalCorsOptions>>().Value.Origins;
        var webSockets = new WebSocketOptions();
        if (origins.Length > 0)
        {
            app.UseCors();
            if (!origins.Contains("*"))
            {
                foreach (var origin in origins)
                {
                    webSockets.AllowedOrigins.Add(origin);
                }
            }
        }

        app.UseWebSockets(webSockets);
        app.UseMiddleware<ConnectionAdmissionMiddleware>();
        return app;
    }

    /// <summary>Logs the connection cap once at start, with where it came from.</summary>
    private sealed class ConnectionCapReporter(ConnectionCapacity capacity, ILogger<ConnectionCapacity> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            LimitsLog.ConnectionCap(
                logger,
                capacity.MaxConnections,
                capacity.Derived ? "derived from the descriptor limit" : "RoomSignal:Limits:MaxConnections",
                capacity.DescriptorLimit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown",
                capacity.DescriptorsInUse);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
