using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.ExceptionServices;
using StackExchange.Redis;

namespace RoomSignal.Redis.Internal;

/// <summary>
/// A view of the shared multiplexer for the SignalR backplane. Every call goes to the shared one except those that
/// would end it for everybody: <c>Close</c>, <c>Dispose</c> and <c>DisposeAsync</c> do nothing, and the
/// subscriber's <c>UnsubscribeAll</c> drops only the channels subscribed through this view. The backplane's
/// <c>Dispose</c> calls both, and the room store, which drains on SIGTERM, still needs the connection then.
/// The <c>published</c> callback, when given, sees every PUBLISH of the backplane (its task), for the metrics.
/// </summary>
internal class NonOwningMultiplexer : DispatchProxy
{
    private IConnectionMultiplexer _target = null!;
    private ISubscriber? _subscriber;
    private Action<Task>? _published;

    public static IConnectionMultiplexer Wrap(IConnectionMultiplexer target, Action<Task>? published = null)
    {
        var proxy = Create<IConnectionMultiplexer, NonOwningMultiplexer>();
        ((NonOwningMultiplexer)(object)proxy)._target = target;
        ((NonOwningMultiplexer)(object)proxy)._published = published;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        switch (targetMethod.Name)
        {
            case nameof(IConnectionMultiplexer.Dispose):
            case nameof(IConnectionMultiplexer.Close):
                return null;
            case nameof(IConnectionMultiplexer.DisposeAsync):
                return ValueTask.CompletedTask;
            case nameof(IConnectionMultiplexer.CloseAsync):
                return Task.CompletedTask;
            case nameof(IConnectionMultiplexer.GetSubscriber):
                return _subscriber ??= OwnChannelsSubscriber.Wrap((ISubscriber)Forward(_target, targetMethod, args)!, _published);
            default:
                return Forward(_target, targetMethod, args);
        }
    }

    internal static object? Forward(object target, MethodInfo method, object?[]? args)
    {
        try
        {
            return method.Invoke(target, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }
}

/// <summary>A subscriber whose <c>UnsubscribeAll</c> unsubscribes only the channels subscribed through it.</summary>
internal class OwnChannelsSubscriber : DispatchProxy
{
    private readonly ConcurrentDictionary<RedisChannel, byte> _channels = new();
    private ISubscriber _target = null!;
    private Action<Task>? _published;

    public static ISubscriber Wrap(ISubscriber target, Action<Task>? published = null)
    {
        var proxy = Create<ISubscriber, OwnChannelsSubscriber>();
        ((OwnChannelsSubscriber)(object)proxy)._target = target;
        ((OwnChannelsSubscriber)(object)proxy)._published = published;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        switch (targetMethod.Name)
        {
            case nameof(ISubscriber.Subscribe):
            case nameof(ISubscriber.SubscribeAsync):
                if (args is [RedisChannel subscribed, ..])
                {
                    _channels.TryAdd(subscribed, 0);
                }

                break;
            case nameof(ISubscriber.Unsubscribe):
            case nameof(ISubscriber.UnsubscribeAsync):
                if (args is [RedisChannel unsubscribed, null, ..])
                {
                    _channels.TryRemove(unsubscribed, out _);
                }

                break;
            case nameof(ISubscriber.UnsubscribeAll):
                UnsubscribeOwn();
                return null;
            case nameof(ISubscriber.UnsubscribeAllAsync):
                UnsubscribeOwn();
                return Task.CompletedTask;
            case nameof(ISubscriber.PublishAsync) when _published is { } published:
                Task sent;
                try
                {
                    sent = (Task)NonOwningMultiplexer.Forward(_target, targetMethod, args)!;
                }
                catch (Exception ex)
                {
                    published(Task.FromException(ex));
                    throw;
                }

                sent.ContinueWith(published, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                return sent;
        }

        return NonOwningMultiplexer.Forward(_target, targetMethod, args);
    }

    private void UnsubscribeOwn()
    {
        foreach (var channel in _channels.Keys)
        {
            try
            {
                _target.Unsubscribe(channel, handler: null, CommandFlags.FireAndForget);
            }
            catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
            {
                // Redis is gone anyway; the subscription dies with the connection.
            }
        }

        _channels.Clear();
    }
}
