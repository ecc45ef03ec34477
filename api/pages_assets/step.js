// Sends a page's form as its GraphQL mutation and shows what the API answered.
//
// The form carries the mutation (data-document) and the payload field that
// holds the errors (data-root). Inputs are named by their path in the
// mutation's input ("isp.name"); an error is shown under the input its
// `field` names, or above the button when it names none of them.
//
// A person already logged in in this browser (opening an invitation, say) sends
// the session cookie along, so the session's CSRF token goes in X-CSRF-Token,
// read from the whv_csrf cookie, as GraphiQL's page does.
"use strict";

function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === "whv_csrf") return decodeURIComponent(value.join("="));
  }
  return null;
}

function inputOf(form) {
  const input = {};
  for (const element of form.elements) {
    if (!element.name || element.value === "") continue;
    const path = element.name.split(".");
    let target = input;
    for (const part of path.slice(0, -1)) {
      target = target[part] = target[part] || {};
    }
    target[path[path.length - 1]] = element.value;
  }
  return input;
}

function clearErrors(form) {
  for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
  for (const element of form.elements) element.removeAttribute("aria-invalid");
}

function showErrors(form, errors) {
  let first = null;
  for (const error of errors) {
    const path = (error.field || []).join(".");
    let slot = form.querySelector(`[data-error-for="${CSS.escape(path)}"]`);
    const element = path ? form.elements.namedItem(path) : null;
    if (!slot || !element || element.type === "hidden") {
      slot = form.querySelector('[data-error-for=""]');
    } else {
      element.setAttribute("aria-invalid", "true");
      first = first || element;
    }
    slot.textContent = (slot.textContent ? slot.textContent + " " : "") + error.message;
  }
  (first || form.querySelector("button")).focus();
}

async function send(form) {
  const status = document.getElementById("status");
  const button = form.querySelector("button");
  clearErrors(form);
  button.disabled = true;
  status.textContent = "Sending…";
  try {
    const headers = { "Content-Type": "application/json", "Accept": "application/json" };
    const token = csrfToken();
    if (token) headers["X-CSRF-Token"] = token;
    const response = await fetch(form.getAttribute("action"), {
      method: "POST",
      credentials: "same-origin",
      headers: headers,
      body: JSON.stringify({ query: form.dataset.document, variables: { input: inputOf(form) } }),
    });
    const answer = await response.json();
    if (answer.errors && answer.errors.length) {
      showErrors(form, answer.errors.map((error) => ({ message: error.message })));
      status.textContent = "Not sent: see the message above the button.";
      return;
    }
    const errors = answer.data[form.dataset.root].errors;
    if (errors.length) {
      showErrors(form, errors);
      status.textContent = "Please correct what is marked and send again.";
      return;
    }
    form.hidden = true;
    document.getElementById("done").hidden = false;
    status.textContent = form.dataset.done;
  } catch (problem) {
    showErrors(form, [{ message: "The server could not be reached; try again." }]);
    status.textContent = "";
  } finally {
    button.disabled = false;
  }
}

const form = document.querySelector("form[data-document]");
if (form) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(form);
  });
}
