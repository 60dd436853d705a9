using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Consent;

/// <summary>
/// Validates <see cref="ContactPolicyOptions"/> at start-up: a cap of 0 or less, a window outside 1 minute to 366 days (one
/// tick and <see cref="TimeSpan.MaxValue"/> included) or an inverted quiet-hours range fails, naming the option, its value and the rule.
/// </summary>
public sealed class ContactPolicyOptionsValidator : IValidateOptions<ContactPolicyOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ContactPolicyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        for (var i = 0; i < options.Caps.Count; i++)
        {
            var cap = options.Caps[i];
            if (cap is null)
            {
                failures.Add($"Caps[{i}] is null.");
                continue;
            }

            if (cap.Limit < 1)
            {
                failures.Add($"Caps[{i}].Limit is {cap.Limit}: a cap must allow at least 1 message (remove the channel's consent or the action instead).");
            }

            // Checked for calendar periods too (where it is ignored), so that an absurd value never waits to matter.
            OptionRange.Check(failures, $"Caps[{i}].Window", cap.Window, OptionRange.CapWindow);

            if (cap.Purpose.IsEmpty)
            {
                failures.Add($"Caps[{i}].Purpose is empty.");
            }
        }

        for (var i = 0; i < options.QuietHours.Count; i++)
        {
            var quiet = options.QuietHours[i];
            if (quiet is null)
            {
                failures.Add($"QuietHours[{i}] is null.");
                continue;
            }

            if (quiet.End <= quiet.Start)
            {
                failures.Add($"QuietHours[{i}] allows sending from {quiet.Start:HH\\:mm} to {quiet.End:HH\\:mm}: the end must be later than the start.");
            }

            if (quiet.Channel.IsEmpty || quiet.Purpose.IsEmpty)
            {
                failures.Add($"QuietHours[{i}] needs a channel and a purpose.");
            }
        }

        if (options.MaxHeldPerCustomer < 1)
        {
            failures.Add($"MaxHeldPerCustomer is {options.MaxHeldPerCustomer}: at least 1 (actions that should not be held leave HoldFor unset).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
