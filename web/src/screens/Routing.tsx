// Whether configuration changes have reached the SIP proxies.
import { useQuery } from "urql";
import { describeError } from "../api/errors";
import { graphql } from "../gql";
import { formatDate } from "../ui/format";

const RoutingStatusDocument = graphql(`
  query RoutingStatus {
    routingStatus {
      inStep
      pending
      generation
      exportedAt
      lastError
      proxies { id name appliedGeneration lastSuccessAt lastError }
    }
  }
`);

export default function Routing() {
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
          <dl>
            <dt>Generation</dt><dd>{status.generation}</dd>
            <dt>Last export</dt><dd>{formatDate(status.exportedAt)}</dd>
            <dt>Last error</dt><dd>{status.lastError ?? "none"}</dd>
          </dl>
        </div>
      )}
      {status && status.proxies.length > 0 && (
        <table>
          <thead><tr><th scope="col">Proxy</th><th scope="col">Applied generation</th><th scope="col">Last success</th><th scope="col">Last error</th></tr></thead>
          <tbody>
            {status.proxies.map((proxy) => (
              <tr key={proxy.id}>
                <td>{proxy.name}</td><td>{proxy.appliedGeneration}</td><td>{formatDate(proxy.lastSuccessAt)}</td><td>{proxy.lastError ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button type="button" onClick={() => refetch({ requestPolicy: "network-only" })}>Refresh</button>
    </section>
  );
}
