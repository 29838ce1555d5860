namespace Kolo.Web.Resources;

/// <summary>Marker for the UI's one resource set (SharedResource.resx, .uk.resx, .ru.resx in this folder).</summary>
public sealed class SharedResource;
