// The canvas: a card is selected by a click, or by Enter when it has the focus; dragged, it
// moves to where it is dropped, in its track or another. Both press the editor's hidden
// buttons, so every change goes through the same form as the palette's and the panel's.
(function () {
  "use strict";
  const THRESHOLD = 6; // pixels a press must travel to be a drag, not a click

  function press(buttonId, values) {
    const form = document.getElementById("editor");
    for (const [name, value] of Object.entries(values)) form.elements[name].value = value;
    document.getElementById(buttonId).click();
  }

  function selectable(target) {
    return target.closest && target.closest("#editor svg.diagram [data-at], #editor svg.diagram [data-track]");
  }

  function select(element) {
    press("do-select", { target: element.dataset.at || element.dataset.track });
  }

  function origin(card) {
    const [x, y] = card.getAttribute("transform").match(/-?[\d.]+/g).map(Number);
    return { x, y };
  }

  // Where a card let go at the pointer lands: the track whose column is under it, and how many
  // of that track's other cards stand above it.
  function dropSpot(card, event) {
    const svg = card.ownerSVGElement;
    const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(svg.getScreenCTM().inverse());
    const gap = Number(svg.dataset.columnGap);
    let track = 0;
    svg.dataset.columns.split(",").map(Number).forEach((left, index) => {
      if (point.x >= left - gap / 2) track = index;
    });
    let index = 0;
    for (const other of svg.querySelectorAll("g[data-at]")) {
      if (other === card || Number(other.dataset.at.split(".")[0]) !== track) continue;
      if (origin(other).y + other.getBBox().height / 2 < point.y) index += 1;
    }
    return { track, index };
  }

  let drag = null;
  document.addEventListener("pointerdown", (event) => {
    const card = selectable(event.target);
    if (!card || event.button !== 0) return;
    if (!card.dataset.at) { select(card); return; } // a track's name
    drag = { card, x: event.clientX, y: event.clientY, moved: false, from: origin(card) };
    event.preventDefault();
  });
  document.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < THRESHOLD) return;
    drag.moved = true;
    const scale = drag.card.ownerSVGElement.getScreenCTM().a;
    drag.card.classList.add("dragging");
    drag.card.setAttribute("transform", `translate(${drag.from.x + dx / scale},${drag.from.y + dy / scale})`);
  });
  document.addEventListener("pointerup", (event) => {
    if (!drag) return;
    const { card, moved } = drag;
    drag = null;
    if (!moved) { select(card); return; }
    const spot = dropSpot(card, event);
    press("do-move", { target: card.dataset.at, drop_track: spot.track, drop_index: spot.index });
  });
  document.addEventListener("keydown", (event) => {
    const element = selectable(event.target);
    if (element && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      select(element);
    }
  });
  // A choice between shapes (a condition's check) shows the chosen shape's fields.
  document.addEventListener("change", (event) => {
    if (event.target.matches && event.target.matches("#panel [data-refresh]")) press("do-refresh", {});
  });
  // Unsaved work lives in the page until it is saved: leaving asks first.
  window.addEventListener("beforeunload", (event) => {
    if (document.querySelector("#view[data-unsaved]")) event.preventDefault();
  });
})();
