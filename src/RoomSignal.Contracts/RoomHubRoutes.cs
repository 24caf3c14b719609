namespace RoomSignal.Contracts;

/// <summary>Well-known names of the wire contract.</summary>
public static class RoomHubRoutes
{
    /// <summary>The path the hub is mapped at.</summary>
    public const string Path = "/hubs/room";
}

/// <summary>Server-to-client target names as the server sends them.</summary>
public static class RoomClientEvents
{
    /// <summary>Target of <see cref="IRoomClient.Created"/>.</summary>
    public const string Created = nameof(IRoomClient.Created);
    /// <summary>Target of <see cref="IRoomClient.Joined"/>.</summary>
    public const string Joined = nameof(IRoomClient.Joined);
    /// <summary>Target of <see cref="IRoomClient.Offer"/>.</summary>
    public const string Offer = nameof(IRoomClient.Offer);
    /// <summary>Target of <see cref="IRoomClient.Answer"/>.</summary>
    public const string Answer = nameof(IRoomClient.Answer);
    /// <summary>Target of <see cref="IRoomClient.Candidate"/>.</summary>
    public const string Candidate = nameof(IRoomClient.Candidate);
    /// <summary>Target of <see cref="IRoomClient.Exit"/>.</summary>
    public const string Exit = nameof(IRoomClient.Exit);
    /// <summary>Target of <see cref="IRoomClient.Removed"/>.</summary>
    public const string Removed = nameof(IRoomClient.Removed);
}
