using System.ComponentModel.DataAnnotations;

namespace RoomSignal.Server.Limits;

/// <summary>
/// Abuse and capacity limits of one node, bound from <c>RoomSignal:Limits</c>. Every default is far above what a
/// real call needs (a 16-member room joining and exchanging its offers and candidates) and far below what lets one
/// client hurt the others.
/// </summary>
public sealed class LimitsOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "RoomSignal:Limits";

    /// <summary>
    /// The most WebSocket connections this node holds at once (<c>RoomSignal:Limits:MaxConnections</c>), and separately
    /// the most other HTTP connections (negotiation, SSE, long polling, health probes). Unset: derived from the
    /// process's descriptor limit (RLIMIT_NOFILE): half of what is left after twice the descriptors the process holds
    /// at start and a headroom of 5% (at least 100) for Redis, logs and files, so both kinds together never exhaust
    /// the descriptors. Logged at start.
    /// </summary>
    [Range(1, 10_000_000, ErrorMessage = "RoomSignal:Limits:MaxConnections must be between 1 and 10000000")]
    public int? MaxConnections { get; set; }

    /// <summary>Hub connections one remote address may hold on this node (<c>RoomSignal:Limits:MaxConnectionsPerIp</c>); 0 turns the cap off. Default 1000.</summary>
    [Range(0, 10_000_000, ErrorMessage = "RoomSignal:Limits:MaxConnectionsPerIp must be between 0 and 10000000")]
    public int MaxConnectionsPerIp { get; set; } = 1000;

    /// <summary>Hub connections one authenticated user (<c>sub</c>) may hold on this node (<c>RoomSignal:Limits:MaxConnectionsPerUser</c>); 0 turns the cap off. Default 64.</summary>
    [Range(0, 10_000_000, ErrorMessage = "RoomSignal:Limits:MaxConnectionsPerUser must be between 0 and 10000000")]
    public int MaxConnectionsPerUser { get; set; } = 64;

    /// <summary>Rooms one connection may be in at once (<c>RoomSignal:Limits:MaxRoomsPerConnection</c>). Default 32.</summary>
    [Range(1, 100_000, ErrorMessage = "RoomSignal:Limits:MaxRoomsPerConnection must be between 1 and 100000")]
    public int MaxRoomsPerConnection { get; set; } = 32;

    /// <summary>Hub invocations per second one connection may sustain (<c>RoomSignal:Limits:InvocationsPerSecond</c>). Default 200.</summary>
    [Range(1, 1_000_000, ErrorMessage = "RoomSignal:Limits:InvocationsPerSecond must be between 1 and 1000000")]
    public int InvocationsPerSecond { get; set; } = 200;

    /// <summary>Hub invocations one connection may send in a burst above the sustained rate (<c>RoomSignal:Limits:InvocationBurst</c>). Default 1000.</summary>
    [Range(1, 10_000_000, ErrorMessage = "RoomSignal:Limits:InvocationBurst must be between 1 and 10000000")]
    public int InvocationBurst { get; set; } = 1000;

    /// <summary>Joins per second one connection may sustain (<c>RoomSignal:Limits:JoinsPerSecond</c>). Default 10.</summary>
    [Range(1, 1_000_000, ErrorMessage = "RoomSignal:Limits:JoinsPerSecond must be between 1 and 1000000")]
    public int JoinsPerSecond { get; set; } = 10;

    /// <summary>Joins one connection may send in a burst (<c>RoomSignal:Limits:JoinBurst</c>). Default 50.</summary>
    [Range(1, 10_000_000, ErrorMessage = "RoomSignal:Limits:JoinBurst must be between 1 and 10000000")]
    public int JoinBurst { get; set; } = 50;

    /// <summary>
    /// Rate-limited invocations after which a connection that keeps pushing is disconnected
    /// (<c>RoomSignal:Limits:DisconnectAfterRefusals</c>): more than this many within 10 s. Default 100.
    /// </summary>
    [Range(1, 10_000_000, ErrorMessage = "RoomSignal:Limits:DisconnectAfterRefusals must be between 1 and 10000000")]
    public int DisconnectAfterRefusals { get; set; } = 100;
}

/// <summary>Browser origins allowed to call the service, bound from <c>RoomSignal:Cors</c>.</summary>
public sealed class RoomSignalCorsOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "RoomSignal:Cors";

    /// <summary>
    /// Origins (e.g. <c>https://app.example.com</c>) whose pages may negotiate and open WebSockets
    /// (<c>RoomSignal:Cors:Origins</c>); <c>*</c> allows every origin. Unset: no CORS headers (pages of other origins
    /// cannot negotiate) and WebSockets from any origin, as before this setting existed.
    /// </summary>
    public string[] Origins { get; set; } = [];
}
