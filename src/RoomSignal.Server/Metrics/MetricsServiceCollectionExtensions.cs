using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using RoomSignal.Redis;
using OpenTelemetry.Resources;

namespace RoomSignal.Server.Metrics;

/// <summary>Settings of the metrics exports, bound from <c>RoomSignal:Metrics</c>.</summary>
public sealed class RoomSignalMetricsOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "RoomSignal:Metrics";

    /// <summary>Serve a Prometheus scrape endpoint at <c>/metrics</c> (<c>RoomSignal:Metrics:Prometheus</c>). Default false.</summary>
    public bool Prometheus { get; set; }

    /// <summary>
    /// How often a node with Redis PINGs it to measure <c>roomsignal.redis.rtt</c> (<c>RoomSignal:Metrics:RedisPingInterval</c>).
    /// Default 5 s; 100 ms to 1 h.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.1", "01:00:00", ErrorMessage = "RoomSignal:Metrics:RedisPingInterval must be between 00:00:00.1 and 01:00:00.")]
    public TimeSpan RedisPingInterval { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Exports the <c>RoomSignal</c> meter (and Kestrel's and SignalR's connection meters) with OpenTelemetry: over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, and at <c>/metrics</c> for Prometheus when <c>RoomSignal:Metrics:Prometheus</c>
/// is true. With neither, nothing is exported, and <c>dotnet-counters</c> still reads the meter.
/// </summary>
internal static class MetricsServiceCollectionExtensions
{
    private const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>The meters exported besides ours: connection counts and durations as Kestrel and SignalR see them.</summary>
    private static readonly string[] FrameworkMeters = ["Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Http.Connections"];

    public static IHostApplicationBuilder AddRoomSignalMetrics(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RoomSignalMetricsOptions>()
            .BindConfiguration(RoomSignalMetricsOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddMetrics();
        builder.Services.AddSingleton<RoomSignalMetrics>();
        if (!string.IsNullOrWhiteSpace(builder.Configuration[$"{RoomSignalRedisOptions.SectionName}:Configuration"]))
        {
            builder.Services.AddHostedService<RedisRoundTripProbe>(); // roomsignal.redis.rtt
        }

        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointVariable]);
        var prometheus = builder.Configuration.GetValue<bool>($"{RoomSignalMetricsOptions.SectionName}:{nameof(RoomSignalMetricsOptions.Prometheus)}");
        if (!otlp && !prometheus)
        {
            return builder;
        }

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("RoomSignal"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(RoomSignalMetrics.MeterName).AddMeter(FrameworkMeters);
                if (otlp)
                {
                    metrics.AddOtlpExporter(); // endpoint, protocol and headers from the standard OTEL_EXPORTER_OTLP_* variables
                }

                if (prometheus)
                {
                    metrics.AddPrometheusExporter();
                }
            });
        return builder;
    }

    public static WebApplication MapRoomSignalMetrics(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<RoomSignalMetricsOptions>>().Value.Prometheus)
        {
            app.MapPrometheusScrapingEndpoint("/metrics");
        }

        return app;
    }
}
