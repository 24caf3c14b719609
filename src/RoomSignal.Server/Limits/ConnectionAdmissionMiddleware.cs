using RoomSignal.Contracts;
using RoomSignal.Server.Metrics;

namespace RoomSignal.Server.Limits;

/// <summary>
/// Decides, before anything is negotiated or upgraded, whether the hub takes a connection, and refuses one it does not
/// take with <c>503 Service Unavailable</c>, a <c>Retry-After</c> and a plain-text reason, so a load balancer retries
/// elsewhere and a flood costs a short HTTP answer per attempt, never a descriptor held or a log line.
/// A new connection (a negotiation, or a transport request without a connection <c>id</c>) is refused while the node is
/// stopping, while its configured Redis backplane is not ready (<see cref="NodeAdmission"/>) and while the node is full.
/// A request with an <c>id</c> belongs to a connection already admitted (the transport after negotiation, a stateful
/// reconnect's resume) and is refused only past the WebSocket cap.
/// </summary>
internal sealed class ConnectionAdmissionMiddleware(RequestDelegate next, ConnectionCapacity capacity, NodeAdmission admission, RoomSignalMetrics metrics)
{
    private const string NegotiatePath = RoomHubRoutes.Path + "/negotiate";

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!request.Path.StartsWithSegments(RoomHubRoutes.Path, StringComparison.Ordinal))
        {
            await next(context);
            return;
        }

        var negotiate = request.Path.StartsWithSegments(NegotiatePath, StringComparison.Ordinal);
        if (negotiate || !request.Query.ContainsKey("id"))
        {
            if (admission.IsStopping)
            {
                await RefuseAsync(context, "stopping", "server: this node is shutting down; connect to another node");
                return;
            }

            if (!await admission.IsBackplaneReadyAsync())
            {
                await RefuseAsync(context, "redis", "redis: this node cannot reach Redis right now; try again shortly or another node");
                return;
            }
        }

        if (!context.WebSockets.IsWebSocketRequest)
        {
            if (negotiate && capacity.IsFull)
            {
                await RefuseFullAsync(context);
                return;
            }

            await next(context);
            return;
        }

        if (!capacity.TryEnter())
        {
            await RefuseFullAsync(context);
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

    private Task RefuseFullAsync(HttpContext context)
        => RefuseAsync(context, "full", $"connections: this node is full (at most {capacity.MaxConnections} connections); try again later or another node");

    private Task RefuseAsync(HttpContext context, string reason, string message)
    {
        metrics.ConnectionRefused(reason);
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = "5";
        context.Response.ContentType = "text/plain";
        return context.Response.WriteAsync(message);
    }
}
