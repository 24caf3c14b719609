using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RoomSignal.Testing;

/// <summary>
/// One RoomSignal server node inside the test process: the real app (AddRoomSignal/MapRoomSignal)
/// on real Kestrel on a dynamic 127.0.0.1 port. Start several with the same Redis to make a cluster.
/// </summary>
public sealed class RoomSignalNode : IRoomSignalEndpoint, IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _disposed;

    private RoomSignalNode(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
    }

    /// <summary>The node's HTTP base address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseUri { get; }

    /// <summary>The hub address, <c>http://127.0.0.1:port/hubs/room</c>.</summary>
    public Uri HubUri => RoomSignalEndpointExtensions.HubUriFor(BaseUri);

    /// <summary>The node's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a node with optional configuration overrides (keys like <c>RoomSignal:Rooms:MaxPeers</c>).</summary>
    public static async Task<RoomSignalNode> StartAsync(
        IReadOnlyDictionary<string, string?>? configuration = null,
        Action<IServiceCollection>? configureServices = null,
        CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(Program).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = "Testing",
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        if (configuration is not null)
        {
            builder.Configuration.AddInMemoryCollection(configuration);
        }

        builder.AddRoomSignal();
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.MapRoomSignal();
        try
        {
            await app.StartAsync(cancellationToken).Within("the RoomSignal node to start");
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RoomSignalNode(app, new Uri(address.EndsWith('/') ? address : address + "/"));
    }

    /// <summary>Stops the node gracefully (as SIGTERM would), closing its connections.</summary>
    public async Task StopAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _app.StopAsync(cts.Token);
    }

    /// <inheritdoc/>
    /// <remarks>Safe to call more than once, so a test can stop a node early and still hold it in <c>await using</c>.</remarks>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await StopAsync();
        }
        catch (ObjectDisposedException)
        {
            // Already stopped and disposed.
        }

        await _app.DisposeAsync();
    }
}
