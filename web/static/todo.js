// The To-Do list from the keyboard: j and k move from one to-do to the next and back, 1 to 9
// pick the focused to-do's result of that number, n goes to its notes, ? shows these keys.
// Keys typed into a field are the field's.
(function () {
  "use strict";

  function todos() {
    return Array.from(document.querySelectorAll("article.todo"));
  }

  function current() {
    return document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("article.todo")
      : null;
  }

  function focus(todo) {
    if (!todo) return;
    todo.focus();
    todo.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    const all = todos();
    const at = all.indexOf(current());
    focus(all[Math.max(0, Math.min(all.length - 1, at + step))] || all[0]);
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest && event.target.closest("input, textarea, select, [contenteditable]")) return;
    const todo = current();
    if (event.key === "j") move(1);
    else if (event.key === "k") move(-1);
    else if (event.key === "?") document.getElementById("keys").toggleAttribute("hidden");
    else if (todo && event.key === "n") todo.querySelector("textarea[name=notes]").focus();
    else if (todo && /^[1-9]$/.test(event.key)) {
      const result = todo.querySelectorAll(".results button[name=result]")[Number(event.key) - 1];
      if (!result) return;
      result.click();
    } else return;
    event.preventDefault();
  });
})();
