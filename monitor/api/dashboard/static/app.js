// Review queue keyboard shortcuts: j/k move between posts, y/n label the current one, c picks its category.
// A static file (the CSP forbids inline script); it only clicks the buttons a mouse would.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const items = Array.from(document.querySelectorAll("article.item[id^='post-']"));
  if (!items.length) return;
  let current = 0;
  const focus = (i) => {
    items[current].classList.remove("current");
    current = Math.max(0, Math.min(items.length - 1, i));
    items[current].classList.add("current");
    items[current].focus();
    items[current].scrollIntoView({ block: "nearest" });
  };
  focus(0);
  document.addEventListener("keydown", (event) => {
    const tag = (event.target.tagName || "").toLowerCase();
    if (["input", "select", "textarea"].includes(tag) || event.ctrlKey || event.metaKey || event.altKey) return;
    const item = items[current];
    const click = (selector) => { const b = item.querySelector(selector); if (b) b.click(); };
    switch (event.key) {
      case "j": focus(current + 1); break;
      case "k": focus(current - 1); break;
      case "y": click("button.yes"); break;
      case "n": click("button.no"); break;
      case "c": { const s = item.querySelector("select[name='category']"); if (s) s.focus(); break; }
      default: return;
    }
    event.preventDefault();
  });
});
