namespace RoomSignal.Client;

/// <summary>The SignalR hub protocol a <see cref="RoomSignalClient"/> speaks; the server offers both.</summary>
public enum RoomSignalProtocol
{
    /// <summary>JSON text frames (SignalR's default): readable in a proxy log, what every client speaks.</summary>
    Json,

    /// <summary>
    /// MessagePack binary frames: a little smaller (an offer 4%, a candidate 17%), at the same server cost per message
    /// as JSON. Server-Sent Events cannot carry binary frames, so with MessagePack the client uses WebSockets or long
    /// polling.
    /// </summary>
    MessagePack,
}
