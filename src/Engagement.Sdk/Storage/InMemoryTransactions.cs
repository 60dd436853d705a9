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
    // The flow's innermost unit: the unit itself, or (for an event's reusable unit) the slot that holds it.
    private static readonly AsyncLocal<object?> CurrentUnit = new();

    // One ended unit per thread, reused by the next event's unit instead of a new object (see BeginReusable).
    [ThreadStatic]
    private static InMemoryUnitOfWork? t_spare;

    // The thread's slot for events' reusable units, with the execution context that carries it (see BeginReusable).
    [ThreadStatic]
    private static ReusableFlow? t_flow;

    private InMemoryTransactions()
    {
    }

    /// <summary>The instance (the units of a flow are the flow's, whichever instance began them).</summary>
    public static InMemoryTransactions Instance { get; } = new();

    /// <summary>The innermost open unit on the current flow, if any.</summary>
    internal static InMemoryUnitOfWork? Current => CurrentUnit.Value switch
    {
        InMemoryUnitOfWork unit => unit,
        UnitSlot slot => slot.Unit,
        _ => null,
    };

    /// <inheritdoc />
    public IUnitOfWork Begin()
    {
        var unit = new InMemoryUnitOfWork(Current);
        CurrentUnit.Value = unit;
        return unit;
    }

    /// <summary>
    /// As <see cref="Begin"/>, taking a unit the current thread ended before if there is one, for a caller that disposes the
    /// unit once and then hands it to <see cref="Recycle"/> (the engine, for the unit of each tracked event). Call it from an
    /// asynchronous method: the flow's execution context is changed until that method returns.
    /// </summary>
    /// <remarks>
    /// Setting an <see cref="AsyncLocal{T}"/> makes a new execution context (two objects) every time. Here the flow carries the
    /// thread's slot instead, which holds the unit: when the caller's context is the one the thread saw last, the context with
    /// the slot made then is put back without a new one. A slot is used by one event at a time; while an event that went
    /// asynchronous still holds its thread's slot, the thread's next events carry their units as before.
    /// </remarks>
    internal static InMemoryUnitOfWork BeginReusable()
    {
        var parent = Current;
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

        var caller = ExecutionContext.Capture();
        var flow = t_flow ??= new ReusableFlow();
        if (caller is null || flow.Slot.InUse)
        {
            // The flow does not flow its context, or the slot is another event's: the unit is carried as itself.
            CurrentUnit.Value = unit;
            return unit;
        }

        var slot = flow.Slot;
        slot.InUse = true;
        slot.Unit = unit;
        unit.Slot = slot;
        if (ReferenceEquals(flow.Caller, caller) && flow.WithSlot is { } withSlot)
        {
            ExecutionContext.Restore(withSlot);
        }
        else
        {
            CurrentUnit.Value = slot;
            flow.Caller = caller;
            flow.WithSlot = ExecutionContext.Capture();
        }

        return unit;
    }

    /// <summary>
    /// Keeps an ended unit of <see cref="BeginReusable"/> for the thread's next one (nothing else may use it after), and gives
    /// back the slot that carried it.
    /// </summary>
    internal static void Recycle(IUnitOfWork unit)
    {
        if (unit is InMemoryUnitOfWork { IsEnded: true } ended)
        {
            if (ended.Slot is { } slot)
            {
                ended.Slot = null;
                slot.Unit = null;
                slot.InUse = false;
            }

            t_spare = ended;
        }
    }

    /// <inheritdoc />
    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        for (var unit = Current; unit is not null; unit = unit.Parent)
        {
            unit.Forget();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Records how to undo a write, when a unit is open on the current flow.</summary>
    internal static void Record(IUndoable store, object key, object? previous, object written)
    {
        if (Current is { } unit)
        {
            unit.Add(new UndoEntry(store, key, previous, written));
        }
    }

    /// <summary>Ends <paramref name="unit"/> on the current flow: its enclosing unit becomes the current one again.</summary>
    internal static void End(InMemoryUnitOfWork unit)
    {
        if (unit.Slot is { } slot && ReferenceEquals(slot.Unit, unit))
        {
            slot.Unit = unit.Parent;
        }

        if (ReferenceEquals(CurrentUnit.Value, unit))
        {
            CurrentUnit.Value = unit.Parent;
        }
    }

    // What a flow carries for an event's reusable unit: the unit while it is open (its parent, or nothing, after it ended).
    private sealed class ReusableFlow
    {
        public UnitSlot Slot { get; } = new();

        // The caller's execution context the thread saw last, and the one made from it with the slot.
        public ExecutionContext? Caller { get; set; }

        public ExecutionContext? WithSlot { get; set; }
    }
}

/// <summary>The holder of an event's reusable unit that a flow carries (see <see cref="InMemoryTransactions.BeginReusable"/>).</summary>
internal sealed class UnitSlot
{
    private volatile bool _inUse;

    /// <summary>The unit open on the flows that carry the slot.</summary>
    public InMemoryUnitOfWork? Unit { get; set; }

    /// <summary>Whether an event holds the slot (given back by the thread the event ends on, which may be another).</summary>
    public bool InUse { get => _inUse; set => _inUse = value; }
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

    /// <summary>The slot that carries the unit, for a reusable unit carried by one.</summary>
    public UnitSlot? Slot { get; set; }

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
