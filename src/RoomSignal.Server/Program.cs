var builder = WebApplication.CreateBuilder(args);
builder.AddRoomSignal();

var app = builder.Build();
app.MapRoomSignal();
app.Run();

/// <summary>The RoomSignal server entry point (public so tests can host it).</summary>
public partial class Program;
