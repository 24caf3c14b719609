using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using RoomSignal.Contracts;
using RoomSignal.Server.Auth;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Wires access tokens (JWT bearer, HS256) into RoomSignal when <c>RoomSignal:Auth:SigningKey</c> is set.</summary>
public static class AuthServiceCollectionExtensions
{
    /// <summary>The query-string parameter that carries the token on WebSocket and SSE requests (the SignalR convention).</summary>
    public const string AccessTokenQueryParameter = "access_token";

    /// <summary>The setting that turns the admin API on (which needs the peer directory for nodes and join times).</summary>
    internal const string AdminKeySetting = "RoomSignal:Admin:Key";

    /// <summary>
    /// Binds and validates <see cref="AuthOptions"/>; when a signing key is configured, adds JWT bearer
    /// authentication, authorization and the hub filter that checks the <c>rooms</c> claim on every join.
    /// </summary>
    public static IHostApplicationBuilder AddRoomSignalAuth(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<AuthOptions>()
            .BindConfiguration(AuthOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();

        var authOn = !string.IsNullOrEmpty(builder.Configuration[$"{AuthOptions.SectionName}:{nameof(AuthOptions.SigningKey)}"]);
        var adminOn = !string.IsNullOrEmpty(builder.Configuration[AdminKeySetting]);
        builder.AddRoomSignalPeerDirectory(enabled: authOn || adminOn);
        if (!authOn)
        {
            return builder;
        }

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<AuthOptions>>((jwt, auth) => ConfigureJwtBearer(jwt, auth.Value));
        services.AddAuthorization();
        // The connection's user id (the per-user connection cap counts it) is the token's sub.
        services.Replace(ServiceDescriptor.Singleton<IUserIdProvider, SubjectUserIdProvider>());
        services.AddSingleton<RoomAccessHubFilter>();
        // Runs after the validation filter (added first, in AddSignalR's own configuration).
        services.Configure<HubOptions>(o => o.AddFilter<RoomAccessHubFilter>());

        // ASP.NET Core's hosting diagnostics log each request's full URL ("Request starting ... ?access_token=...")
        // at Information; with tokens in query strings that would write every token into the log. This rule is added
        // after the configuration's, so it wins even over a Logging:LogLevel entry for the same category.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        return builder;
    }

    /// <summary>
    /// Registers where connections' profiles (user id, name, node, join times) live: nowhere when neither auth nor the
    /// admin API needs them, in memory on a single node, in Redis when a Redis is configured (plus the janitor that
    /// removes the profiles of crashed nodes). The hub filter keeps the directory in step with the hub.
    /// </summary>
    private static void AddRoomSignalPeerDirectory(this IHostApplicationBuilder builder, bool enabled)
    {
        var services = builder.Services;
        if (!enabled)
        {
            services.AddSingleton<IPeerDirectory, NoPeerDirectory>();
            return;
        }

        if (string.IsNullOrWhiteSpace(builder.Configuration[$"{RoomSignal.Redis.RoomSignalRedisOptions.SectionName}:Configuration"]))
        {
            services.AddSingleton<IPeerDirectory, InMemoryPeerDirectory>();
        }
        else
        {
            services.AddRoomSignalRedisConnection();
            services.AddSingleton<RedisPeerDirectory>();
            services.AddSingleton<IPeerDirectory>(sp => sp.GetRequiredService<RedisPeerDirectory>());
            services.AddHostedService<PeerDirectoryJanitor>();
        }

        services.AddSingleton<PeerDirectoryHubFilter>();
        services.Configure<HubOptions>(o => o.AddFilter<PeerDirectoryHubFilter>());
    }

    internal static void ConfigureJwtBearer(JwtBearerOptions jwt, AuthOptions auth)
    {
        // Keep the token's own claim names (sub, name, rooms) instead of mapping them to WS-* URIs.
        jwt.MapInboundClaims = false;
        jwt.TokenValidationParameters = new TokenValidationParameters
        {
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            IssuerSigningKeys = auth.KeyBytes().Select(k => new SymmetricSecurityKey(k)).ToArray(),
            ValidateIssuerSigningKey = true,
            RequireSignedTokens = true,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            ClockSkew = AuthOptions.ClockSkew,
            ValidateIssuer = auth.Issuer is not null,
            ValidIssuer = auth.Issuer,
            ValidateAudience = auth.Audience is not null,
            ValidAudience = auth.Audience,
            NameClaimType = RoomSignalClaims.Name,
        };
        jwt.Events = new JwtBearerEvents
        {
            OnMessageReceived = context =>
            {
                // The admin API's bearer is its own key, not an access token: do not try (and fail) to read it as a JWT.
                if (context.Request.Path.StartsWithSegments("/admin"))
                {
                    context.NoResult();
                    return Task.CompletedTask;
                }

                // Browsers cannot set headers on WebSocket and EventSource requests, so SignalR clients send the
                // token in the query string there; accept it on the hub's paths only.
                if (string.IsNullOrEmpty(context.Token)
                    && context.Request.Path.StartsWithSegments(RoomHubRoutes.Path)
                    && context.Request.Query[AccessTokenQueryParameter] is [{ Length: > 0 } token])
                {
                    context.Token = token;
                }

                return Task.CompletedTask;
            },
            OnTokenValidated = context =>
            {
                if (RoomSignalClaims.UserId(context.Principal) is null)
                {
                    AuthLog.NoSubject(context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AuthOptions).FullName!));
                    context.Fail("the token has no sub claim");
                }

                return Task.CompletedTask;
            },
        };
    }
}
