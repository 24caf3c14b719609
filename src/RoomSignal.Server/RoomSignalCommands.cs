using RoomSignal.Server.Auth;

namespace RoomSignal.Server;

/// <summary>The server's command-line tools: <c>RoomSignal.Server token ...</c> instead of starting the server.</summary>
public static class RoomSignalCommands
{
    /// <summary>Runs the command <paramref name="args"/> names and returns its exit code, or null when they name none (start the server).</summary>
    public static int? TryRun(string[] args)
        => args is [TokenCommand.Name, ..] ? TokenCommand.Run(args, Console.Out, Console.Error) : null;
}
