using Microsoft.Extensions.Options;
using RoomSignal.Server.Auth;
using RoomSignal.Server.Ice;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Wires the ICE server list (STUN, TURN with short-lived credentials) into RoomSignal.</summary>
public static class IceServiceCollectionExtensions
{
    /// <summary>The HTTP route of the ICE server list.</summary>
    public const string IceServersPath = "/api/ice-servers";

    /// <summary>Binds and validates <see cref="IceOptions"/> and registers the provider the hub and the HTTP endpoint use.</summary>
    public static IHostApplicationBuilder AddRoomSignalIce(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<IceOptions>()
            .BindConfiguration(IceOptions.SectionName)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<IceOptions>, IceOptionsValidator>();
        builder.Services.AddSingleton<IceServerProvider>();
        return builder;
    }

    /// <summary>Maps <c>GET /api/ice-servers</c>; with auth on it needs a token like the hub, and the TURN username names its user.</summary>
    public static WebApplication MapRoomSignalIce(this WebApplication app, bool requireAuthorization)
    {
        var endpoint = app.MapGet(IceServersPath, (HttpContext http, IceServerProvider ice) =>
        {
            // Without auth there is no user and, over HTTP, no SignalR connection: a random id keeps usernames distinct.
            var id = RoomSignalClaims.UserId(http.User) ?? "anonymous-" + Guid.NewGuid().ToString("N")[..16];
            http.Response.Headers.CacheControl = "no-store";
            return Results.Ok(ice.Get(id));
        });
        if (requireAuthorization)
        {
            endpoint.RequireAuthorization();
        }

        return app;
    }
}
