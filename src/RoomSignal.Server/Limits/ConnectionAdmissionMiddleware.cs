using RoomSignal.Contracts;
using RoomSignal.Server.Metrics;

namespace RoomSignal.Server.Limits;

/// <summary>
/// Counts the hub's WebSockets and refuses one past the node's cap with <c>503 Service Unavailable</c> (and a
/// <c>Retry-After</c>) before it is upgraded, so a flood costs a short HTTP answer per attempt, never a descriptor
/// held or a log line. Negotiation is refused the same way while the node is full, so clients go elsewhere.
/// </summary>
internal sealed class ConnectionAdmissionMiddleware(RequestDelegate next, ConnectionCapacity capacity, RoomSignalMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments(RoomHubRoutes.Path, StringComparison.Ordinal))
        {
            await next(context);
            return;
        }

        if (!context.WebSockets.IsWebSocketRequest)
        {
            if (capacity.IsFull && context.Request.Path.StartsWithSegments(RoomHubRoutes.Path + "/negotiate", StringComparison.Ordinal))
            {
                metrics.ConnectionRefused("full");
                await RefuseAsync(context);
                return;
            }

            await next(context);
            return;
        }

        if (!capacity.TryEnter())
        {
            metrics.ConnectionRefused("full");
            await RefuseAsync(context);
            return;
        }

        try
        {
            await next(context);
        }
        finally
        {
            capacity.Leave();
        }
    }

    private Task RefuseAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = "5";
        context.Response.ContentType = "text/plain";
        return context.Response.WriteAsync($"connections: this node is full (at most {capacity.MaxConnections} connections); try again later or another node");
    }
}
