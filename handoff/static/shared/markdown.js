// FAQ answers are markdown. Render the small subset editors use (paragraphs, lists, **bold**, links) by
// building DOM nodes: text is never parsed as HTML, so nothing in a message can inject markup. Both
// pages use it: the borrower's chat and the console's transcript and KB results.

const ITEM = /^\s*(?:[-*]|\d+[.)、])\s+/;
const CJK_END = /[\u3000-\u9fff\uff00-\uffef]$/;
const CJK_START = /^[\u3000-\u9fff\uff00-\uffef]/;
const INLINE = /\*\*(.+?)\*\*|\[([^\]\n]+)\]\(((?:[^()\s]|\([^()\s]*\))+)\)/g;  // a URL may hold (one level of) parentheses
const SAFE_PROTOCOLS = ["http:", "https:", "mailto:"];

// A link target we are willing to open: web and mail addresses (absolute or on this site), never
// javascript: or data: and the like.
function safeHref(href) {
  try {
    const url = new URL(href, location.href);
    return SAFE_PROTOCOLS.includes(url.protocol) ? url.href : null;
  } catch { return null; }
}

function link(text, href) {
  const target = safeHref(href);
  if (!target) return document.createTextNode(text);
  const a = document.createElement("a");
  a.textContent = text;
  a.href = target;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

function inline(parent, text) {
  let at = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > at) parent.appendChild(document.createTextNode(text.slice(at, match.index)));
    if (match[1] !== undefined) {
      const b = document.createElement("strong");
      b.textContent = match[1];
      parent.appendChild(b);
    } else {
      parent.appendChild(link(match[2], match[3]));
    }
    at = match.index + match[0].length;
  }
  if (at < text.length) parent.appendChild(document.createTextNode(text.slice(at)));
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
