// Opens and closes the localized reconnection dialog as Blazor reports the connection's state.
const dialog = document.getElementById("components-reconnect-modal");

dialog.addEventListener("components-reconnect-state-changed", event => {
    switch (event.detail.state) {
        case "show": case "retrying": case "paused": case "resume-failed": if (!dialog.open) dialog.showModal(); break;
        case "hide": dialog.close(); break;
        // Gave up: try again as soon as the user comes back to the tab, or on the Retry button.
        case "failed": document.addEventListener("visibilitychange", retryWhenVisible); break;
        // The server no longer knows this session: only a fresh page can continue.
        case "rejected": location.reload(); break;
    }
});
document.getElementById("components-reconnect-button").addEventListener("click", retry);
document.getElementById("components-resume-button").addEventListener("click", resume);

async function retry() {
    document.removeEventListener("visibilitychange", retryWhenVisible);
    try {
        // true: connected again; false: the server was reached but has dropped the session, so resume it or reload.
        if (!await Blazor.reconnect() && !await Blazor.resumeCircuit()) location.reload();
    } catch {
        document.addEventListener("visibilitychange", retryWhenVisible);
    }
}

async function resume() {
    try {
        if (!await Blazor.resumeCircuit()) location.reload();
    } catch {
        dialog.classList.replace("components-reconnect-paused", "components-reconnect-resume-failed");
    }
}

function retryWhenVisible() {
    if (document.visibilityState === "visible") retry();
}
