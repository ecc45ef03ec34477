// The one GraphQL client: a normalised cache (graphcache), HTTP with the session
// cookie and the CSRF header, and subscriptions over graphql-transport-ws.
import { cacheExchange, type Cache } from "@urql/exchange-graphcache";
import { createClient as createWsClient } from "graphql-ws";
import { Client, fetchExchange, mapExchange, subscriptionExchange, type CombinedError, type OperationResult } from "urql";
import { CSRF_HEADER, csrfToken } from "./csrf";

// Objects with an `id` are normalised by it; the rest (PageInfo, Theme, address,
// errors...) are embedded in their parent, which is what returning null says.
const keys = new Proxy(
  {},
  { get: () => (data: { id?: unknown }) => (typeof data.id === "string" ? data.id : null) },
);

// After any mutation, every list and summary on the root is fetched again: a
// created, deleted or reordered object may enter, leave or move in any of them.
// Single objects need nothing: the payload's object updates them by id.
function invalidateLists(cache: Cache): void {
  for (const field of cache.inspectFields("Query")) {
    if (field.fieldName === "me" || field.fieldName === "platform") continue;
    cache.invalidate("Query", field.fieldName, field.arguments ?? undefined);
  }
}

export type SessionEvents = { onUnauthenticated: () => void };

// Seconds the API asks to wait when the viewer's query budget is spent; null otherwise.
export function budgetRetryAfter(error: CombinedError | undefined): number | null {
  const exceeded = error?.graphQLErrors.find((e) => e.extensions?.code === "QUERY_BUDGET_EXCEEDED");
  const seconds = exceeded?.extensions?.retryAfterSeconds;
  return typeof seconds === "number" ? seconds : null;
}

export function createApiClient(events: SessionEvents, url = "/graphql", fetchImpl?: typeof fetch): Client {
  const wsUrl = new URL(url, window.location.href);
  wsUrl.protocol = wsUrl.protocol === "https:" ? "wss:" : "ws:";
  const ws = createWsClient({ url: wsUrl.toString(), lazy: true, retryAttempts: 3 });
  // A screen whose query was refused for budget asks again when enough is back,
  // as long as it is still on screen (reexecuteOperation skips inactive ones).
  const retryWhenBudgetIsBack = (result: OperationResult) => {
    const seconds = budgetRetryAfter(result.error);
    if (seconds !== null && result.operation.kind === "query") {
      setTimeout(() => client.reexecuteOperation(result.operation), Math.ceil(seconds * 1000) + 50);
    }
  };
  const client: Client = new Client({
    url,
    requestPolicy: "cache-and-network",
    // The API takes queries by POST only (GET is refused: no queries in URLs and logs).
    preferGetMethod: false,
    fetch: fetchImpl,
    fetchOptions: () => {
      const token = csrfToken();
      const headers: Record<string, string> = token ? { [CSRF_HEADER]: token } : {};
      return { credentials: "same-origin", headers };
    },
    exchanges: [
      cacheExchange({
        keys,
        updates: {
          Mutation: new Proxy(
            {},
            { get: () => (_result: unknown, _args: unknown, cache: Cache) => invalidateLists(cache) },
          ),
        },
      }),
      // A session that ended (idle, absolute expiry, logout elsewhere) shows up as an
      // UNAUTHENTICATED user error or a null `me`; the app sends the user to log in.
      mapExchange({
        onResult(result) {
          if (hasUnauthenticated(result.data)) events.onUnauthenticated();
          retryWhenBudgetIsBack(result);
          return result;
        },
      }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || "" };
          return {
            subscribe(sink) {
              const dispose = ws.subscribe(input, sink);
              return { unsubscribe: dispose };
            },
          };
        },
      }),
    ],
  });
  return client;
}

// True when a mutation payload says the viewer is not logged in.
export function hasUnauthenticated(data: unknown): boolean {
  if (!data || typeof data !== "object") return false;
  for (const value of Object.values(data as Record<string, unknown>)) {
    const errors = (value as { errors?: { code?: string }[] } | null)?.errors;
    if (Array.isArray(errors) && errors.some((error) => error.code === "UNAUTHENTICATED")) {
      return true;
    }
  }
  return false;
}
