using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;
using RoomSignal.Server.Transport;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Wires RoomSignal's direct WebSocket transport and inline I/O (<see cref="TransportOptions"/>).</summary>
internal static class TransportServiceCollectionExtensions
{
    /// <summary>Read once by the runtime's socket engine, when the process opens its first socket: completions run on its threads.</summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Read with <see cref="InlineCompletionsVariable"/>: how many socket engine threads (the runtime's default is one per 30 cores; <see cref="TransportOptions.SocketThreads"/>).</summary>
    public const string EngineThreadsVariable = "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT";

    /// <summary>
    /// Adds the direct transport's services and, with <see cref="TransportOptions.InlineIO"/> (unset: on unless
    /// <paramref name="clustered"/>, i.e. Redis is configured), inline socket completions and Kestrel's inline
    /// scheduling. Call before <c>Kestrel:Sockets</c> is bound, so an explicit
    /// <c>Kestrel:Sockets:UnsafePreferInlineScheduling</c> wins.
    /// </summary>
    public static IHostApplicationBuilder AddRoomSignalTransport(this IHostApplicationBuilder builder, bool clustered)
    {
        var services = builder.Services;
        services.AddOptions<TransportOptions>().BindConfiguration(TransportOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<DirectConnections>();

        var options = builder.Configuration.GetSection(TransportOptions.SectionName).Get<TransportOptions>() ?? new TransportOptions();
        var engineThreads = options.SocketThreads;
        if (options.InlineIO ?? !clustered)
        {
            if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
            {
                Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
                // With completions inline the engine threads do the relaying: one per core, not one per 30 cores.
                engineThreads ??= Environment.ProcessorCount;
            }

            services.Configure<SocketTransportOptions>(o => o.UnsafePreferInlineScheduling = true);
        }

        // Out of range: leave the runtime's default, and ValidateOnStart refuses to start with the option's message.
        if (engineThreads is >= 1 and <= TransportOptions.MaxSocketThreads && Environment.GetEnvironmentVariable(EngineThreadsVariable) is null)
        {
            Environment.SetEnvironmentVariable(EngineThreadsVariable, engineThreads.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return builder;
    }

    /// <summary>After authentication and authorization: WebSocket requests that skip negotiation go to the direct transport.</summary>
    public static WebApplication UseRoomSignalTransport(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<TransportOptions>>().Value.DirectWebSockets)
        {
            app.UseMiddleware<DirectWebSocketMiddleware>();
        }

        return app;
    }
}
