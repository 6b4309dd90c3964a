// Bot answers arrive with `html`: their FAQ markdown rendered and sanitised by the service (markdown-it-py
// + nh3, knowledge_base/markup.py). The page still trusts nothing: the html is parsed into an inert
// document (no script runs, nothing loads) and only an allow-list of elements and attributes is copied
// into the page as new nodes, so the chat's bubbles and the console's transcript and KB results show
// tables, lists, links and bold, and never markup of anyone's choosing. Every other text is textContent.

const TAGS = new Set(["P", "BR", "STRONG", "EM", "DEL", "CODE", "UL", "OL", "LI", "A",
  "DIV", "TABLE", "THEAD", "TBODY", "TR", "TH", "TD"]);
const DROP = new Set(["SCRIPT", "STYLE", "TEMPLATE", "IFRAME", "OBJECT", "EMBED", "SVG", "MATH", "NOSCRIPT"]);
const PROTOCOLS = new Set(["http:", "https:", "mailto:", "tel:"]);
const TABLE_WRAP = "md-table";

// Only absolute web, mail and phone addresses: never javascript:, data:, or a path on this site.
export function safeHref(href) {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(href || "")) return null;
  try {
    const url = new URL(href);
    return PROTOCOLS.has(url.protocol) ? url.href : null;
  } catch { return null; }
}

function copy(source, target) {
  for (const node of source.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) { target.appendChild(document.createTextNode(node.data)); continue; }
    if (node.nodeType !== Node.ELEMENT_NODE || DROP.has(node.tagName)) continue;
    if (!TAGS.has(node.tagName)) { copy(node, target); continue; }  // an unknown wrapper: keep its words
    if (node.tagName === "A" && !safeHref(node.getAttribute("href"))) { copy(node, target); continue; }
    const el = document.createElement(node.tagName.toLowerCase());
    if (node.tagName === "A") {
      el.href = safeHref(node.getAttribute("href"));
      el.target = "_blank";
      el.rel = "noopener noreferrer nofollow";
    } else if (node.tagName === "OL" && /^\d{1,4}$/.test(node.getAttribute("start") || "")) {
      el.setAttribute("start", node.getAttribute("start"));
    } else if (node.tagName === "DIV" && node.classList.contains(TABLE_WRAP)) {
      el.className = TABLE_WRAP;
      el.tabIndex = 0;  // a table wider than its bubble scrolls: reachable by keyboard
    }
    copy(node, el);
    target.appendChild(el);
  }
}

// The nodes of a sanitised html fragment, as a DocumentFragment to append.
export function richText(html) {
  const frag = document.createDocumentFragment();
  const parsed = new DOMParser().parseFromString(String(html || ""), "text/html");
  copy(parsed.body, frag);
  return frag;
}

// A message's text as the pages show it: its `html` when the service sent one (bot answers), else
// the words as plain text in an element of class `plain` (line breaks kept by CSS).
export function messageBody(message, tag = "div") {
  const node = document.createElement(tag);
  if (message.html) { node.className = "md"; node.appendChild(richText(message.html)); }
  else { node.className = "plain"; node.textContent = message.text || ""; }
  return node;
}
