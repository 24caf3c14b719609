if (RoomSignal.Server.RoomSignalCommands.TryRun(args) is { } exitCode)
{
    return exitCode;
}

var builder = WebApplication.CreateBuilder(args);
builder.AddRoomSignal();

var app = builder.Build();
app.MapRoomSignal();
app.Run();
return 0;

/// <summary>The RoomSignal server entry point (public so tests can host it).</summary>
public partial class Program;
