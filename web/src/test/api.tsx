// The console's real GraphQL client (createApiClient) over a fake HTTP server:
// tests script the API's answers and read back what the client sent.
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router-dom";
import { Provider } from "urql";
import { createApiClient } from "../api/client";
import { SessionProvider } from "../auth/session";

export type Sent = { operationName: string; variables: Record<string, unknown>; headers: Headers; files: File[] };
type Answer = (operationName: string, variables: Record<string, unknown>) => unknown;

export function fakeApi(answer: Answer) {
  const sent: Sent[] = [];
  const ended: string[] = [];
  const fetchImpl = (async (_url: RequestInfo | URL, init?: RequestInit) => {
    // A GraphQL multipart request (a File in the variables) carries the operation in
    // its "operations" part and each file in a part of its own.
    const multipart = init?.body instanceof FormData ? init.body : null;
    const body = JSON.parse(multipart ? String(multipart.get("operations")) : String(init?.body));
    const files = multipart ? [...multipart.values()].filter((value): value is File => value instanceof File) : [];
    sent.push({ operationName: body.operationName, variables: body.variables ?? {}, headers: new Headers(init?.headers), files });
    const data = answer(body.operationName, body.variables ?? {});
    // An answer with `errors` is sent as the whole response body (GraphQL errors).
    const response = data && typeof data === "object" && "errors" in data ? data : { data };
    return new Response(JSON.stringify(response), { status: 200, headers: { "Content-Type": "application/json" } });
  }) as typeof fetch;
  const client = createApiClient({ onUnauthenticated: () => ended.push("ended") }, "http://console.test/graphql", fetchImpl);
  return { client, sent, ended };
}

export function renderWithApi(ui: ReactNode, answer: Answer, path = "/") {
  const api = fakeApi(answer);
  const view = render(
    <Provider value={api.client}>
      <MemoryRouter initialEntries={[path]}>
        <SessionProvider>{ui}</SessionProvider>
      </MemoryRouter>
    </Provider>,
  );
  return { ...api, view };
}
