namespace Engagement.Sdk.Storage;

/// <summary>
/// Units of work for the in-memory stores (the default): while a unit is open on an asynchronous flow, every write the
/// in-memory stores make on that flow (an event or consent record appended, a suppression added, a profile saved, a dispatch
/// begun or moved on) records how to undo itself, and a unit disposed without being completed undoes its writes, newest
/// first. A nested unit undoes only its own writes; completed, it hands them to the unit around it, as a savepoint does.
/// </summary>
/// <remarks>
/// An undo puts back what was there only if nothing was written over the write since (an event or record still stored as
/// written, a profile still at the version saved): the engine holds the customer's lock until the event's unit has ended, so
/// that is so for a tracked event. Erasures and retention purges are not undone. Units take no locks and
/// <see cref="FlushAsync"/> only makes the writes so far final (memory is as durable as it gets).
/// </remarks>
public sealed class InMemoryTransactions : IStoreTransactions
{
    private static readonly AsyncLocal<InMemoryUnitOfWork?> CurrentUnit = new();

    // One ended unit per thread, reused by the next event's unit instead of a new object (see BeginReusable).
    [ThreadStatic]
    private static InMemoryUnitOfWork? t_spare;

    private InMemoryTransactions()
    {
    }

    /// <summary>The instance (the units of a flow are the flow's, whichever instance began them).</summary>
    public static InMemoryTransactions Instance { get; } = new();

    /// <summary>The innermost open unit on the current flow, if any.</summary>
    internal static InMemoryUnitOfWork? Current => CurrentUnit.Value;

    /// <inheritdoc />
    public IUnitOfWork Begin()
    {
        var unit = new InMemoryUnitOfWork(CurrentUnit.Value);
        CurrentUnit.Value = unit;
        return unit;
    }

    /// <summary>
    /// As <see cref="Begin"/>, taking a unit the current thread ended before if there is one, for a caller that disposes the
    /// unit once and then hands it to <see cref="Recycle"/> (the engine, for the unit of each tracked event).
    /// </summary>
    internal static InMemoryUnitOfWork BeginReusable()
    {
        var parent = CurrentUnit.Value;
        var unit = t_spare;
        if (unit is null)
        {
            unit = new InMemoryUnitOfWork(parent);
        }
        else
        {
            t_spare = null;
            unit.Reopen(parent);
        }

        CurrentUnit.Value = unit;
        return unit;
    }

    /// <summary>Keeps an ended unit of <see cref="BeginReusable"/> for the thread's next one (nothing else may use it after).</summary>
    internal static void Recycle(IUnitOfWork unit)
    {
        if (unit is InMemoryUnitOfWork { IsEnded: true } ended)
        {
            t_spare = ended;
        }
    }

    /// <inheritdoc />
    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        for (var unit = CurrentUnit.Value; unit is not null; unit = unit.Parent)
        {
            unit.Forget();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Records how to undo a write, when a unit is open on the current flow.</summary>
    internal static void Record(IUndoable store, object key, object? previous, object written)
    {
        if (CurrentUnit.Value is { } unit)
        {
            unit.Add(new UndoEntry(store, key, previous, written));
        }
    }

    /// <summary>Ends <paramref name="unit"/> on the current flow: its enclosing unit becomes the current one again.</summary>
    internal static void End(InMemoryUnitOfWork unit)
    {
        if (ReferenceEquals(CurrentUnit.Value, unit))
        {
            CurrentUnit.Value = unit.Parent;
        }
    }
}

/// <summary>An in-memory store whose writes can be undone.</summary>
internal interface IUndoable
{
    /// <summary>Undoes one write: <paramref name="written"/> under <paramref name="key"/> goes back to <paramref name="previous"/> (none: removed), if it is still there.</summary>
    void Undo(object key, object? previous, object written);
}

/// <summary>How to undo one write.</summary>
internal readonly record struct UndoEntry(IUndoable Store, object Key, object? Previous, object Written);

/// <summary>A unit of work of <see cref="InMemoryTransactions"/>.</summary>
internal sealed class InMemoryUnitOfWork(InMemoryUnitOfWork? parent) : IUnitOfWork
{
    // Most events write twice (the event, the profile): the first two entries need no list.
    private UndoEntry _first;
    private UndoEntry _second;
    private List<UndoEntry>? _more;
    private int _count;
    private bool _ended;

    public InMemoryUnitOfWork? Parent { get; private set; } = parent;

    public bool IsEnded => _ended;

    /// <summary>Opens an ended unit again, empty, inside <paramref name="parent"/> (<see cref="InMemoryTransactions.BeginReusable"/>).</summary>
    public void Reopen(InMemoryUnitOfWork? parent)
    {
        Parent = parent;
        _ended = false;
    }

    public void Add(UndoEntry entry)
    {
        switch (_count)
        {
            case 0:
                _first = entry;
                break;
            case 1:
                _second = entry;
                break;
            default:
                (_more ??= []).Add(entry);
                break;
        }

        _count++;
    }

    public void Forget()
    {
        _first = _second = default;
        _more?.Clear(); // kept (empty) for a reused unit's next writes
        _count = 0;
    }

    public ValueTask StartAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask LockAsync(string key, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask LockCustomerAsync(CustomerId customerId, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask CompleteAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_ended)
        {
            _ended = true;
            if (Parent is { } parent)
            {
                for (var i = 0; i < _count; i++)
                {
                    parent.Add(At(i));
                }
            }

            Forget();
            InMemoryTransactions.End(this);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (!_ended)
        {
            _ended = true;
            for (var i = _count - 1; i >= 0; i--)
            {
                var entry = At(i);
                entry.Store.Undo(entry.Key, entry.Previous, entry.Written);
            }

            Forget();
            InMemoryTransactions.End(this);
        }

        return ValueTask.CompletedTask;
    }

    private UndoEntry At(int index) => index switch
    {
        0 => _first,
        1 => _second,
        _ => _more![index - 2],
    };
}
