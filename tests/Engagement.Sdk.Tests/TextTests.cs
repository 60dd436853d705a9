using FsCheck;
using FsCheck.Fluent;

namespace Engagement.Sdk.Tests;

public sealed class TextTests
{
    [Theory]
    [InlineData("e-2026-12-05_0001")]
    [InlineData("Ann O'Neil ~ {ok}")]
    [InlineData("Zoë, Мария, مريم, 客户")]
    [InlineData("e\u0301 and \U0001F600")]
    [InlineData("")]
    public void RequireCleanText_CleanText_ReturnsIt(string value)
        => Text.RequireCleanText("name", value).Should().BeSameAs(value);

    [Theory]
    [InlineData("nul\0here", "control characters")]
    [InlineData("tab\there", "control characters")]
    [InlineData("header\r\nBcc: x@example.com", "control characters")]
    [InlineData("line\nfeed", "control characters")]
    [InlineData("carriage\rreturn", "control characters")]
    [InlineData("bell\u0007", "control characters")]
    [InlineData("del\u007F", "control characters")]
    [InlineData("next line\u0085", "control characters")]
    [InlineData("lone high {high}", "lone surrogates")]
    [InlineData("{low} lone low", "lone surrogates")]
    [InlineData("swapped {low}{high} pair", "lone surrogates")]
    public void RequireCleanText_BadText_NamesFieldValueAndRule(string text, string rule)
    {
        // Lone surrogates do not survive test discovery's serialisation of the data, so they are put in here.
        var value = text.Replace("{high}", "\uD83D", StringComparison.Ordinal).Replace("{low}", "\uDE00", StringComparison.Ordinal);
        var act = () => Text.RequireCleanText("name", value);

        var error = act.Should().Throw<EngagementValidationException>().Which;
        error.Field.Should().Be("name");
        error.Value.Should().Be(value.Replace("x@example.com", "[email]", StringComparison.Ordinal), "an address in the value is not repeated");
        error.Message.Should().Contain(rule);
    }

    [Fact]
    public void RequireCleanText_AnyString_AgreesWithACharacterByCharacterReading()
    {
        // Strings drawn mostly from the characters the fast paths decide on: ASCII, controls, surrogates, other BMP text.
        var chars = Gen.OneOf(
            Gen.Choose(0x20, 0x7E), Gen.Choose(0x00, 0x1F), Gen.Choose(0x7F, 0x9F), Gen.Choose(0xD800, 0xDFFF), Gen.Choose(0xA0, 0xFFFF))
            .Select(c => (char)c);
        var strings = Gen.ListOf(chars).Select(list => new string([.. list])).ToArbitrary();

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(2_000), Prop.ForAll(strings, value =>
        {
            var clean = IsCleanByReference(value);
            var act = () => Text.RequireCleanText("name", value);
            if (clean)
            {
                act.Should().NotThrow();
            }
            else
            {
                act.Should().Throw<EngagementValidationException>();
            }

            Text.HasLoneSurrogate(value).Should().Be(HasLoneSurrogateByReference(value));
        }));
    }

    private static bool IsCleanByReference(string value)
        => !value.Any(char.IsControl) && !HasLoneSurrogateByReference(value);

    private static bool HasLoneSurrogateByReference(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsSurrogatePair(value, i))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return true;
            }
        }

        return false;
    }
}
