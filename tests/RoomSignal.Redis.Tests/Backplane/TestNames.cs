namespace RoomSignal.Redis.Tests.Backplane;

/// <summary>Names unique to one test (groups, users, messages), so tests sharing a Redis never see each other's.</summary>
internal static class TestNames
{
    public static string Unique(string what) => $"{what}-{Guid.NewGuid().ToString("N")[..8]}";
}
