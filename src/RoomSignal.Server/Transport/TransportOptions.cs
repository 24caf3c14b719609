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
    /// process, unless the environment sets it (and then <c>DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT</c> to the number of
    /// cores, unless set, since those threads now do the relaying), and Kestrel's <c>UnsafePreferInlineScheduling</c>,
    /// unless <c>Kestrel:Sockets:UnsafePreferInlineScheduling</c> is configured. With the direct transport a message is
    /// then read, checked and written on the thread that received it. Read at start-up, before the first socket opens.
    /// Unset (the default): on for a single node, off when <c>RoomSignal:Redis:Configuration</c> is set, where it saved
    /// nothing per cross-node message; docs/benchmarks.md has the measurements.
    /// </summary>
    public bool? InlineIO { get; set; }
}
