import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { Provider } from "urql";
import { createApiClient } from "./api/client";
import { App, SESSION_ENDED } from "./App";
import "./styles.css";

const client = createApiClient({
  onUnauthenticated: () => window.dispatchEvent(new Event(SESSION_ENDED)),
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Provider value={client}>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </Provider>
  </StrictMode>,
);
