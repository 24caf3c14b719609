using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Contracts;

namespace RoomSignal.Testing;

/// <summary>A running RoomSignal server a test can reach: an in-process <see cref="RoomSignalNode"/> or a child <see cref="RoomSignalProcess"/>.</summary>
public interface IRoomSignalEndpoint
{
    /// <summary>The server's HTTP base address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    Uri BaseUri { get; }

    /// <summary>The hub address, <c>http://127.0.0.1:port/hubs/room</c>.</summary>
    Uri HubUri { get; }
}

/// <summary>What every <see cref="IRoomSignalEndpoint"/> offers on top of its address.</summary>
public static class RoomSignalEndpointExtensions
{
    /// <summary>The hub address for a server at <paramref name="baseUri"/>.</summary>
    public static Uri HubUriFor(Uri baseUri) => new(baseUri, RoomHubRoutes.Path);

    /// <summary>The same address as <c>ws://</c> (or <c>wss://</c>), for a raw <c>ClientWebSocket</c>.</summary>
    public static Uri AsWebSocketUri(this Uri hubUri)
        => new UriBuilder(hubUri) { Scheme = hubUri.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" }.Uri;

    /// <summary>A raw <see cref="HubConnection"/> to the server (not started); see <see cref="TestHubConnections.Create"/>.</summary>
    public static HubConnection CreateHubConnection(this IRoomSignalEndpoint endpoint, Action<IHubConnectionBuilder>? configure = null)
        => TestHubConnections.Create(endpoint.HubUri, configure);
}

/// <summary>How the test suites build a plain <see cref="HubConnection"/>: the official client, negotiation on.</summary>
public static class TestHubConnections
{
    /// <summary>
    /// A <see cref="HubConnection"/> built as a user would, <c>WithUrl(hubUri)</c> (negotiation, the best transport,
    /// JSON), not started. <paramref name="http"/> adjusts the transport options, <paramref name="configure"/> the builder.
    /// </summary>
    public static HubConnection Create(Uri hubUri, Action<IHubConnectionBuilder>? configure = null, Action<HttpConnectionOptions>? http = null)
    {
        var builder = new HubConnectionBuilder().WithUrl(hubUri, o => http?.Invoke(o));
        configure?.Invoke(builder);
        return builder.Build();
    }

    /// <summary>
    /// Starts a connection the server is expected to refuse after its handshake, and returns the error it closed with
    /// (the handshake completes before the hub hears of the connection, so starting may succeed or fail).
    /// </summary>
    public static async Task<Exception?> StartExpectingCloseAsync(HubConnection connection, string what)
    {
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Closed += e =>
        {
            closed.TrySetResult(e);
            return Task.CompletedTask;
        };
        try
        {
            await connection.StartAsync().Within($"{what}'s handshake");
        }
        catch (Exception ex) when (ex is not TimeoutException)
        {
            closed.TrySetResult(ex);
        }

        return await closed.Task.Within($"{what} to be closed");
    }
}
