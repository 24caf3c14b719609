using System.IO.Pipelines;

namespace RoomSignal.Server.Transport;

/// <summary>
/// The reader scheduler of one direct connection's output pipe: runs that connection's send loop inline, except while
/// a receive loop on this thread is dispatching another connection's message to the hub. Then the send waits, on the
/// same thread, until that dispatch returns, and runs right after it (<see cref="Defer"/>).
/// </summary>
/// <remarks>
/// Run inline at once, a send loop writes to its socket inside the hub's flush, that is inside SignalR's per-connection
/// write lock. A relay to a connection that another thread is writing to then finds the lock taken, and SignalR finishes
/// the write (and the rest of the invocation) on the thread pool: on one node at 5,000 msg/s that was about 300
/// thread-pool work items a second, each a wake-up, and the lock contention behind them (docs/benchmarks.md). Deferred to
/// the end of the dispatch, a relay holds the target's lock only while it is copied into the pipe, and still no other
/// thread is involved. The dispatching connection's own messages (its <c>created</c>, its invocation's result) still go
/// out at once, each in its own frame, as before: the official .NET client runs event handlers apart from invocation
/// results, and one frame holding both made a join's result overtake its <c>created</c> handler.
/// Flushes outside a dispatch (keep-alive pings from the heartbeat, messages from the Redis backplane) run inline too.
/// </remarks>
internal sealed class SendAfterDispatchScheduler(object connection) : PipeScheduler
{
    [ThreadStatic]
    private static List<(Action<object?> Action, object? State)>? t_deferred;

    [ThreadStatic]
    private static object? t_dispatching;

    public override void Schedule(Action<object?> action, object? state)
    {
        var dispatching = t_dispatching;
        if (dispatching is not null && !ReferenceEquals(dispatching, connection))
        {
            (t_deferred ??= []).Add((action, state));
            return;
        }

        action(state);
    }

    /// <summary>
    /// This thread is about to dispatch a message of <paramref name="connection"/>: sends to other connections wait until
    /// the returned scope is disposed, which must happen on this thread before it awaits anything, around the synchronous
    /// part of the flush that hands the message to the hub.
    /// </summary>
    public static Scope Defer(object connection)
    {
        var outer = t_dispatching;
        t_dispatching = connection;
        return new Scope(outer);
    }

    /// <summary>Ends a dispatch; the outermost one runs the deferred sends.</summary>
    public readonly struct Scope(object? outer) : IDisposable
    {
        public void Dispose()
        {
            t_dispatching = outer;
            if (outer is not null || t_deferred is not { Count: > 0 } deferred)
            {
                return;
            }

            try
            {
                // Nothing dispatches while these run, so any send they schedule runs inline.
                for (var i = 0; i < deferred.Count; i++)
                {
                    var (action, state) = deferred[i];
                    action(state);
                }
            }
            finally
            {
                deferred.Clear();
            }
        }
    }
}
