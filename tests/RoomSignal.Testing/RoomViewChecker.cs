using System.Text;
using RoomSignal.Contracts;

namespace RoomSignal.Testing;

/// <summary>The ways a member's view of a room can go wrong (rule 9 of the wire contract).</summary>
public enum ViewAnomalyKind
{
    /// <summary><c>joined</c> for a peer the member already knew.</summary>
    DuplicateJoined,

    /// <summary><c>exit</c> for a peer the member never knew (or already saw leave).</summary>
    UnknownExit,

    /// <summary><c>joined</c> or <c>exit</c> of a room before its <c>created</c>, or after the member left it.</summary>
    EventOutsideMembership,

    /// <summary>A second <c>created</c> for a room the member is in, that disagrees with its view.</summary>
    UnexpectedCreated,

    /// <summary>An event whose <c>seq</c> is not larger than the one before (of the same room); with recovery allowed, smaller.</summary>
    SeqNotIncreasing,

    /// <summary>An event whose <c>seq</c> skips numbers, so the member missed a change (only where seqs are contiguous).</summary>
    SeqGap,

    /// <summary><c>CreateAndJoinRoom</c> returned something other than the <c>created</c> that preceded it (or none did).</summary>
    ResultDiffersFromCreated,

    /// <summary>At the end, the member still holds a peer that is no longer in the room: it never got that <c>exit</c>.</summary>
    MissingExit,

    /// <summary>At the end, the room holds a peer the member never heard of: it never got that <c>joined</c>.</summary>
    MissingJoined,
}

/// <summary>One violation, with the event that showed it and the member's view just before.</summary>
/// <param name="Kind">What went wrong.</param>
/// <param name="Observer">The member whose view it is.</param>
/// <param name="Room">The room.</param>
/// <param name="Event">The offending event (or, for the final check, the peer in question).</param>
/// <param name="View">The member's view of the room just before, as <c>seq [peers]</c>.</param>
/// <param name="Index">The position of the event among all the checker saw.</param>
public sealed record ViewAnomaly(ViewAnomalyKind Kind, string Observer, string Room, string Event, string View, long Index)
{
    /// <inheritdoc/>
    public override string ToString() => $"#{Index} {Kind}: {Observer} in {Room} got {Event} while its view was {View}";
}

/// <summary>
/// Checks, on every membership event, that each member's view of each of its rooms follows rule 9 of the wire
/// contract: <c>created</c> first, then each later change once, in order; never a <c>joined</c> for a known peer,
/// never an <c>exit</c> for an unknown one, <c>seq</c> increasing; and at the end, every view equal to the room.
/// Feed it the raw events a client receives (not an SDK's filtered ones), from any number of members at once.
/// </summary>
public sealed class RoomViewChecker
{
    private readonly Lock _gate = new();
    private int _recoveryRepeats;
    private int _staleDropped;
    private readonly Dictionary<(string Observer, string Room), View> _views = [];
    private readonly List<ViewAnomaly> _anomalies = [];
    private readonly Dictionary<ViewAnomalyKind, int> _counts = [];
    private readonly Dictionary<(string Observer, string Room), RoomJoined> _pendingResults = [];
    private readonly Dictionary<(string Observer, string Room), long> _leftBeforeCreated = [];
    private readonly HashSet<string> _disconnected = new(StringComparer.Ordinal);
    private long _events;

    /// <summary>
    /// Creates a checker. <paramref name="contiguousSeq"/>: the server numbers each room's changes 1, 2, 3, ... so a
    /// member that is told of every change sees no gap; a gap then counts as <see cref="ViewAnomalyKind.SeqGap"/>.
    /// </summary>
    /// <remarks>
    /// <paramref name="allowRecovery"/>: the run includes a recovery (a Redis wipe, a lost change), where a node sends
    /// its members only the difference at the room's current <c>seq</c>: then <c>seq</c> may jump and several events may
    /// share one <c>seq</c> (it must still never decrease), and every other rule holds as before.
    /// </remarks>
    public RoomViewChecker(bool contiguousSeq = true, bool allowRecovery = false)
    {
        ContiguousSeq = contiguousSeq && !allowRecovery;
        AllowRecovery = allowRecovery;
    }

    /// <summary>Whether a skipped <c>seq</c> counts as an anomaly.</summary>
    public bool ContiguousSeq { get; }

    /// <summary>Whether events may share a <c>seq</c> (a recovery's difference).</summary>
    public bool AllowRecovery { get; }

