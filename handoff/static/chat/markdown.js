// FAQ answers are markdown. Render the small subset editors use (paragraphs, lists, **bold**) by
// building DOM nodes: text is never parsed as HTML, so nothing in a message can inject markup.

const ITEM = /^\s*(?:[-*]|\d+[.)、])\s+/;
const CJK_END = /[\u3000-\u9fff\uff00-\uffef]$/;
const CJK_START = /^[\u3000-\u9fff\uff00-\uffef]/;

function inline(parent, text) {
  text.split("**").forEach((part, i) => {
    if (!part) return;
    if (i % 2 === 1) { const b = document.createElement("strong"); b.textContent = part; parent.appendChild(b); }
    else parent.appendChild(document.createTextNode(part));
  });
}

export function renderMarkdown(text) {
  const lines = [];
  text.replace(/\r\n?/g, "\n").split("\n").forEach((line) => {
    const prev = lines.length ? lines[lines.length - 1] : "";
    if (/^\s{2,}\S/.test(line) && prev.trim()) lines[lines.length - 1] = prev + " " + line.trim();
    else lines.push(line);
  });
  const frag = document.createDocumentFragment();
  lines.join("\n").split(/\n\s*\n/).forEach((block) => {
    const rows = block.split("\n").filter((r) => r.trim());
    if (!rows.length) return;
    if (rows.every((r) => ITEM.test(r))) {
      const list = document.createElement(/^\s*\d/.test(rows[0]) ? "ol" : "ul");
      rows.forEach((r) => { const li = document.createElement("li"); inline(li, r.replace(ITEM, "")); list.appendChild(li); });
      frag.appendChild(list);
      return;
    }
    const p = document.createElement("p");
    // a single newline inside a paragraph is a soft wrap (markdown); no space between Chinese characters
    const joined = rows.map((r) => r.trim()).reduce((acc, r) => acc + (CJK_END.test(acc) && CJK_START.test(r) ? "" : " ") + r);
    inline(p, joined);
    frag.appendChild(p);
  });
  return frag;
}
