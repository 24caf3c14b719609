using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RoomSignal.Server.Limits;

/// <summary>Not ready while the node holds as many WebSockets as it may, so a load balancer sends newcomers elsewhere.</summary>
internal sealed class ConnectionCapacityHealthCheck(ConnectionCapacity capacity) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        => Task.FromResult(capacity.IsFull
            ? new HealthCheckResult(context.Registration.FailureStatus, $"Full: {capacity.WebSockets} of {capacity.MaxConnections} connections.")
            : HealthCheckResult.Healthy());
}
