using Kolo.Core.Platform;
using Kolo.Web.Platform;
using Kolo.Web.Resources;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.Localization;
using MudBlazor;

namespace Kolo.Web.Components;

/// <summary>What every screen needs: the signed-in actor, translations, dialogs, notifications and error texts.</summary>
public abstract class KoloComponent : ComponentBase
{
    [CascadingParameter] private Task<AuthenticationState>? AuthState { get; set; }
    [Inject] protected IStringLocalizer<SharedResource> L { get; set; } = default!;
    [Inject] protected ISnackbar Snackbar { get; set; } = default!;
    [Inject] protected IDialogService Dialogs { get; set; } = default!;
    [Inject] protected NavigationManager Nav { get; set; } = default!;
    [Inject] protected UserClock Clock { get; set; } = default!;
    [Inject] private IServiceScopeFactory ScopeFactory { get; set; } = default!;
    [Inject] private ILogger<KoloComponent> Log { get; set; } = default!;

    /// <summary>UserAdministration is scoped over one KoloDb: a fresh scope per operation keeps the context short-lived.</summary>
    protected async Task<TResult> WithUsersAsync<TResult>(Func<UserAdministration, Task<TResult>> action)
    {
        await using var scope = ScopeFactory.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<UserAdministration>());
    }

    protected async Task<Actor> ActorAsync()
    {
        var state = await (AuthState ?? throw new InvalidOperationException("No authentication state."));
        return state.User.ToActor();
    }

    /// <summary>A translated enum value (key <c>Enum_Type_Value</c>).</summary>
    protected string T<TEnum>(TEnum value) where TEnum : struct, Enum => L[$"Enum_{typeof(TEnum).Name}_{value}"];

    protected string T<TEnum>(TEnum? value) where TEnum : struct, Enum => value is { } v ? T(v) : "—";

    /// <summary>A duplicate candidate's reason (English from the service, as the API gives it) in the UI's language.</summary>
    protected string DuplicateReasonText(string reason) =>
        reason.StartsWith("Same e-mail", StringComparison.Ordinal) ? L["ReasonSameEmail"] + reason[reason.IndexOf(':')..]
        : reason.StartsWith("Same phone", StringComparison.Ordinal) ? L["ReasonSamePhone"] + reason[reason.IndexOf(':')..]
        : reason == "Similar name and same birth date" ? L["ReasonNameBirthDate"]
        : reason == "Similar name and same city" ? L["ReasonNameCity"]
        : reason;

    /// <summary>A yes/no confirmation with translated buttons.</summary>
    protected async Task<bool> ConfirmAsync(string title, string message, string yes)
    {
        var result = await Dialogs.ShowMessageBoxAsync(title, message, yesText: yes, cancelText: L["Cancel"]);
        return result == true;
    }

    /// <summary>Asks before a navigation throws away what the user typed into a form that is not saved.</summary>
    protected async Task ConfirmDiscardAsync(Microsoft.AspNetCore.Components.Routing.LocationChangingContext context, bool unsaved)
    {
        if (unsaved && !await ConfirmAsync(L["UnsavedTitle"], L["UnsavedConfirm"], L["Discard"])) context.PreventNavigation();
    }

    /// <summary>A message of the domain (English, as the API gives it) in the UI's language.</summary>
    protected string ServerText(string message) => UiErrors.Translate(L, message);

    /// <summary>The field errors of a refused change, by field, in the UI's language.</summary>
    protected Dictionary<string, string> FieldErrors(ValidationFailedException e) => UiErrors.FieldErrors(L, e);

    /// <summary>
    /// The message to show for a failed operation. Anything that is not a domain error (a database outage, a unique
    /// index hit by a concurrent write) is logged and shown as a generic message: an exception escaping an event
    /// handler would end the user's circuit. Null only for a cancellation, which callers treat as "superseded".
    /// </summary>
    protected string? ErrorText(Exception e)
    {
        switch (e)
        {
            case ForbiddenException f: return $"{L["Forbidden"]} ({ServerText(f.Message)})";
            case NotFoundException: return L["NotFound"];
            case PreconditionFailedException: return L["Conflict"];
            case ValidationFailedException v: return string.Join(" ", v.Errors.SelectMany(kv => kv.Value).Select(ServerText));
            case OperationCanceledException: return null;
            default:
                Log.LogError(e, "Unhandled error in {Component}", GetType().Name);
                return L["UnexpectedError"];
        }
    }

    /// <summary>Runs an operation and shows its error as a notification instead of breaking the circuit.</summary>
    protected async Task<bool> TryAsync(Func<Task> action)
    {
        try
        {
            await action();
            return true;
        }
        catch (Exception e) when (ErrorText(e) is { } text)
        {
            Snackbar.Add(text, Severity.Error);
            return false;
        }
    }
}
