using System.Net.WebSockets;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.AspNetCore.SignalR.Client;

namespace RoomSignal.Client;

/// <summary>Settings of a <see cref="RoomSignalClient"/> that builds its own connection.</summary>
public sealed class RoomSignalClientOptions
{
    /// <summary>
    /// The hub address, e.g. <c>https://signal.example.com/hubs/room</c>. <c>ws</c> and <c>wss</c> are accepted too
    /// and mean <c>http</c> and <c>https</c>: the client negotiates over HTTP first (unless
    /// <see cref="SkipNegotiation"/> is on), then opens the best transport both sides allow. Required.
    /// </summary>
    public Uri? HubUrl { get; set; }

    /// <summary>
    /// The transports the client may use, tried in the order WebSockets, Server-Sent Events, long polling.
    /// Default: all three. Only WebSockets can resume a connection after a short drop (see <see cref="StatefulReconnect"/>).
    /// </summary>
    public HttpTransportType Transports { get; set; } = HttpTransportType.WebSockets | HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling;

    /// <summary>
    /// Opens a WebSocket straight to the hub without the HTTP negotiation round trip, as load tools do.
    /// The transport is then WebSockets whatever <see cref="Transports"/> says, and <see cref="StatefulReconnect"/>
    /// is off (the server needs negotiation to hand out a resumable connection); <see cref="RoomSignalClient.ConnectionId"/>
    /// is known only after the first join. Default <see langword="false"/>.
    /// </summary>
    public bool SkipNegotiation { get; set; }

    /// <summary>
    /// Supplies the access token (a JWT) the server asks for when auth is on. The client calls it before every
    /// negotiation and every transport it opens, so also on each reconnect, stateful or not: return a fresh token
    /// from here when yours expire. SignalR sends it as a bearer header, or as the <c>access_token</c> query
    /// parameter where a browser-style transport cannot carry headers. <see langword="null"/> (the default) or a
    /// <see langword="null"/> result sends none. For a fixed token: <c>() =&gt; Task.FromResult&lt;string?&gt;(token)</c>.
    /// </summary>
    public Func<Task<string?>>? AccessTokenProvider { get; set; }

    /// <summary>
    /// The hub protocol: <see cref="RoomSignalProtocol.Json"/> (the default) or <see cref="RoomSignalProtocol.MessagePack"/>,
    /// which encodes the messages with <c>RoomSignal.Contracts.RoomSignalMessagePack</c> (the same field names as JSON).
    /// </summary>
    public RoomSignalProtocol Protocol { get; set; } = RoomSignalProtocol.Json;

    /// <summary>HTTP headers sent with the negotiation and every transport request (WebSocket upgrade included).</summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Lets a connection that lost its WebSocket for a moment resume on a new one with the same connection id,
    /// its rooms, and the messages sent meanwhile replayed: the other members notice nothing. Needs negotiation and
    /// WebSockets, and a server that allows it (RoomSignal does). A longer loss falls back to
    /// <see cref="AutomaticReconnect"/>. Default <see langword="true"/>.
    /// </summary>
    public bool StatefulReconnect { get; set; } = true;

    /// <summary>
    /// Whether to reconnect by itself after the connection is lost for good (beyond what
    /// <see cref="StatefulReconnect"/> can resume), and then rejoin every room it was in under its new connection id
    /// (see <see cref="RoomSignalClient.RoomsRejoined"/>). Default <see langword="true"/>.
    /// </summary>
    public bool AutomaticReconnect { get; set; } = true;

    /// <summary>
    /// How long to wait before each reconnect attempt; after the last one fails the client closes.
    /// Default 0, 2, 10 and 30 seconds (SignalR's own defaults). Used only when <see cref="AutomaticReconnect"/> is on.
    /// </summary>
    public IReadOnlyList<TimeSpan> ReconnectDelays { get; set; } =
        [TimeSpan.Zero, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30)];

    /// <summary>Optional hook to set a proxy, keep-alive or TLS options on every WebSocket the client opens.</summary>
    public Action<ClientWebSocketOptions>? ConfigureWebSocket { get; set; }

    /// <summary>
    /// Optional hook for anything else SignalR's <see cref="HttpConnectionOptions"/> offer (cookies, credentials,
    /// an <c>HttpMessageHandler</c>, ...). It runs after the client applied the settings above.
    /// </summary>
    public Action<HttpConnectionOptions>? ConfigureHttpConnection { get; set; }

    /// <summary>
    /// Optional hook to adjust the <see cref="IHubConnectionBuilder"/> before the connection is built, e.g. to add
    /// logging or change the server timeout. It runs after the client has registered its own services.
    /// </summary>
    public Action<IHubConnectionBuilder>? ConfigureConnection { get; set; }
}