    /// <summary>
    /// With <see cref="AllowRecovery"/>: events that changed nothing, at the <c>seq</c> the member already had (a
    /// <c>joined</c> for a peer it has, an <c>exit</c> for one it does not). A recovery after Redis lost its data can
    /// send these (docs/protocol.md, Recovery); the JS SDK drops them as repeats. Counted, not anomalies. Without
    /// <see cref="AllowRecovery"/>, or at a new <c>seq</c>, they are anomalies.
    /// </summary>
    public int RecoveryRepeats
    {
        get
        {
            lock (_gate)
            {
                return _recoveryRepeats;
            }
        }
    }

    /// <summary>How many events were checked.</summary>
    public long Events => Interlocked.Read(ref _events);

    /// <summary>Every anomaly so far, in the order found (the first 1,000 are kept; <see cref="Count"/> counts all).</summary>
    public IReadOnlyList<ViewAnomaly> Anomalies
    {
        get
        {
            lock (_gate)
            {
                return _anomalies.ToArray();
            }
        }
    }

    /// <summary>How many anomalies of every kind were found.</summary>
    public int TotalAnomalies
    {
        get
        {
            lock (_gate)
            {
                return _counts.Values.Sum();
            }
        }
    }

    /// <summary>How many anomalies of <paramref name="kind"/> were found.</summary>
    public int Count(ViewAnomalyKind kind)
    {
        lock (_gate)
        {
            return _counts.GetValueOrDefault(kind);
        }
    }

    /// <summary><paramref name="observer"/> received <c>created</c>.</summary>
    public void OnCreated(string observer, RoomJoined created)
    {
        var index = Interlocked.Increment(ref _events);
        var peers = created.Peers.Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
        lock (_gate)
        {
            var key = (observer, created.Room);
            if (_disconnected.Contains(observer))
            {
                return; // handled after the test closed the connection: nothing to check
            }

            if (_pendingResults.TryGetValue(key, out var pending) && pending.Seq <= created.Seq)
            {
                // The created of that call has come now (an older one, still on its way to the handler, does not count).
                _pendingResults.Remove(key);
                CompareResult(observer, pending, created, index);
            }

            if (_views.TryGetValue(key, out var view) && view.Open && !view.Leaving)
            {
                // Joining again while a member: allowed, and it must agree with what the member knows.
                if (created.Seq != view.Seq || !peers.SetEquals(view.Peers))
                {
                    Add(ViewAnomalyKind.UnexpectedCreated, observer, created.Room, Describe(created), view, index);
                }

                view.LastCreated = created;
                return;
            }

            var leaving = _leftBeforeCreated.TryGetValue(key, out var leftSeq) && leftSeq == created.Seq;
            if (leaving)
            {
                _leftBeforeCreated.Remove(key);
            }

            _views[key] = new View { Open = true, Seq = created.Seq, CreatedSeq = created.Seq, Leaving = leaving, Peers = peers, LastCreated = created };
        }
    }

    /// <summary><paramref name="observer"/> received <c>joined</c>.</summary>
    public void OnJoined(string observer, PeerJoined joined)
        => OnChange(observer, joined.Room, joined.Seq, $"joined {joined.Id} seq {joined.Seq}", ViewAnomalyKind.DuplicateJoined, view => view.Peers.Add(joined.Id));

    /// <summary><paramref name="observer"/> received <c>exit</c>.</summary>
    public void OnExit(string observer, PeerExited exit)
        => OnChange(observer, exit.Room, exit.Seq, $"exit {exit.From} seq {exit.Seq}", ViewAnomalyKind.UnknownExit, view => view.Peers.Remove(exit.From));

    /// <summary>A <c>joined</c> or <c>exit</c>: <paramref name="apply"/> changes the view and says whether it changed anything.</summary>
    private void OnChange(string observer, string room, long seq, string description, ViewAnomalyKind noChange, Func<View, bool> apply)
    {
        var index = Interlocked.Increment(ref _events);
        lock (_gate)
        {
            if (!TryOpenView(observer, room, description, index, out var view))
            {
                return;
            }

            if (AllowRecovery && seq < view.Seq)
            {
                // Stale: after Redis lost its data a node can still send an event numbered before what the member
                // has (docs/protocol.md, Recovery). Both SDKs drop it by seq, so the checker does too; a change it
                // carried that the member really needed shows in the final comparison with Redis.
                _staleDropped++;
                return;
            }

            var before = view.Seq;
            CheckSeq(observer, room, description, seq, view, index);
            if (apply(view))
            {
                return;
            }

            if (IsRecoveryRepeat(seq, before))
            {
                _recoveryRepeats++;
            }
            else
            {
                Add(noChange, observer, room, description, view, index);
            }
        }
    }

