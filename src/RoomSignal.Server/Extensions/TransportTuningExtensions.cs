using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Binds Kestrel's socket transport settings from configuration, so the ones docs/benchmarks.md measured ship in
/// appsettings.json and can be changed per deployment (<c>Kestrel__Sockets__UnsafePreferInlineScheduling=false</c>).
/// </summary>
public static class TransportTuningExtensions
{
    /// <summary>The configuration section bound to <see cref="SocketTransportOptions"/>.</summary>
    public const string SectionName = "Kestrel:Sockets";

    /// <summary>
    /// Binds <see cref="SocketTransportOptions"/> (<c>UnsafePreferInlineScheduling</c>, <c>IOQueueCount</c>,
    /// <c>WaitForDataBeforeAllocatingBuffer</c>, <c>MaxReadBufferSize</c>, <c>MaxWriteBufferSize</c>, ...) from
    /// <see cref="SectionName"/>. Unset keys keep Kestrel's defaults.
    /// </summary>
    public static IServiceCollection AddRoomSignalTransportTuning(this IServiceCollection services)
    {
        services.AddOptions<SocketTransportOptions>().BindConfiguration(SectionName);
        return services;
    }
}
