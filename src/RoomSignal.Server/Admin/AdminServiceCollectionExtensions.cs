using Microsoft.Extensions.Options;
using RoomSignal.Server.Admin;
using RoomSignal.Server.Rooms;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Wires the admin API (<c>/admin/rooms</c>) when <c>RoomSignal:Admin:Key</c> is set.</summary>
public static class AdminServiceCollectionExtensions
{
    /// <summary>
    /// Binds and validates <see cref="AdminOptions"/>; when a key is configured, adds the room inspector and the member
    /// remover (across the cluster when <paramref name="clustered"/>: membership in Redis). Call after the room store is registered.
    /// </summary>
    public static IHostApplicationBuilder AddRoomSignalAdmin(this IHostApplicationBuilder builder, bool clustered)
    {
        var services = builder.Services;
        services.AddOptions<AdminOptions>()
            .BindConfiguration(AdminOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AdminOptions>, AdminOptionsValidator>();
        if (string.IsNullOrEmpty(builder.Configuration[$"{AdminOptions.SectionName}:{nameof(AdminOptions.Key)}"]))
        {
            return builder;
        }

        services.AddSingleton<IRoomInspector>(sp => (IRoomInspector)sp.GetRequiredService<IRoomStore>());
        services.AddSingleton<LocalMemberRemover>();
        if (clustered)
        {
            services.AddSingleton<ClusterMemberRemover>();
            services.AddSingleton<IMemberRemover>(sp => sp.GetRequiredService<ClusterMemberRemover>());
            services.AddHostedService(sp => sp.GetRequiredService<ClusterMemberRemover>());
        }
        else
        {
            services.AddSingleton<IMemberRemover>(sp => sp.GetRequiredService<LocalMemberRemover>());
        }

        return builder;
    }

    /// <summary>Maps <c>/admin/rooms...</c> when the admin API is on; without a key nothing is mapped (404).</summary>
    public static WebApplication MapRoomSignalAdmin(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<AdminOptions>>().Value.Enabled)
        {
            return app;
        }

        AdminLog.Enabled(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AdminOptions).FullName!));
        AdminApi.Map(app);
        return app;
    }
}
