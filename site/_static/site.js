// A link to a heading inside a folded optional section opens the section first.
(function () {
  function openTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    if (!id) return;
    var target = document.getElementById(id);
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") node.open = true;
    }
    if (target) target.scrollIntoView();
  }
  window.addEventListener("hashchange", openTarget);
  document.addEventListener("DOMContentLoaded", openTarget);
})();

// The theme's sidebar folds a page's sub-pages under a <summary> that holds only an icon:
// give it a name, so a screen reader says what the toggle opens (axe: summary-name).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("summary").forEach(function (summary) {
    if (summary.textContent.trim() || summary.getAttribute("aria-label")) return;
    var item = summary.closest("li");
    var link = item && item.querySelector(":scope > a");
    summary.setAttribute("aria-label", link ? "Show the pages under " + link.textContent.trim() : "Show more");
  });
});