    /// <summary>
    /// <paramref name="observer"/>'s <c>CreateAndJoinRoom</c> returned <paramref name="result"/>; the <c>created</c>
    /// the server sent it just before must carry the same payload. (The .NET client may complete the call before
    /// it has run the <c>created</c> handler, so the comparison waits for that <c>created</c> when it has not come yet.)
    /// </summary>
    public void OnJoinReturned(string observer, RoomJoined result)
    {
        var index = Interlocked.Increment(ref _events);
        lock (_gate)
        {
            var created = _views.TryGetValue((observer, result.Room), out var view) ? view.LastCreated : null;
            if (created is not null && created.Seq == result.Seq && view!.Open && !view.Leaving)
            {
                CompareResult(observer, result, created, index);
            }
            else
            {
                _pendingResults[(observer, result.Room)] = result;
            }
        }
    }

    /// <summary>
    /// Calls that returned a result whose <c>created</c> never arrived are anomalies; call once the events in flight
    /// have arrived (<see cref="RoomChurn"/> does).
    /// </summary>
    public void FinishResults()
    {
        lock (_gate)
        {
            foreach (var ((observer, room), result) in _pendingResults)
            {
                if (_disconnected.Contains(observer))
                {
                    continue;
                }

                AddLocked(new ViewAnomaly(ViewAnomalyKind.ResultDiffersFromCreated, observer, room, $"result {Describe(result)} and no created", "(none)", _events));
            }

            _pendingResults.Clear();
        }
    }

    private void CompareResult(string observer, RoomJoined result, RoomJoined created, long index)
    {
        if (created.Seq != result.Seq || created.Id != result.Id
            || !created.Peers.Select(p => p.Id).Order(StringComparer.Ordinal).SequenceEqual(result.Peers.Select(p => p.Id).Order(StringComparer.Ordinal)))
        {
            Add(ViewAnomalyKind.ResultDiffersFromCreated, observer, result.Room, $"result {Describe(result)} for {Describe(created)}", null, index);
        }
    }

    /// <summary>
    /// <paramref name="observer"/>'s <c>Exit</c> of <paramref name="room"/> returned, undoing the join whose result
    /// carried <paramref name="joinSeq"/>. The .NET client runs event handlers apart from call results, so that join's
    /// <c>created</c> and the events after it may still be on their way to the handlers: the view of that membership
    /// is marked as leaving (now, or when its <c>created</c> comes) and no longer compared with the room. An event the
    /// server wrongly sends after the member's departure still shows, as a gap in <c>seq</c>.
    /// </summary>
    public void OnLeft(string observer, string room, long joinSeq)
    {
        lock (_gate)
        {
            if (_views.TryGetValue((observer, room), out var view) && view.CreatedSeq == joinSeq)
            {
                view.Leaving = true;
            }
            else
            {
                _leftBeforeCreated[(observer, room)] = joinSeq;
            }
        }
    }

    /// <summary>
    /// <paramref name="observer"/> disconnected (the test closed it, or the server did): it has left all its rooms.
    /// Events still handled after this were sent before the server noticed, and are not checked.
    /// </summary>
    public void OnDisconnected(string observer)
    {
        lock (_gate)
        {
            _disconnected.Add(observer);
            foreach (var (key, view) in _views)
            {
                if (key.Observer == observer)
                {
                    view.Open = false;
                }
            }
        }
    }

    /// <summary>The rooms <paramref name="observer"/> is in and its view of each.</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>> ViewsOf(string observer)
    {
        lock (_gate)
        {
            return _views.Where(v => v.Key.Observer == observer && v.Value.Open && !v.Value.Leaving)
                .ToDictionary(v => v.Key.Room, v => (IReadOnlySet<string>)v.Value.Peers.ToHashSet(StringComparer.Ordinal));
        }
    }

    /// <summary>
    /// The differences between every open view and the room's real members (<paramref name="members"/>: room to the
    /// ids it holds), without recording them: empty once the views have caught up.
    /// </summary>
    public IReadOnlyList<ViewAnomaly> CompareWith(IReadOnlyDictionary<string, IReadOnlySet<string>> members)
    {
        var found = new List<ViewAnomaly>();
        lock (_gate)
        {
            foreach (var ((observer, room), view) in _views)
            {
                if (!view.Open || view.Leaving)
                {
                    continue;
                }

                var truth = members.TryGetValue(room, out var m) ? m : new HashSet<string>();
                foreach (var peer in view.Peers.Where(p => !truth.Contains(p)).Order(StringComparer.Ordinal))
                {
                    found.Add(new ViewAnomaly(ViewAnomalyKind.MissingExit, observer, room, $"(end) {peer} is gone", Describe(view), _events));
                }

                foreach (var peer in truth.Where(p => p != observer && !view.Peers.Contains(p)).Order(StringComparer.Ordinal))
                {
                    found.Add(new ViewAnomaly(ViewAnomalyKind.MissingJoined, observer, room, $"(end) {peer} is there", Describe(view), _events));
                }
            }
        }

        return found;
    }

