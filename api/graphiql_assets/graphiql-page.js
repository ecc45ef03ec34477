// GraphiQL for WeHostVoIP: runs from files served by the API itself (no CDN).
//
// Mutations made with the session cookie must carry the session's CSRF token
// in the X-CSRF-Token header. The API sets it in the whv_csrf cookie at login,
// so every request reads the cookie afresh: a `login` run in this page makes
// the next mutation work without pasting anything into the headers editor.
"use strict";

const CSRF_COOKIE = "whv_csrf";
const CSRF_HEADER = "X-CSRF-Token";

function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === CSRF_COOKIE) {
      return decodeURIComponent(value.join("="));
    }
  }
  return null;
}

// window.fetch with the CSRF header added (unless the headers editor set one).
function fetchWithCsrf(input, init) {
  const options = Object.assign({}, init || {});
  const headers = new Headers(options.headers || {});
  const token = csrfToken();
  if (token && !headers.has(CSRF_HEADER)) {
    headers.set(CSRF_HEADER, token);
  }
  options.headers = headers;
  options.credentials = "same-origin";
  return window.fetch(input, options);
}

const endpoint = window.location.href.split(/[?#]/)[0];
const subscriptionEndpoint = endpoint.replace(/^http/, "ws");

const parameters = new URLSearchParams(window.location.search);

function keepInURL(name, value) {
  if (value) {
    parameters.set(name, value);
  } else {
    parameters.delete(name);
  }
  history.replaceState(null, "", "?" + parameters.toString());
}

// The API answers plain JSON (no incremental delivery), so the simple fetcher is used.
const fetcher = GraphiQL.createFetcher({
  url: endpoint,
  subscriptionUrl: subscriptionEndpoint,
  fetch: fetchWithCsrf,
  enableIncrementalDelivery: false,
});
window.wehostvoipFetcher = fetcher; // for the browser test and the console

const STARTING_QUERY = `# WeHostVoIP GraphQL API
#
# Log in first (the session cookie and the CSRF token are handled by this page):
#
#   mutation { login(input: {email: "you@example.com", password: "..."}) {
#     administrator { email } errors { field code message } } }
#
# Then, for instance:  query { me { email } }
# Run: Ctrl-Enter. Complete: Ctrl-Space. The Docs button lists every type.
`;

function WeHostVoIPGraphiQL() {
  const [query, setQuery] = React.useState(parameters.get("query") || STARTING_QUERY);
  const [variables, setVariables] = React.useState(parameters.get("variables") || undefined);
  return React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultEditorToolsVisibility: true,
    plugins: [GraphiQLPluginExplorer.explorerPlugin()],
    query: query,
    variables: variables,
    onEditQuery: function (text) { setQuery(text); keepInURL("query", text); },
    onEditVariables: function (text) { setVariables(text); keepInURL("variables", text); },
    inputValueDeprecation: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
  });
}

ReactDOM.createRoot(document.getElementById("graphiql"))
  .render(React.createElement(WeHostVoIPGraphiQL));
