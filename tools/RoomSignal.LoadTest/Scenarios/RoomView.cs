using RoomSignal.LoadTest.Wire;

namespace RoomSignal.LoadTest.Scenarios;

/// <summary>Counts of every way a member's view of its room can go wrong (wire contract rule 9).</summary>
internal sealed class ViewAnomalies
{
    public long JoinedForKnownPeer;
    public long ExitForUnknownPeer;
    public long EventBeforeCreated;
    public long EventAboutSelf;
    public long SecondCreated;
    public long SeqNotIncreasing;
    public long MissingExit;
    public long MissingJoined;
    public long OneSidedPairs;

    public long Total => JoinedForKnownPeer + ExitForUnknownPeer + EventBeforeCreated + EventAboutSelf + SecondCreated + SeqNotIncreasing
        + MissingExit + MissingJoined + OneSidedPairs;

    public object Summary() => new
    {
        total = Total,
        joined_for_known_peer = JoinedForKnownPeer,
        exit_for_unknown_peer = ExitForUnknownPeer,
        event_before_created = EventBeforeCreated,
        event_about_self = EventAboutSelf,
        second_created = SecondCreated,
        seq_not_increasing = SeqNotIncreasing,
        missing_exit_at_end = MissingExit,
        missing_joined_at_end = MissingJoined,
        one_sided_pairs_at_end = OneSidedPairs,
    };

    /// <summary>
    /// Compares the final views of live members with the truth (who is in each room now): a peer still in a
    /// view but gone is a missing <c>exit</c>, a member absent from a view a missing <c>joined</c>.
    /// </summary>
    public void CompareWithTruth(IEnumerable<RoomView> liveViews)
    {
        foreach (var room in liveViews.Where(v => v.SelfId is not null).GroupBy(v => v.Room))
        {
            var members = room.ToArray();
            var truth = members.Select(v => v.SelfId!).ToHashSet(StringComparer.Ordinal);
            foreach (var v in members)
            {
                lock (v)
                {
                    MissingExit += v.Known.Count(k => !truth.Contains(k));
                    MissingJoined += truth.Count(t => t != v.SelfId && !v.Known.Contains(t));
                }
            }

            for (var a = 0; a < members.Length; a++)
            {
                for (var b = a + 1; b < members.Length; b++)
                {
                    if (members[a].Knows(members[b].SelfId!) != members[b].Knows(members[a].SelfId!))
                    {
                        OneSidedPairs++;
                    }
                }
            }
        }
    }
}

/// <summary>One member's view of one room, built only from what the server sent it, in arrival order.</summary>
internal sealed class RoomView(string room, ViewAnomalies anomalies)
{
    private readonly HashSet<string> _early = new(StringComparer.Ordinal);
    private readonly HashSet<string> _earlyExits = new(StringComparer.Ordinal);
    private long _lastSeq = -1;

    public string Room { get; } = room;
    public string? SelfId { get; private set; }
    public bool Created { get; private set; }
    public HashSet<string> Known { get; } = new(StringComparer.Ordinal);

    /// <summary>Set when <see cref="Known"/> first reached the size the caller waits for.</summary>
    public long FullAt { get; set; }

    public bool Knows(string id)
    {
        lock (this)
        {
            return Known.Contains(id);
        }
    }

    /// <summary>Applies a membership event; returns the number of peers known afterwards.</summary>
    public int Apply(HubMessage m)
    {
        lock (this)
        {
            if (m.Room != Room)
            {
                return Known.Count;
            }

            if (m.Seq >= 0)
            {
                if (m.Seq <= _lastSeq)
                {
                    Interlocked.Increment(ref anomalies.SeqNotIncreasing);
                }

                _lastSeq = m.Seq;
            }

            switch (m.Target)
            {
                case HubTarget.Created:
                    if (Created)
                    {
                        Interlocked.Increment(ref anomalies.SecondCreated);
                        break;
                    }

                    Created = true;
                    SelfId = m.Id;
                    foreach (var peer in m.Peers)
                    {
                        if (_earlyExits.Contains(peer))
                        {
                            continue; // its exit came before our created (already counted as such)
                        }

                        if (_early.Contains(peer) || !Known.Add(peer))
                        {
                            Interlocked.Increment(ref anomalies.JoinedForKnownPeer);
                        }
                    }

                    _earlyExits.Clear();

                    foreach (var peer in _early)
                    {
                        Known.Add(peer);
                    }

                    _early.Clear();
                    break;
                case HubTarget.Joined:
                    if (m.Id is null)
                    {
                        break;
                    }

                    if (m.Id == SelfId)
                    {
                        Interlocked.Increment(ref anomalies.EventAboutSelf);
                    }
                    else if (!Created)
                    {
                        Interlocked.Increment(ref anomalies.EventBeforeCreated);
                        _early.Add(m.Id);
                    }
                    else if (!Known.Add(m.Id))
                    {
                        Interlocked.Increment(ref anomalies.JoinedForKnownPeer);
                    }

                    break;
                case HubTarget.Exit:
                    if (m.From is null)
                    {
                        break;
                    }

                    if (m.From == SelfId)
                    {
                        Interlocked.Increment(ref anomalies.EventAboutSelf);
                    }
                    else if (!Created)
                    {
                        Interlocked.Increment(ref anomalies.EventBeforeCreated);
                        if (!_early.Remove(m.From))
                        {
                            _earlyExits.Add(m.From); // may be one of the peers our created will list
                        }
                    }
                    else if (!Known.Remove(m.From))
                    {
                        Interlocked.Increment(ref anomalies.ExitForUnknownPeer);
                    }

                    break;
            }

            return Known.Count;
        }
    }
}
