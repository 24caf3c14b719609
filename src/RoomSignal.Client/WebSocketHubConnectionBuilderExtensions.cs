using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using RoomSignal.Client;

namespace Microsoft.AspNetCore.SignalR.Client;

/// <summary>Points a <see cref="IHubConnectionBuilder"/> at a hub over a plain WebSocket, without negotiation.</summary>
public static class WebSocketHubConnectionBuilderExtensions
{
    /// <summary>
    /// Makes the built <see cref="HubConnection"/> connect with <see cref="WebSocketConnectionFactory"/> straight to
    /// <paramref name="hubUrl"/> (<c>http(s)://</c> or <c>ws(s)://</c>), which is all that SignalR.Client.Core needs.
    /// </summary>
    /// <param name="builder">The hub connection builder.</param>
    /// <param name="hubUrl">The hub address, e.g. <c>ws://localhost:5000/hubs/room</c>.</param>
    /// <param name="configureWebSocket">Optional hook to set headers, a proxy or TLS options on each socket.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static IHubConnectionBuilder WithWebSocketUrl(this IHubConnectionBuilder builder, Uri hubUrl, Action<ClientWebSocketOptions>? configureWebSocket = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(hubUrl);
        builder.Services.AddSingleton<IConnectionFactory>(new WebSocketConnectionFactory(configureWebSocket));
        builder.Services.AddSingleton<EndPoint>(new UriEndPoint(WebSocketConnectionFactory.ToWebSocketUri(hubUrl)));
        return builder;
    }
}
