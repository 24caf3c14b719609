using System.ComponentModel.DataAnnotations;

namespace RoomSignal.Server;

/// <summary>Settings of this RoomSignal node, bound from the <c>RoomSignal</c> configuration section.</summary>
public sealed class RoomSignalOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "RoomSignal";

    /// <summary>
    /// This node's id in the cluster (<c>RoomSignal:NodeId</c>). Unset means a fresh id is generated at start,
    /// which is what a node normally wants: a restarted process is a new node.
    /// </summary>
    [RegularExpression("^[A-Za-z0-9_.:-]{1,64}$", ErrorMessage = "RoomSignal:NodeId must be 1-64 characters of A-Z a-z 0-9 _ . : -")]
    public string? NodeId { get; set; }
}

/// <summary>Room settings, bound from <c>RoomSignal:Rooms</c>.</summary>
public sealed class RoomOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "RoomSignal:Rooms";

    /// <summary>The most members a room may hold (<c>RoomSignal:Rooms:MaxPeers</c>); joining a full room fails. Default 16.</summary>
    [Range(1, 10_000, ErrorMessage = "RoomSignal:Rooms:MaxPeers must be between 1 and 10000")]
    public int MaxPeers { get; set; } = 16;
}
