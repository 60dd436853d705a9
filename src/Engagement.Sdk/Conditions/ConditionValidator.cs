using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Conditions;

/// <summary>
/// Checks a condition against a <see cref="ConditionSchema"/>: every trait, event type, channel, purpose, journey and stage it
/// names is known, every operand has the type its test needs, and every window and threshold is in range. The first problem
/// is thrown as an <see cref="EngagementValidationException"/> whose field is the JSON path of the offending value.
/// </summary>
public static class ConditionValidator
{
    /// <summary>The largest count a windowed condition may compare with.</summary>
    public const int MaxCount = 1_000_000;

    /// <summary>The most operands an <c>in</c> test may list, and the most conditions an <c>all</c> or <c>any</c> may hold.</summary>
    public const int MaxItems = 256;

    /// <summary>Validates <paramref name="condition"/>.</summary>
    /// <param name="condition">The condition.</param>
    /// <param name="schema">What it may name.</param>
    /// <param name="path">Its JSON path.</param>
    /// <exception cref="EngagementValidationException">It breaks a rule.</exception>
    public static void Validate(Condition condition, ConditionSchema schema, string path = "$")
    {
        ArgumentNullException.ThrowIfNull(schema);
        Validate(condition, schema, path, 0);
    }

    private static void Validate(Condition? condition, ConditionSchema schema, string path, int depth)
    {
        if (condition is null)
        {
            throw new EngagementValidationException(path, null, "a condition is required");
        }

        if (depth > 32)
        {
            throw new EngagementValidationException(path, null, "conditions may nest at most 32 deep");
        }

        switch (condition)
        {
            case ConstantCondition:
                return;
            case AllCondition all:
                ValidateList(all.Conditions, schema, path + ".all", depth);
                return;
            case AnyCondition any:
                ValidateList(any.Conditions, schema, path + ".any", depth);
                return;
            case NotCondition not:
                Validate(not.Inner, schema, path + ".not", depth + 1);
                return;
            case TraitCondition trait:
                ValidateTrait(trait, schema, path);
                return;
            case AggregateCondition aggregate:
                if (!Enum.IsDefined(aggregate.Field))
                {
                    throw new EngagementValidationException(path + ".aggregate", aggregate.Field, "is not an aggregate");
                }

                RequireOperator(aggregate.Operator, path);
                if (Math.Abs(aggregate.Value) > Money.MaxAmount)
                {
                    throw new EngagementValidationException(path + "." + Op(aggregate.Operator), aggregate.Value, "is beyond any amount or count a profile can hold");
                }

                return;
            case IdentifierCondition identifier:
                if (identifier.Kinds.IsDefaultOrEmpty)
                {
                    throw new EngagementValidationException(path + ".identifier", null, "name at least one identifier kind");
                }

                for (var i = 0; i < identifier.Kinds.Length; i++)
                {
                    Names.Require($"{path}.identifier[{i}]", identifier.Kinds[i].Name);
                }

                return;
            case ConsentCondition consent:
                if (consent.Channel.IsEmpty || !schema.IsKnownChannel(consent.Channel))
                {
                    throw new EngagementValidationException(path + ".consent", consent.Channel.Name, "is not a well-known channel nor a custom one registered in EngagementOptions.CustomChannels");
                }

                if (consent.Purpose.IsEmpty || !schema.IsKnownPurpose(consent.Purpose))
                {
                    throw new EngagementValidationException(path + ".purpose", consent.Purpose.Name, "is not a well-known purpose nor a custom one registered in EngagementOptions.CustomPurposes");
                }

                return;
            case StageCondition stage:
                ValidateStage(stage, schema, path);
                return;
            case EventCondition windowed:
                ValidateEvent(windowed, schema, path);
                return;
            default:
                throw new EngagementValidationException(path, condition.GetType().Name, "is not a condition of the language");
        }
    }

    private static void ValidateList(System.Collections.Immutable.ImmutableArray<Condition> conditions, ConditionSchema schema, string path, int depth)
    {
        if (conditions.IsDefault)
        {
            throw new EngagementValidationException(path, null, "the list of conditions is required");
        }

        if (conditions.Length > MaxItems)
        {
            throw new EngagementValidationException(path, conditions.Length, $"may hold at most {MaxItems} conditions");
        }

        for (var i = 0; i < conditions.Length; i++)
        {
            Validate(conditions[i], schema, $"{path}[{i}]", depth + 1);
        }
    }

