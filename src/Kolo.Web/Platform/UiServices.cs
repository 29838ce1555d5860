namespace Kolo.Web.Platform;

public static class UiServices
{
    /// <summary>Services the Blazor screens need beyond the API's.</summary>
    public static IServiceCollection AddKoloUi(this IServiceCollection services) => services;
}
