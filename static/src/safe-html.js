// Markdown's HTML into the page without an HTML-parsing sink (static/ has none: tests/browser/
// test_static.py): parsed into an inert document (DOMParser runs no script and loads nothing), then
// copied element by element, keeping only the elements and attributes Markdown makes. Anything else
// keeps its text and loses its markup.

const ELEMENTS = new Set([
  "A", "BLOCKQUOTE", "BR", "CODE", "DEL", "EM", "H1", "H2", "H3", "H4", "H5", "H6", "HR", "IMG", "LI",
  "OL", "P", "PRE", "S", "STRONG", "TABLE", "TBODY", "TD", "TH", "THEAD", "TR", "UL",
]);
const ATTRIBUTES = {
  A: ["href", "title", "target", "rel"],
  IMG: ["src", "alt", "title"],
  OL: ["start"],
  TD: ["style"],
  TH: ["style"],
  CODE: ["class"],
};

function copy(node) {
  if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.data);
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  if (!ELEMENTS.has(node.tagName)) return document.createTextNode(node.textContent);
  const element = document.createElement(node.tagName);
  for (const name of ATTRIBUTES[node.tagName] ?? []) {
    const value = node.getAttribute(name);
    if (value !== null) element.setAttribute(name, value);
  }
  for (const child of node.childNodes) {
    const copied = copy(child);
    if (copied) element.append(copied);
  }
  return element;
}

/** Replace `target`'s children with the elements of `html` (markdown-it's output). */
export function showHtml(target, html) {
  const parsed = new DOMParser().parseFromString(html, "text/html");
  target.replaceChildren(...[...parsed.body.childNodes].map(copy).filter(Boolean));
}
