using RoomSignal.Server.Transport;

namespace RoomSignal.Server.Tests.Transport;

/// <summary>
/// The direct transport's output scheduler: a send to another connection caused while a receive loop dispatches runs on
/// the same thread right after the dispatch (outside SignalR's write lock), never on another thread and never lost; the
/// dispatching connection's own sends and every send outside a dispatch run at once.
/// </summary>
public sealed class SendAfterDispatchSchedulerTests
{
    private readonly object _caller = new();
    private readonly object _target = new();
    private readonly List<(string What, int Thread)> _ran = [];

    [Fact]
    public void OutsideADispatchASendRunsAtOnce()
    {
        Send(_target, "ping");
        Assert.Equal([("ping", Environment.CurrentManagedThreadId)], _ran);
    }

    [Fact]
    public void DuringADispatchSendsToOtherConnectionsWaitForItsEndThenRunInOrderOnTheSameThread()
    {
        var other = new object();
        using (SendAfterDispatchScheduler.Defer(_caller))
        {
            Send(_target, "relay to the target");
            Send(other, "joined to another member");
            Assert.Empty(_ran);
        }

        var self = Environment.CurrentManagedThreadId;
        Assert.Equal([("relay to the target", self), ("joined to another member", self)], _ran);
    }

    [Fact]
    public void TheDispatchingConnectionsOwnSendsGoOutAtOnce()
    {
        using (SendAfterDispatchScheduler.Defer(_caller))
        {
            Send(_caller, "created");
            Assert.Equal([("created", Environment.CurrentManagedThreadId)], _ran);
        }
    }

    [Fact]
    public void NestedDispatchesRunTheirSendsWhenTheOutermostEnds()
    {
        using (SendAfterDispatchScheduler.Defer(_caller))
        {
            using (SendAfterDispatchScheduler.Defer(new object()))
            {
                Send(_target, "inner");
            }

            Assert.Empty(_ran);
        }

        Send(_target, "after");
        Assert.Equal(["inner", "after"], _ran.Select(r => r.What));
    }

    [Fact]
    public void ADispatchOnOneThreadDoesNotHoldBackSendsOnAnother()
    {
        using (SendAfterDispatchScheduler.Defer(_caller))
        {
            // Joined synchronously: a dispatch belongs to its thread and must end there.
            var other = new Thread(() => Send(_target, "from another thread"));
            other.Start();
            Assert.True(other.Join(TimeSpan.FromSeconds(10)), "the other thread");
            Assert.Equal(["from another thread"], _ran.Select(r => r.What));
        }
    }

    private void Send(object connection, string what)
        => new SendAfterDispatchScheduler(connection).Schedule(
            s => _ran.Add(((string)s!, Environment.CurrentManagedThreadId)), what);
}
