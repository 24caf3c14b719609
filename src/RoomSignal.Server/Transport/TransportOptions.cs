using System.ComponentModel.DataAnnotations;

namespace RoomSignal.Server.Transport;

/// <summary>How the hub's WebSocket connections are carried, bound from <c>RoomSignal:Transport</c>.</summary>
public sealed class TransportOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "RoomSignal:Transport";

    /// <summary>
    /// Serve WebSocket connections that skip negotiation on RoomSignal's direct transport
    /// (<c>RoomSignal:Transport:DirectWebSockets</c>): SignalR's hub handler on two pipes that run their readers
    /// inline, instead of SignalR's own transport, whose pipes hand every message to the thread pool. Negotiated
    /// connections (the clients' default, needed for stateful reconnect and the fallback transports) always use
    /// SignalR's transports. Default <see langword="true"/>.
    /// </summary>
    public bool DirectWebSockets { get; set; } = true;

    /// <summary>
    /// Run socket completions and Kestrel's pipe continuations on the socket engine's threads
    /// (<c>RoomSignal:Transport:InlineIO</c>): sets <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c> for the
    /// process, unless the environment sets it (and then <c>DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT</c> to
    /// <see cref="SocketThreads"/>, by default the number of cores, since those threads now do the relaying), and
    /// Kestrel's <c>UnsafePreferInlineScheduling</c>, unless <c>Kestrel:Sockets:UnsafePreferInlineScheduling</c> is
    /// configured. With the direct transport a message is then read, checked and written on the thread that received
    /// it. Read at start-up, before the first socket opens.
    /// Unset (the default): on for a single node, off when <c>RoomSignal:Redis:Configuration</c> is set, where it saved
    /// nothing per cross-node message; docs/benchmarks.md has the measurements.
    /// </summary>
    public bool? InlineIO { get; set; }

    /// <summary>
    /// How many socket engine threads the process runs (<c>RoomSignal:Transport:SocketThreads</c>): sets
    /// <c>DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT</c> at start, unless the environment sets it. Unset (the default): one
    /// per core with <see cref="InlineIO"/>, since those threads then do the relaying, and the runtime's own default (one
    /// per 30 cores) without it. With inline I/O, fewer threads wake less often and never contend for a connection, but
    /// each relays one message after another: on two cores, <c>1</c> spent 6–15% less CPU per message at 5,000 msg/s,
    /// for a higher p99 and 26% less at saturation (docs/benchmarks.md), so it suits a node that runs well below its
    /// maximum. Read at start-up, before the first socket opens.
    /// </summary>
    [Range(1, MaxSocketThreads, ErrorMessage = "RoomSignal:Transport:SocketThreads must be between 1 and 1024")]
    public int? SocketThreads { get; set; }

    /// <summary>The most <see cref="SocketThreads"/> accepts.</summary>
    internal const int MaxSocketThreads = 1024;
}
