using System.Globalization;

namespace RoomSignal.Server.Auth;

/// <summary>
/// <c>token --sub alice [--name Alice] [--rooms demo,lobby-*] [--ttl 1h]</c>: prints a development access token
/// signed with the configured <c>RoomSignal:Auth:SigningKey</c> (from appsettings, the environment or
/// <c>--RoomSignal:Auth:SigningKey=...</c>), with the configured issuer and audience.
/// </summary>
internal static class TokenCommand
{
    public const string Name = "token";

    private const string Usage = """
        usage: RoomSignal.Server token --sub USER [--name NAME] [--rooms ROOM[,ROOM...]] [--ttl 1h]
          --sub    the user id (sub claim), required
          --name   a display name (name claim)
          --rooms  rooms the token may join; an entry may end in * (prefix); * alone is every room. Default *
          --ttl    lifetime: 90s, 30m, 1h, 2d or hh:mm:ss. Default 1h
        The key is RoomSignal:Auth:SigningKey from appsettings.json, the environment (RoomSignal__Auth__SigningKey)
        or --RoomSignal:Auth:SigningKey=KEY; RoomSignal:Auth:Issuer and :Audience are added when configured.
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        string? sub = null, name = null;
        var rooms = new List<string>();
        var ttl = TimeSpan.FromHours(1);
        var rest = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
            try
            {
                switch (args[i])
                {
                    case "--sub": sub = Value(); break;
                    case "--name": name = Value(); break;
                    case "--rooms": rooms.AddRange(Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)); break;
                    case "--ttl": ttl = ParseDuration(Value()); break;
                    case "-h" or "--help": stdout.WriteLine(Usage); return 0;
                    default: rest.Add(args[i]); break;
                }
            }
            catch (FormatException ex)
            {
                stderr.WriteLine($"token: {ex.Message}");
                stderr.WriteLine(Usage);
                return 2;
            }
        }

        if (string.IsNullOrEmpty(sub))
        {
            stderr.WriteLine("token: --sub is required");
            stderr.WriteLine(Usage);
            return 2;
        }

        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(rest.ToArray())
            .Build();
        var auth = new AuthOptions();
        configuration.GetSection(AuthOptions.SectionName).Bind(auth);
        if (!auth.Enabled)
        {
            stderr.WriteLine("token: no signing key: set RoomSignal:Auth:SigningKey (e.g. RoomSignal__Auth__SigningKey in the environment) to the server's key");
            return 2;
        }

        if (new AuthOptionsValidator().Validate(null, auth) is { Failed: true } invalid)
        {
            stderr.WriteLine($"token: {invalid.FailureMessage}");
            return 2;
        }

        var now = DateTimeOffset.UtcNow;
        stdout.WriteLine(AccessTokens.Create(auth.SigningKey!, sub, name, rooms.Count == 0 ? ["*"] : rooms, now, now + ttl, auth.Issuer, auth.Audience));
        return 0;
    }

    /// <summary>Parses <c>90s</c>, <c>30m</c>, <c>1h</c>, <c>2d</c> or a <see cref="TimeSpan"/> (<c>01:00:00</c>); must be positive.</summary>
    internal static TimeSpan ParseDuration(string text)
    {
        TimeSpan value;
        if (text.Length > 1 && char.IsAsciiLetter(text[^1])
            && double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            value = text[^1] switch
            {
                's' => TimeSpan.FromSeconds(number),
                'm' => TimeSpan.FromMinutes(number),
                'h' => TimeSpan.FromHours(number),
                'd' => TimeSpan.FromDays(number),
                _ => throw new FormatException($"--ttl: unknown unit '{text[^1]}' (use s, m, h or d)"),
            };
        }
        else if (!TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value))
        {
            throw new FormatException($"--ttl: '{text}' is not a duration (90s, 30m, 1h, 2d or hh:mm:ss)");
        }

        return value > TimeSpan.Zero ? value : throw new FormatException("--ttl must be positive");
    }
}
