namespace RoomSignal.Testing;

/// <summary>Names unique to one test (rooms, groups, users, messages), so tests sharing a server or a Redis never see each other's.</summary>
public static class TestNames
{
    /// <summary><paramref name="what"/> plus a random suffix, at most 64 characters (a valid room name for a valid <paramref name="what"/>).</summary>
    public static string Unique(string what) => $"{what}-{Guid.NewGuid():N}"[..Math.Min(64, what.Length + 9)];
}
