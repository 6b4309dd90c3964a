// Builds DOM nodes from data. Text only ever goes in through textContent, never parsed as HTML.
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of [].concat(children)) if (child) node.append(child);
  return node;
}

export const byId = (id) => document.getElementById(id);

// A scrolling list keeps its last item in view when it gets shorter (something appearing above it, a rotated
// phone, a resized window), unless the reader had scrolled up. Measured against the height it had before
// the change: a scroll event after it would already see the list shorter.
export function keepLastInView(list) {
  let height = list.clientHeight;
  if (window.ResizeObserver) new ResizeObserver(() => {
    const wasAtBottom = list.scrollHeight - list.scrollTop - height < 32;
    height = list.clientHeight;
    if (wasAtBottom) list.scrollTop = list.scrollHeight;
  }).observe(list);
}
