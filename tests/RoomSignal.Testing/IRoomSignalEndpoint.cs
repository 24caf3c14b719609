using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Client;
using RoomSignal.Contracts;

namespace RoomSignal.Testing;

/// <summary>A running RoomSignal server a test can reach: an in-process <see cref="RoomSignalNode"/> or a child <see cref="RoomSignalProcess"/>.</summary>
public interface IRoomSignalEndpoint
{
    /// <summary>The server's HTTP base address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    Uri BaseUri { get; }

    /// <summary>The hub address, <c>ws://127.0.0.1:port/hubs/room</c>.</summary>
    Uri HubUri { get; }
}

/// <summary>What every <see cref="IRoomSignalEndpoint"/> offers on top of its address.</summary>
public static class RoomSignalEndpointExtensions
{
    /// <summary>The hub address for a server at <paramref name="baseUri"/>.</summary>
    public static Uri HubUriFor(Uri baseUri) => WebSocketConnectionFactory.ToWebSocketUri(new Uri(baseUri, RoomHubRoutes.Path));

    /// <summary>A raw <see cref="HubConnection"/> to the server over our WebSocket factory (not started).</summary>
    public static HubConnection CreateHubConnection(this IRoomSignalEndpoint endpoint, Action<IHubConnectionBuilder>? configure = null)
    {
        var builder = new HubConnectionBuilder().WithWebSocketUrl(endpoint.HubUri);
        configure?.Invoke(builder);
        return builder.Build();
    }
}
