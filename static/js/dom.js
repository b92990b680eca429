// The one way the pages build an element: static/js/ui.js and static/js/signin.js (which ui.js imports,
// so it cannot import ui.js back) both use it.

/**
 * A new element with a class and text (set with `textContent`, never parsed as HTML).
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElement}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}
