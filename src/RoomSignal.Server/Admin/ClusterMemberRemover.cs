using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using RoomSignal.Redis;
using RoomSignal.Server.Rooms;
using StackExchange.Redis;

namespace RoomSignal.Server.Admin;

/// <summary>
/// Admin removals across the cluster. The member's node is read from the room's hash in Redis; a member of this node
/// is removed here, one of another node by a command on that node's admin channel
/// (<see cref="RedisKeyspace.AdminCommandsChannel"/>), which the node runs through its <see cref="LocalMemberRemover"/>
/// (so the room's order and <c>seq</c> are the owner's, as for a normal leave) and answers on the sender's replies
/// channel. The sender waits for that answer at most <see cref="AdminOptions.RemoveTimeout"/>.
/// </summary>
/// <remarks>
/// Pub/sub delivers at most once: a command or answer lost with a Redis connection makes the request time out (504),
/// and the removal may or may not have happened; asking again is safe (404 if it had). When no node listens on the
/// member's node's channel (Redis says so on <c>PUBLISH</c>), the answer is immediate: that node is gone (its members
/// are removed by the sweep when its heartbeat expires) or runs without the admin API.
/// </remarks>
internal sealed class ClusterMemberRemover(
    LocalMemberRemover local,
    IRoomInspector rooms,
    IRedisConnection redis,
    NodeIdentity node,
    IOptions<AdminOptions> options,
    ILogger<ClusterMemberRemover> logger) : IMemberRemover, IHostedService
{
    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<bool>> _pending = new(StringComparer.Ordinal);
    private readonly RedisKeyspace _keys = redis.Keys;
    private ISubscriber? _subscriber;

    public async Task<RemovalOutcome> RemoveAsync(string room, string connectionId, string reason, CancellationToken cancellationToken = default)
    {
        var owner = await rooms.FindMemberNodeAsync(room, connectionId, cancellationToken);
        if (owner is null)
        {
            return RemovalOutcome.NotMember;
        }

        if (string.Equals(owner, node.Id, StringComparison.Ordinal))
        {
            return await local.RemoveAsync(room, connectionId, reason, cancellationToken);
        }

        var id = Guid.NewGuid().ToString("N");
        var answer = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        try
        {
            var subscriber = (await redis.GetMultiplexerAsync(cancellationToken)).GetSubscriber();
            var command = JsonSerializer.Serialize(new RemoveCommand(id, node.Id, room, connectionId, reason), Json);
            var listeners = await subscriber.PublishAsync(_keys.AdminCommandsChannel(owner), command);
            if (listeners == 0)
            {
                return RemovalOutcome.NodeUnreachable;
            }

            return await answer.Task.WaitAsync(options.Value.RemoveTimeout, cancellationToken) ? RemovalOutcome.Removed : RemovalOutcome.NotMember;
        }
        catch (TimeoutException) when (!answer.Task.IsCompleted)
        {
            AdminLog.RemoteRemovalTimedOut(logger, connectionId, room, owner, options.Value.RemoveTimeout);
            return RemovalOutcome.TimedOut;
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Redis may be down at start: subscribe in the background. StackExchange.Redis keeps the subscriptions and
        // sends them again after every reconnect.
        _ = Task.Run(SubscribeAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_subscriber is { } subscriber && redis.IsConnected)
        {
            try
            {
                await subscriber.UnsubscribeAsync(_keys.AdminCommandsChannel(node.Id));
                await subscriber.UnsubscribeAsync(_keys.AdminRepliesChannel(node.Id));
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
            {
                // Shutting down anyway.
            }
        }
    }

    private async Task SubscribeAsync()
    {
        try
        {
            var subscriber = (await redis.GetMultiplexerAsync()).GetSubscriber();
            _subscriber = subscriber;
            await subscriber.SubscribeAsync(_keys.AdminRepliesChannel(node.Id), (_, message) => OnReply(message));
            await subscriber.SubscribeAsync(_keys.AdminCommandsChannel(node.Id), (_, message) => OnCommand(message));
        }
        catch (Exception ex)
        {
            AdminLog.SubscribeFailed(logger, ex);
        }
    }

    private void OnReply(RedisValue message)
    {
        try
        {
            var reply = JsonSerializer.Deserialize<RemoveReply>((string)message!, Json);
            if (reply?.Id is { } id && _pending.TryGetValue(id, out var answer))
            {
                answer.TrySetResult(reply.Removed);
            }
        }
        catch (Exception ex) when (ex is JsonException or ArgumentNullException)
        {
            AdminLog.BadMessage(logger, _keys.OnServer(_keys.AdminRepliesChannel(node.Id)));
        }
    }

    private void OnCommand(RedisValue message)
    {
        RemoveCommand? command;
        try
        {
            command = JsonSerializer.Deserialize<RemoveCommand>((string)message!, Json);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentNullException)
        {
            command = null;
        }

        if (command is not { Id: not null, ReplyTo: not null, Room: not null, ConnectionId: not null, Reason: not null })
        {
            AdminLog.BadMessage(logger, _keys.OnServer(_keys.AdminCommandsChannel(node.Id)));
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                var outcome = await local.RemoveAsync(command.Room, command.ConnectionId, command.Reason);
                var reply = JsonSerializer.Serialize(new RemoveReply(command.Id, outcome == RemovalOutcome.Removed), Json);
                await (await redis.GetMultiplexerAsync()).GetSubscriber().PublishAsync(_keys.AdminRepliesChannel(command.ReplyTo), reply);
            }
            catch (Exception ex)
            {
                AdminLog.CommandFailed(logger, ex);
            }
        });
    }

    private sealed record RemoveCommand(string? Id, string? ReplyTo, string? Room, string? ConnectionId, string? Reason);

    private sealed record RemoveReply(string? Id, bool Removed);
}
