using Microsoft.Extensions.Options;

namespace RoomSignal.Server.Admin;

/// <summary>
/// Settings of the admin API (<c>/admin/rooms</c>), bound from <c>RoomSignal:Admin</c>. The API is off (its routes
/// are not mapped) unless <see cref="Key"/> is set; then every request must carry <c>Authorization: Bearer &lt;key&gt;</c>.
/// </summary>
public sealed class AdminOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "RoomSignal:Admin";

    /// <summary>The fewest characters a key may have.</summary>
    public const int MinimumKeyLength = 16;

    /// <summary>The most characters a removal's <c>reason</c> may have.</summary>
    public const int MaxReasonLength = 200;

    /// <summary>The reason members are told when the request names none.</summary>
    public const string DefaultReason = "removed by an administrator";

    /// <summary>
    /// The shared secret an operator presents as <c>Authorization: Bearer &lt;key&gt;</c> (at least 16 characters;
    /// use a long random string, and the same on every node of a cluster). Unset (the default): the admin API is off.
    /// </summary>
    public string? Key { get; set; }

    /// <summary>
    /// How long a removal may take before the request fails with 504: the time the node holding the member has to
    /// remove it and answer (a member on this node is removed directly). Default 5 s; 100 ms to 60 s.
    /// </summary>
    public TimeSpan RemoveTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether the admin API is on (a key is configured).</summary>
    public bool Enabled => !string.IsNullOrEmpty(Key);
}

/// <summary>Checks <see cref="AdminOptions"/> at start, naming the key that is wrong (never the secret).</summary>
internal sealed class AdminOptionsValidator : IValidateOptions<AdminOptions>
{
    public ValidateOptionsResult Validate(string? name, AdminOptions options)
    {
        var errors = new List<string>();
        if (options.Key is { } key && key.Length < AdminOptions.MinimumKeyLength)
        {
            errors.Add($"{AdminOptions.SectionName}:Key must be at least {AdminOptions.MinimumKeyLength} characters (it is {key.Length}), or unset to turn the admin API off");
        }

        if (options.RemoveTimeout < TimeSpan.FromMilliseconds(100) || options.RemoveTimeout > TimeSpan.FromSeconds(60))
        {
            errors.Add($"{AdminOptions.SectionName}:RemoveTimeout must be between 00:00:00.1 and 00:01:00 (it is {options.RemoveTimeout})");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
