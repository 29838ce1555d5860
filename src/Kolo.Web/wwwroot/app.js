// Small helpers the Blazor screens call through IJSRuntime.
window.kolo = {
    copy: text => navigator.clipboard ? navigator.clipboard.writeText(text) : Promise.resolve(),
};

// The pipeline board: Blazor moves the deal on drop; this gives the drag its data (Firefox starts no drag without
// it) and shows which column the deal would land in.
(() => {
    const clear = () => document.querySelectorAll('.kolo-dragging, .kolo-drop-target')
        .forEach(e => e.classList.remove('kolo-dragging', 'kolo-drop-target'));
    document.addEventListener('dragstart', e => {
        const card = e.target instanceof Element ? e.target.closest('[data-deal-id]') : null;
        if (!card || !e.dataTransfer) return;
        e.dataTransfer.effectAllowed = 'move';
        e.dataTransfer.setData('text/plain', card.getAttribute('data-deal-id'));
        card.classList.add('kolo-dragging');
    });
    document.addEventListener('dragover', e => {
        const column = e.target instanceof Element ? e.target.closest('[data-stage-id]') : null;
        document.querySelectorAll('.kolo-drop-target').forEach(c => { if (c !== column) c.classList.remove('kolo-drop-target'); });
        if (column && document.querySelector('.kolo-dragging')) column.classList.add('kolo-drop-target');
    });
    document.addEventListener('drop', clear);
    document.addEventListener('dragend', clear);
    // Where the board starts, for the CSS that ends its columns at the bottom of the window.
    let queued = false;
    const fit = () => {
        queued = false;
        document.querySelectorAll('.kolo-board').forEach(b => {
            const top = `${Math.round(b.getBoundingClientRect().top + window.scrollY)}px`;
            if (b.style.getPropertyValue('--kolo-board-top') !== top) b.style.setProperty('--kolo-board-top', top);
        });
    };
    const queue = () => { if (!queued) { queued = true; requestAnimationFrame(fit); } };
    new MutationObserver(queue).observe(document.documentElement, { childList: true, subtree: true });
    window.addEventListener('resize', queue);
})();
