using Kolo.Core.Tasks;
using MudBlazor;

namespace Kolo.Web.Tasks;

/// <summary>Opens the task dialogs; each returns the saved task, or null when the user cancelled.</summary>
public static class TaskDialogs
{
    private static readonly DialogOptions Options = new() { MaxWidth = MaxWidth.Medium, FullWidth = true, CloseOnEscapeKey = true };

    public static async Task<TaskView?> EditTaskAsync(this IDialogService dialogs, string title, TaskView? task, Guid? customerId = null, string? customerName = null,
        string? relatedType = null, Guid? relatedId = null)
    {
        var parameters = new DialogParameters<TaskEditDialog>
        {
            { d => d.Task, task }, { d => d.CustomerId, customerId }, { d => d.CustomerName, customerName },
            { d => d.RelatedType, relatedType }, { d => d.RelatedId, relatedId },
        };
        var dialog = await dialogs.ShowAsync<TaskEditDialog>(title, parameters, Options);
        return await dialog.Result is { Canceled: false, Data: TaskView saved } ? saved : null;
    }

    public static async Task<TaskView?> CompleteTaskAsync(this IDialogService dialogs, string title, TaskView task)
    {
        var parameters = new DialogParameters<CompleteTaskDialog> { { d => d.Task, task } };
        var dialog = await dialogs.ShowAsync<CompleteTaskDialog>(title, parameters, new DialogOptions { MaxWidth = MaxWidth.Small, FullWidth = true, CloseOnEscapeKey = true });
        return await dialog.Result is { Canceled: false, Data: TaskView done } ? done : null;
    }
}
