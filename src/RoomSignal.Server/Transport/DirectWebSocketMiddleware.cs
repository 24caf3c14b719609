using System.Security.Cryptography;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.WebUtilities;
using RoomSignal.Contracts;
using RoomSignal.Server.Hubs;

namespace RoomSignal.Server.Transport;

/// <summary>
/// Serves a WebSocket request to the hub that skips negotiation (no connection <c>id</c>) with
/// <see cref="DirectWebSocketConnection"/> instead of SignalR's transport; everything else (negotiation, the
/// transport after it, stateful reconnect, Server-Sent Events, long polling) goes on to SignalR. It runs after
/// authentication and authorization, so the hub endpoint's policy has been applied to the request already.
/// </summary>
internal sealed class DirectWebSocketMiddleware(
    RequestDelegate next,
    HubConnectionHandler<RoomHub> hub,
    DirectConnections connections,
    ILogger<DirectWebSocketMiddleware> logger)
{
    /// <summary>
    /// What the hub's input buffers before the socket is read no further: above the largest message, so a message
    /// that is still arriving never waits for a reader that waits for its end; a larger one closes the connection.
    /// </summary>
    private const long InputBufferSize = 2 * RoomSignalServerExtensions.MaximumReceiveMessageSize;

    /// <summary>What the hub's output buffers before its writes wait for the socket (SignalR's transport's default).</summary>
    private const long OutputBufferSize = 64 * 1024;

    public Task InvokeAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest
            || context.Request.Query.ContainsKey("id")
            || !context.Request.Path.Equals(RoomHubRoutes.Path, StringComparison.OrdinalIgnoreCase))
        {
            return next(context);
        }

        return RunAsync(context);
    }

    private async Task RunAsync(HttpContext context)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var connection = new DirectWebSocketConnection(NewConnectionId(), socket, context, InputBufferSize, OutputBufferSize);
        connections.Add(connection);
        TransportLog.Connected(logger, connection.ConnectionId);
        try
        {
            var receiving = connection.ReceiveAsync();
            var sending = connection.SendAsync();
            try
            {
                await hub.OnConnectedAsync(connection);
            }
            finally
            {
                await connection.CompleteHubAsync();
            }

            await sending;
            try
            {
                await receiving.WaitAsync(DirectWebSocketConnection.CloseTimeout); // the client answers our close ...
            }
            catch (TimeoutException)
            {
                connection.Abort(); // ... or is cut off
                await receiving;
            }
        }
        catch (Exception ex)
        {
            TransportLog.ConnectionFailed(logger, connection.ConnectionId, ex);
            connection.Abort();
        }
        finally
        {
            connections.Remove(connection);
            TransportLog.Disconnected(logger, connection.ConnectionId);
        }
    }

    private static string NewConnectionId()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return WebEncoders.Base64UrlEncode(bytes);
    }
}
