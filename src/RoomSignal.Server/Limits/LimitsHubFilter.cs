using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using RoomSignal.Contracts;
using RoomSignal.Server.Metrics;

namespace RoomSignal.Server.Limits;

/// <summary>
/// Per-connection abuse limits, before validation and the hub: connections per remote address and per user,
/// a token bucket on every invocation and another on joins, and the rooms a connection may be in. A refusal is a
/// <see cref="HubException"/> naming the limit; a connection that keeps invoking past its rate limit is aborted (it
/// alone). Also counts what the <c>RoomSignal</c> meter reports about connections, joins and relays.
/// </summary>
internal sealed class LimitsHubFilter(
    IOptionsMonitor<LimitsOptions> options,
    RoomSignalMetrics metrics,
    ILogger<LimitsHubFilter> logger) : IHubFilter
{
    private readonly ConnectionCounter _perAddress = new();
    private readonly ConnectionCounter _perUser = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ConnectionLimitState> _states = new(StringComparer.Ordinal);

    /// <summary>
    /// The server took <paramref name="connectionId"/> out of <paramref name="room"/> outside a hub call (an admin
    /// removal): forget the room in the connection's room count, so the rooms limit and the members metric stay right.
    /// </summary>
    public void RoomLeftOutsideHub(string connectionId, string room)
    {
        if (_states.TryGetValue(connectionId, out var state) && state.RemoveRoom(room))
        {
            metrics.Left(room);
        }
    }

    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        var limits = options.CurrentValue;
        var connection = context.Context;
        var address = connection.GetHttpContext()?.Connection.RemoteIpAddress?.ToString();
        var user = connection.UserIdentifier;

        if (address is not null && !_perAddress.TryAdd(address, limits.MaxConnectionsPerIp))
        {
            metrics.ConnectionRefused("per_ip");
            LimitsLog.ConnectionRefused(logger, connection.ConnectionId, "per address");
            throw new HubException($"connections: at most {limits.MaxConnectionsPerIp} connections from one address");
        }

        if (user is not null && !_perUser.TryAdd(user, limits.MaxConnectionsPerUser))
        {
            Release(address, null);
            metrics.ConnectionRefused("per_user");
            LimitsLog.ConnectionRefused(logger, connection.ConnectionId, "per user");
            throw new HubException($"connections: at most {limits.MaxConnectionsPerUser} connections per user");
        }

        var state = new ConnectionLimitState(limits, address, user);
        connection.Items[typeof(ConnectionLimitState)] = state;
        _states[connection.ConnectionId] = state;
        try
        {
            await next(context);
        }
        catch
        {
            // SignalR skips OnDisconnectedAsync when connecting failed: undo the counts here.
            _states.TryRemove(connection.ConnectionId, out _);
            connection.Items.Remove(typeof(ConnectionLimitState));
            state.Dispose();
            Release(address, user);
            throw;
        }

        metrics.ConnectionOpened();
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        try
        {
            await next(context, exception);
        }
        finally
        {
            if (context.Context.Items.TryGetValue(typeof(ConnectionLimitState), out var item) && item is ConnectionLimitState state)
            {
                _states.TryRemove(context.Context.ConnectionId, out _);
                state.TakeRooms(metrics.Left);

                state.Dispose();
                Release(state.RemoteAddress, state.UserId);
                metrics.ConnectionClosed();
            }
        }
    }

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        if (!invocationContext.Context.Items.TryGetValue(typeof(ConnectionLimitState), out var item) || item is not ConnectionLimitState state)
        {
            return await next(invocationContext);
        }

        var method = invocationContext.HubMethodName;
        var kind = RelayKind(method);
        var limits = options.CurrentValue;
        if (!ConnectionLimitState.TryTake(state.Invocations))
        {
            throw RateRefusal(invocationContext, state, kind, "invocations",
                $"rate: too many invocations, at most {limits.InvocationsPerSecond} per second");
        }

        string? joining = null;
        string? leaving = null;
        var alreadyMember = false;
        if (method == nameof(IRoomHub.CreateAndJoinRoom))
        {
            if (!ConnectionLimitState.TryTake(state.Joins))
            {
                throw RateRefusal(invocationContext, state, kind, "joins",
                    $"rate: too many joins, at most {limits.JoinsPerSecond} per second");
            }

            joining = (invocationContext.HubMethodArguments.FirstOrDefault() as JoinRoomRequest)?.Room;
            if (joining is not null)
            {
                alreadyMember = state.IsIn(joining);
                if (!alreadyMember && state.RoomCount >= limits.MaxRoomsPerConnection)
                {
                    metrics.JoinRefused("rooms_limit");
                    throw new HubException($"rooms: a connection may be in at most {limits.MaxRoomsPerConnection} rooms at once");
                }
            }
        }
        else if (method == nameof(IRoomHub.Exit))
        {
            leaving = (invocationContext.HubMethodArguments.FirstOrDefault() as ExitRoomRequest)?.Room;
        }

        object? result;
        try
        {
            result = await next(invocationContext);
        }
        catch (Exception ex)
        {
            if (joining is not null || method == nameof(IRoomHub.CreateAndJoinRoom))
            {
                metrics.JoinRefused(JoinRefusalReason(ex));
            }
            else if (kind is not null)
            {
                metrics.RelayRefused(kind, RelayRefusalReason(ex));
            }

            throw;
        }

        if (joining is not null)
        {
            state.AddRoom(joining, metrics.Joined);
        }
        else if (leaving is not null && state.RemoveRoom(leaving))
        {
            metrics.Left(leaving);
        }
        else if (kind is not null)
        {
            metrics.Relayed(kind);
        }

        return result;
    }

    private HubException RateRefusal(HubInvocationContext invocationContext, ConnectionLimitState state, string? kind, string bucket, string message)
    {
        metrics.RateLimited(bucket);
        if (kind is not null)
        {
            metrics.RelayRefused(kind, "rate");
        }
        else if (bucket == "joins" || invocationContext.HubMethodName == nameof(IRoomHub.CreateAndJoinRoom))
        {
            metrics.JoinRefused("rate");
        }

        if (!ConnectionLimitState.TryTake(state.Strikes) && !state.Disconnecting)
        {
            state.Disconnecting = true;
            var limits = options.CurrentValue;
            metrics.DisconnectedForFlooding();
            LimitsLog.DisconnectedForFlooding(logger, invocationContext.Context.ConnectionId, state.RemoteAddress ?? "unknown", limits.DisconnectAfterRefusals);
            invocationContext.Context.Abort();
        }

        return new HubException(message);
    }

    private void Release(string? address, string? user)
    {
        if (address is not null)
        {
            _perAddress.Remove(address);
        }

        if (user is not null)
        {
            _perUser.Remove(user);
        }
    }

    private static string? RelayKind(string method) => method switch
    {
        nameof(IRoomHub.Offer) => "offer",
        nameof(IRoomHub.Answer) => "answer",
        nameof(IRoomHub.Candidate) => "candidate",
        _ => null,
    };

    // The hub and the validation filter say why in the HubException's text (the field first); the reasons here
    // read that text, so a new refusal without its own case counts as "invalid".
    private static string JoinRefusalReason(Exception ex) => ex switch
    {
        HubException { Message: var m } when m.Contains("is full", StringComparison.Ordinal) => "full",
        HubException { Message: var m } when m.Contains("does not allow", StringComparison.Ordinal) => "forbidden",
        HubException { Message: var m } when m.Contains("cannot reach Redis", StringComparison.Ordinal) => "unavailable",
        HubException => "invalid",
        _ => "error",
    };

    private static string RelayRefusalReason(Exception ex) => ex switch
    {
        HubException { Message: var m } when m.Contains("not a member", StringComparison.Ordinal) => "not_member",
        HubException { Message: var m } when m.Contains("cannot reach Redis", StringComparison.Ordinal) => "unavailable",
        HubException => "invalid",
        _ => "error",
    };
}
