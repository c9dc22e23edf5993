// Small enhancements; every page works without them except signing in, which posts JSON.
"use strict";

// The request form shows only the details of the chosen kind of request.
function showDetailsFor(form) {
  const chosen = form.querySelector('input[name="type"]:checked');
  for (const set of form.querySelectorAll("fieldset.details")) {
    const kinds = (set.dataset.for || "").split(" ");
    set.hidden = !chosen || !kinds.includes(chosen.value);
  }
}

function signIn(form) {
  const error = document.getElementById("token-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const token = form.elements.token.value.trim();
    let answer;
    try {
      answer = await fetch("/api/v1/session", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token }),
      });
    } catch (e) {
      answer = null;
    }
    if (answer && answer.ok) {
      const session = await answer.json().catch(() => null);
      window.location.assign(session && session.role === "auditor" ? "/audit" : "/admin/requests");
      return;
    }
    let message = "We could not reach the server; try again.";
    if (answer) {
      const body = await answer.json().catch(() => null);
      message = answer.status === 401 || answer.status === 422
        ? "That token is not valid." : (body && body.error && body.error.message) || message;
    }
    error.textContent = message;
    error.hidden = false;
    form.elements.token.setAttribute("aria-invalid", "true");
    form.elements.token.focus();
  });
}

function signOut(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await fetch("/api/v1/session", {
      method: "DELETE", credentials: "same-origin",
      headers: { "X-CSRF-Token": form.dataset.csrf },
    }).catch(() => null);
    window.location.assign("/admin");
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const typeGroup = document.getElementById("type-group");
  if (typeGroup) {
    const form = typeGroup.form || typeGroup.closest("form");
    showDetailsFor(form);
    typeGroup.addEventListener("change", () => showDetailsFor(form));
  }
  const signInForm = document.getElementById("sign-in");
  if (signInForm) signIn(signInForm);
  const signOutForm = document.getElementById("sign-out");
  if (signOutForm) signOut(signOutForm);
});
