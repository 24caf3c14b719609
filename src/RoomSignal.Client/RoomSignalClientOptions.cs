using System.Net.WebSockets;
using Microsoft.AspNetCore.SignalR.Client;

namespace RoomSignal.Client;

/// <summary>Settings of a <see cref="RoomSignalClient"/> that builds its own connection.</summary>
public sealed class RoomSignalClientOptions
{
    /// <summary>
    /// The hub address, e.g. <c>ws://localhost:5000/hubs/room</c>. <c>http</c> and <c>https</c> are turned into
    /// <c>ws</c> and <c>wss</c>: the client opens a WebSocket straight to this address, without negotiation.
    /// Required.
    /// </summary>
    public Uri? HubUrl { get; set; }

    /// <summary>
    /// Whether to reconnect by itself after the connection drops, and then rejoin every room it was in
    /// (see <see cref="RoomSignalClient.RoomsRejoined"/>). Default <see langword="true"/>.
    /// </summary>
    public bool AutomaticReconnect { get; set; } = true;

    /// <summary>
    /// How long to wait before each reconnect attempt; after the last one fails the client closes.
    /// Default 0, 2, 10 and 30 seconds (SignalR's own defaults). Used only when <see cref="AutomaticReconnect"/> is on.
    /// </summary>
    public IReadOnlyList<TimeSpan> ReconnectDelays { get; set; } =
        [TimeSpan.Zero, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30)];

    /// <summary>Optional hook to set headers, cookies, a proxy, keep-alive or TLS options on every WebSocket the client opens.</summary>
    public Action<ClientWebSocketOptions>? ConfigureWebSocket { get; set; }

    /// <summary>
    /// Optional hook to adjust the <see cref="IHubConnectionBuilder"/> before the connection is built, e.g. to add
    /// logging or change the server timeout. It runs after the client has registered its own services.
    /// </summary>
    public Action<IHubConnectionBuilder>? ConfigureConnection { get; set; }
}