    /// <summary>Records <paramref name="differences"/> (from <see cref="CompareWith"/>) as anomalies.</summary>
    public void Record(IEnumerable<ViewAnomaly> differences)
    {
        lock (_gate)
        {
            foreach (var d in differences)
            {
                AddLocked(d);
            }
        }
    }

    /// <summary>A summary: events checked, anomalies by kind, and the first few with their events.</summary>
    public string Report(int firstFew = 5)
    {
        lock (_gate)
        {
            var text = new StringBuilder();
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"{_events} events checked, {_counts.Values.Sum()} anomalies");
            if (AllowRecovery)
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $" ({_recoveryRepeats} recovery repeats at an unchanged seq and {_staleDropped} stale events dropped by seq as the SDKs do, allowed)");
            }

            foreach (var (kind, count) in _counts.OrderBy(c => c.Key))
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $"; {kind}: {count}");
            }

            foreach (var anomaly in _anomalies.Take(firstFew))
            {
                text.AppendLine().Append("  ").Append(anomaly);
            }

            return text.ToString();
        }
    }

    /// <summary>Fails (with <see cref="Report"/>, naming the first offending event) unless no anomaly was found.</summary>
    public void AssertNone()
    {
        var total = TotalAnomalies;
        if (total != 0)
        {
            throw new Xunit.Sdk.XunitException($"Expected no view anomalies: {Report()}");
        }
    }

    private bool TryOpenView(string observer, string room, string description, long index, out View view)
    {
        if (_views.TryGetValue((observer, room), out view!) && view.Open)
        {
            return true;
        }

        if (view is { Open: false } || _disconnected.Contains(observer))
        {
            // Sent before the server saw this member disconnect, handled while it was closing: nothing to check. The
            // .NET client may still run handlers after DisposeAsync returned, so a join's created and the events after
            // it can come after OnDisconnected; OnCreated ignores that created, and its events are not checked either.
            return false;
        }

        Add(ViewAnomalyKind.EventOutsideMembership, observer, room, description, view, index);
        return false;
    }

    private bool IsRecoveryRepeat(long seq, long viewSeqBefore) => AllowRecovery && seq == viewSeqBefore;

    private void CheckSeq(string observer, string room, string description, long seq, View view, long index)
    {
        if (seq < view.Seq || (seq == view.Seq && !AllowRecovery))
        {
            Add(ViewAnomalyKind.SeqNotIncreasing, observer, room, description, view, index);
        }
        else if (ContiguousSeq && seq != view.Seq + 1)
        {
            Add(ViewAnomalyKind.SeqGap, observer, room, description, view, index);
        }

        view.Seq = Math.Max(view.Seq, seq);
    }

    private void Add(ViewAnomalyKind kind, string observer, string room, string description, View? view, long index)
        => AddLocked(new ViewAnomaly(kind, observer, room, description, view is null ? "(none)" : Describe(view), index));

    private void AddLocked(ViewAnomaly anomaly)
    {
        _counts[anomaly.Kind] = _counts.GetValueOrDefault(anomaly.Kind) + 1;
        if (_anomalies.Count < 1000)
        {
            _anomalies.Add(anomaly);
        }
    }

    private static string Describe(View view) => $"seq {view.Seq} [{string.Join(',', view.Peers.Order(StringComparer.Ordinal))}]{(!view.Open ? " (disconnected)" : view.Leaving ? " (leaving)" : "")}";

    private static string Describe(RoomJoined created) => $"created seq {created.Seq} [{string.Join(',', created.Peers.Select(p => p.Id).Order(StringComparer.Ordinal))}]";

    private sealed class View
    {
        public bool Open { get; set; }

        /// <summary>The member's Exit returned; events sent before it may still arrive.</summary>
        public bool Leaving { get; set; }

        public long Seq { get; set; }

        /// <summary>The seq of the <c>created</c> that opened this view.</summary>
        public long CreatedSeq { get; init; }

        public HashSet<string> Peers { get; init; } = new(StringComparer.Ordinal);

        public RoomJoined? LastCreated { get; set; }
    }
}
