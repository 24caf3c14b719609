using Microsoft.Extensions.Options;

namespace RoomSignal.Server.Rooms.Redis;

/// <summary>
/// How the nodes of a cluster watch one another, bound from <c>RoomSignal:Cluster</c>. Only used when
/// <c>RoomSignal:Redis:Configuration</c> is set.
/// </summary>
/// <remarks>
/// A node that dies without saying goodbye (a crash, <c>kill -9</c>, a lost VM) is noticed when its heartbeat
/// key expires, at most <see cref="HeartbeatTtl"/> after its last renewal; the next sweep, at most
/// <see cref="SweepInterval"/> later, removes its members and sends <c>exit</c> to the peers that remain.
/// With the defaults (10 s + 2 s) the peers hear of the loss within 12 s, inside the 15 s the service promises.
/// </remarks>
public sealed class RoomClusterOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "RoomSignal:Cluster";

    /// <summary>
    /// How long a node's heartbeat key lives (<c>RoomSignal:Cluster:HeartbeatTtl</c>, e.g. <c>00:00:10</c>).
    /// The node renews it every third of this. Shorter notices crashes sooner but lets a long pause (GC, a
    /// stalled VM) look like a crash. Default 10 s; 1 s to 5 min.
    /// </summary>
    public TimeSpan HeartbeatTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often a node tries to take the sweep lock and remove the members of dead nodes
    /// (<c>RoomSignal:Cluster:SweepInterval</c>). Default 2 s; at least 100 ms and less than <see cref="HeartbeatTtl"/>.
    /// </summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the heartbeat is renewed: a third of <see cref="HeartbeatTtl"/>.</summary>
    internal TimeSpan HeartbeatInterval => HeartbeatTtl / 3;

    /// <summary>Returns the first broken rule, or <see langword="null"/> when the options are usable.</summary>
    internal string? Validate()
    {
        if (HeartbeatTtl < TimeSpan.FromSeconds(1) || HeartbeatTtl > TimeSpan.FromMinutes(5))
        {
            return $"{SectionName}:HeartbeatTtl must be between 00:00:01 and 00:05:00";
        }

        if (SweepInterval < TimeSpan.FromMilliseconds(100) || SweepInterval >= HeartbeatTtl)
        {
            return $"{SectionName}:SweepInterval must be at least 00:00:00.1 and less than HeartbeatTtl";
        }

        return null;
    }
}

/// <summary>Names the broken rule of <see cref="RoomClusterOptions"/> at start.</summary>
internal sealed class RoomClusterOptionsValidator : IValidateOptions<RoomClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, RoomClusterOptions options)
        => options.Validate() is { } failure ? ValidateOptionsResult.Fail(failure) : ValidateOptionsResult.Success;
}
