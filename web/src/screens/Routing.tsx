// Whether configuration changes have reached the SIP proxies.
import { useQuery } from "urql";
import { describeError } from "../api/errors";
import { graphql } from "../gql";
import { formatDate } from "../ui/format";
import { Link } from "react-router-dom";
import { useSession } from "../auth/session";

const RoutingStatusDocument = graphql(`
  query RoutingStatus {
    routingStatus {
      inStep
      pending
      generation
      exportedAt
      lastError
      proxies { id name enabled appliedGeneration lastSuccessAt lastError lastErrorAt }
    }
  }
`);

type ProxyState = { enabled: boolean; appliedGeneration: number; lastError?: string | null; lastSuccessAt?: string | null; lastErrorAt?: string | null };

// One proxy's state in words: in step, behind, or failing since its last success.
export function proxyStatus(proxy: ProxyState, generation: number): string {
  if (!proxy.enabled) return "disabled";
  const failing = proxy.lastErrorAt && (!proxy.lastSuccessAt || proxy.lastErrorAt > proxy.lastSuccessAt);
  if (proxy.appliedGeneration >= generation) return failing ? "in step (last reload failed)" : "in step";
  return failing ? `failing, ${generation - proxy.appliedGeneration} behind` : `${generation - proxy.appliedGeneration} behind`;
}

export default function Routing() {
  const { kind } = useSession();
  const [{ data, error }, refetch] = useQuery({ query: RoutingStatusDocument, requestPolicy: "network-only" });
  const status = data?.routingStatus;
  return (
    <section>
      <h1>Routing</h1>
      {error && <p role="alert">{describeError(error)}</p>}
      {status && (
        <div className="card" aria-live="polite">
          <p>
            <strong>{status.inStep ? "Every change is live on the proxies." : status.pending ? "Changes are being exported." : "The proxies are not in step."}</strong>
          </p>
          {/* Generation, export time and error text are the platform operators' (null for others). */}
          {status.generation != null && (
            <dl>
              <dt>Generation</dt><dd>{status.generation}</dd>
              <dt>Last export</dt><dd>{formatDate(status.exportedAt)}</dd>
              <dt>Last error</dt><dd>{status.lastError ?? "none"}</dd>
            </dl>
          )}
        </div>
      )}
      {status && status.proxies.length > 0 && (
        <table>
          <caption>Proxies</caption>
          <thead><tr><th scope="col">Proxy</th><th scope="col">Status</th><th scope="col">Applied generation</th><th scope="col">Last success</th><th scope="col">Last error</th></tr></thead>
          <tbody>
            {status.proxies.map((proxy) => (
              <tr key={proxy.id}>
                <td>{proxy.name}</td>
                <td>{proxyStatus(proxy, status.generation ?? 0)}</td>
                <td>{proxy.appliedGeneration}</td><td>{formatDate(proxy.lastSuccessAt)}</td>
                <td>{proxy.lastError ? `${proxy.lastError} (${formatDate(proxy.lastErrorAt)})` : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {kind === "PLATFORM" && <p><Link to="/sip-proxies">Manage the SIP proxies</Link></p>}
      <button type="button" onClick={() => refetch({ requestPolicy: "network-only" })}>Refresh</button>
    </section>
  );
}
