using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Connections;
using RoomSignal.Client.Internal;

namespace RoomSignal.Client;

/// <summary>
/// An <see cref="IConnectionFactory"/> that opens a plain <see cref="ClientWebSocket"/> straight to a hub
/// URL (<c>ws://host/hubs/room</c>), skipping SignalR's HTTP negotiation. This is what lets a
/// <c>HubConnection</c> from <c>Microsoft.AspNetCore.SignalR.Client.Core</c> work without the full
/// client package.
/// </summary>
public sealed class WebSocketConnectionFactory : IConnectionFactory
{
    private readonly Action<ClientWebSocketOptions>? _configure;

    /// <summary>Creates the factory.</summary>
    /// <param name="configure">Optional hook to set headers, a proxy, keep-alive or TLS options on each socket.</param>
    public WebSocketConnectionFactory(Action<ClientWebSocketOptions>? configure = null)
    {
        _configure = configure;
    }

    /// <inheritdoc/>
    public async ValueTask<ConnectionContext> ConnectAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (endpoint is not UriEndPoint uriEndPoint)
        {
            throw new NotSupportedException($"{nameof(WebSocketConnectionFactory)} needs a {nameof(UriEndPoint)}, not {endpoint.GetType().Name}.");
        }

        var socket = new ClientWebSocket();
        _configure?.Invoke(socket.Options);
        try
        {
            await socket.ConnectAsync(ToWebSocketUri(uriEndPoint.Uri), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return WebSocketConnectionContext.Start(socket);
    }

    /// <summary>Turns <c>http(s)://</c> into <c>ws(s)://</c>; leaves <c>ws(s)://</c> as it is.</summary>
    public static Uri ToWebSocketUri(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var builder = new UriBuilder(uri);
        builder.Scheme = uri.Scheme switch
        {
            "http" => "ws",
            "https" => "wss",
            "ws" or "wss" => uri.Scheme,
            _ => throw new ArgumentException($"Unsupported scheme '{uri.Scheme}': use http, https, ws or wss.", nameof(uri)),
        };
        return builder.Uri;
    }
}
