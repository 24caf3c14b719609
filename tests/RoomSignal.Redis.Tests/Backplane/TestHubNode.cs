using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RoomSignal.Testing;

namespace RoomSignal.Redis.Tests.Backplane;

/// <summary>
/// One node hosting <see cref="BackplaneTestHub"/> with the Redis backplane, on real Kestrel at 127.0.0.1 on a
/// dynamic port. Several nodes with the same Redis and prefix form a cluster.
/// </summary>
public sealed class TestHubNode : IAsyncDisposable
{
    public const string HubPath = "/hubs/test";

    private readonly WebApplication _app;
    private bool _stopped;

    private TestHubNode(WebApplication app, Uri baseUri, string name, LogSink logs)
    {
        _app = app;
        BaseUri = baseUri;
        Name = name;
        Logs = logs;
    }

    public string Name { get; }

    public Uri BaseUri { get; }

    public LogSink Logs { get; }

    public IServiceProvider Services => _app.Services;

    public IHubContext<BackplaneTestHub> HubContext => Services.GetRequiredService<IHubContext<BackplaneTestHub>>();

    public RedisHubLifetimeManager<BackplaneTestHub> Manager
        => (RedisHubLifetimeManager<BackplaneTestHub>)Services.GetRequiredService<HubLifetimeManager<BackplaneTestHub>>();

    public IRedisBackplaneStatus Status => Services.GetRequiredService<IRedisBackplaneStatus>();

    public static async Task<TestHubNode> StartAsync(string name, string redisConfiguration, string prefix, IReadOnlyDictionary<string, string?>? configuration = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = "Testing",
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["RoomSignal:Redis:Configuration"] = redisConfiguration,
            ["RoomSignal:Redis:Prefix"] = prefix,
        });
        if (configuration is not null)
        {
            builder.Configuration.AddInMemoryCollection(configuration);
        }

        var logs = new LogSink();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(logs);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.AddFilter<Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider>(level => level >= LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);

        builder.Services.AddSignalR(o => o.EnableDetailedErrors = true).AddRoomSignalRedis<BackplaneTestHub>();
        builder.Services.AddSingleton<IUserIdProvider, QueryStringUserIdProvider>();

        var app = builder.Build();
        app.UseWebSockets();
        app.MapHub<BackplaneTestHub>(HubPath);
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains(RoomSignalRedisSignalRBuilderExtensions.ReadinessTag) });
        await app.StartAsync().Within($"node {name} to start");

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestHubNode(app, new Uri(address.EndsWith('/') ? address : address + "/"), name, logs);
    }

    /// <summary>Connects a client (optionally as <paramref name="user"/>) and learns its connection id.</summary>
    public async Task<TestClient> ConnectAsync(string clientName, string? user = null)
    {
        var uri = new Uri(BaseUri, HubPath + (user is null ? string.Empty : "?user=" + Uri.EscapeDataString(user)));
        var client = await TestClient.ConnectAsync($"{clientName}@{Name}", uri);
        return client;
    }

    public async Task<int> ReadyStatusAsync()
    {
        using var http = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(5) };
        using var response = await http.GetAsync("readyz");
        return (int)response.StatusCode;
    }

    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _app.StopAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
    }
}