    private static void ValidateTrait(TraitCondition trait, ConditionSchema schema, string path)
    {
        if (string.IsNullOrEmpty(trait.Name) || !schema.Traits.TryGetValue(trait.Name, out var kind))
        {
            throw new EngagementValidationException(path + ".trait", trait.Name, "is not a declared trait; declare it with its type in the definition's 'traits' (or EngagementOptions.Traits)");
        }

        var opPath = path + "." + trait.Operator.ToString().ToLowerInvariant();
        if (!Enum.IsDefined(trait.Operator))
        {
            throw new EngagementValidationException(path, trait.Operator, "is not a trait test");
        }

        var operands = trait.Operands.IsDefault ? [] : trait.Operands;
        if (trait.Operator == TraitOperator.In)
        {
            if (operands.IsEmpty || operands.Length > MaxItems)
            {
                throw new EngagementValidationException(opPath, operands.Length, $"'in' needs 1 to {MaxItems} values");
            }
        }
        else if (operands.Length != 1)
        {
            throw new EngagementValidationException(opPath, operands.Length, "the test takes exactly one value");
        }

        var allowed = trait.Operator switch
        {
            TraitOperator.Exists => true,
            TraitOperator.Eq or TraitOperator.Ne => kind != TraitKind.List,
            TraitOperator.Gt or TraitOperator.Ge or TraitOperator.Lt or TraitOperator.Le => kind is TraitKind.Number or TraitKind.Date,
            TraitOperator.In => kind is TraitKind.String or TraitKind.Number,
            TraitOperator.Contains => kind == TraitKind.List,
            _ => false,
        };
        if (!allowed)
        {
            throw new EngagementValidationException(opPath, trait.Name, $"'{trait.Operator.ToString().ToLowerInvariant()}' cannot test a {kind.ToString().ToLowerInvariant()} trait");
        }

        var expected = trait.Operator switch
        {
            TraitOperator.Exists => TraitKind.Boolean,
            TraitOperator.Contains => TraitKind.String,
            _ => kind,
        };
        for (var i = 0; i < operands.Length; i++)
        {
            if (operands[i].Kind != expected)
            {
                throw new EngagementValidationException(trait.Operator == TraitOperator.In ? $"{opPath}[{i}]" : opPath, operands[i].ToString(), $"must be a {expected.ToString().ToLowerInvariant()} (the trait '{trait.Name}' is declared {kind.ToString().ToLowerInvariant()})");
            }
        }
    }

    private static void ValidateStage(StageCondition stage, ConditionSchema schema, string path)
    {
        var journey = stage.JourneyId ?? schema.CurrentJourney;
        if (journey is null)
        {
            throw new EngagementValidationException(path + ".journey", null, "name the journey whose stage is tested");
        }

        if (!schema.Journeys.TryGetValue(journey, out var stages))
        {
            if (schema.DeferOtherJourneys && journey != schema.CurrentJourney)
            {
                Names.Require(path + ".journey", journey);
                return;
            }

            throw new EngagementValidationException(path + ".journey", journey, "is not a registered journey");
        }

        var named = stage.Stages.IsDefault ? [] : stage.Stages;
        for (var i = 0; i < named.Length; i++)
        {
            if (!stages.Contains(named[i], StringComparer.Ordinal))
            {
                throw new EngagementValidationException($"{path}.stage[{i}]", named[i], $"is not a stage of the journey '{journey}' ({string.Join(", ", stages)})");
            }
        }
    }

    private static void ValidateEvent(EventCondition windowed, ConditionSchema schema, string path)
    {
        if (string.IsNullOrEmpty(windowed.EventType) || !schema.IsKnownEvent(windowed.EventType))
        {
            throw new EngagementValidationException(path + ".event", windowed.EventType, "is not a known event type: use a built-in type (" + string.Join(", ", ConditionSchema.BuiltInEvents) + ") or declare the custom event in 'customEvents'");
        }

        IsoDuration.Require(path + ".within", windowed.Within);
        RequireOperator(windowed.Operator, path);
        var valuePath = path + (windowed.Measure == EventMeasure.Count ? ".count." : ".sum.") + Op(windowed.Operator);
        if (windowed.Measure == EventMeasure.Count)
        {
            if (windowed.Value < 0 || windowed.Value > MaxCount || windowed.Value != decimal.Truncate(windowed.Value))
            {
                throw new EngagementValidationException(valuePath, windowed.Value, $"a count must be a whole number from 0 to {MaxCount:N0}");
            }
        }
        else if (windowed.Measure == EventMeasure.Sum)
        {
            if (!ConditionSchema.CarriesAmount(windowed.EventType))
            {
                throw new EngagementValidationException(path + ".sum", windowed.EventType, "only events with an amount can be summed: purchased, refunded, added_to_cart, checkout_started");
            }

            if (windowed.Value < 0 || windowed.Value > Money.MaxAmount)
            {
                throw new EngagementValidationException(valuePath, windowed.Value, "a sum must be from 0 to the largest amount the SDK holds");
            }
        }
        else
        {
            throw new EngagementValidationException(path, windowed.Measure, "measure count or sum");
        }
    }

    private static void RequireOperator(ComparisonOperator op, string path)
    {
        if (!Enum.IsDefined(op))
        {
            throw new EngagementValidationException(path, op, "is not a comparison (eq, ne, gt, ge, lt, le)");
        }
    }

    private static string Op(ComparisonOperator op) => op.ToString().ToLowerInvariant();
}
