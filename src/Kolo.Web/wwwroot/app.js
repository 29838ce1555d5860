// Small helpers the Blazor screens call through IJSRuntime.
window.kolo = {
    copy: text => navigator.clipboard ? navigator.clipboard.writeText(text) : Promise.resolve(),
};
