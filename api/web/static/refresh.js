// Reloads a page that changes on its own, such as the status of a request being worked on,
// every data-refresh seconds, with a button that stops it. A meta refresh cannot be turned
// off and pulls readers away from what they are reading (WCAG 2.2.1).
"use strict";

(() => {
  const seconds = Number(document.body.dataset.refresh);
  const control = document.getElementById("refresh-control");
  if (!(seconds > 0) || !control) {
    return;
  }
  const button = control.querySelector("button");
  let timer = setTimeout(() => window.location.reload(), seconds * 1000);
  control.hidden = false;
  button.addEventListener("click", () => {
    if (timer === null) {
      window.location.reload();
      return;
    }
    clearTimeout(timer);
    timer = null;
    button.textContent = "Start updating this page again";
  });
})();
