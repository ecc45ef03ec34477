// What the proxies will do when one of the tenant's subscribers dials a number:
// routePreview answers it with the same code the routing export runs (dial-plan rule,
// security group, and what each gateway receives in failover order, or which
// extension rings).
import { useDeferredValue, useState } from "react";
import { useQuery } from "urql";
import { describeError } from "../api/errors";
import { graphql } from "../gql";
import type { RoutePreviewQuery } from "../gql/graphql";

const TenantSubscribersDocument = graphql(`
  query RoutePreviewSubscribers($tenant: ID!) {
    subscribers(filter: { tenant: $tenant }, first: 100) {
      edges { node { id username alias } }
    }
  }
`);
const RoutePreviewDocument = graphql(`
  query RoutePreview($subscriber: ID!, $dialed: String!) {
    routePreview(subscriber: $subscriber, dialed: $dialed) {
      outcome
      status
      reason
      number
      matchedRule { id description }
      securityGroupAllows
      extension { id username alias }
      gateways {
        gateway { id description address port }
        requestUriUser
        fromUser
        fromDisplay
        pAssertedIdentity
      }
      errors { field code message }
    }
  }
`);

export function RoutePreview({ tenantId }: { tenantId: string }) {
  const [subscriber, setSubscriber] = useState("");
  const [dialed, setDialed] = useState("");
  const [{ data: listed }] = useQuery({ query: TenantSubscribersDocument, variables: { tenant: tenantId } });
  const subscribers = listed?.subscribers.edges.map((edge) => edge.node) ?? [];
  const chosen = subscriber || subscribers[0]?.id || "";
  const variables = useDeferredValue({ subscriber: chosen, dialed });
  const [{ data, error }] = useQuery({
    query: RoutePreviewDocument,
    variables,
    pause: !variables.subscriber || !variables.dialed,
    requestPolicy: "network-only",
  });
  const preview = data?.routePreview;
  if (subscribers.length === 0) return null;
  return (
    <div className="card" aria-label="Route preview">
      <h2>Route preview</h2>
      <div className="grid2">
        <div className="field">
          <label htmlFor="preview-subscriber">Caller</label>
          <select id="preview-subscriber" value={chosen} onChange={(e) => setSubscriber(e.target.value)}>
            {subscribers.map((s) => (
              <option key={s.id} value={s.id}>{s.alias ? `${s.username} (${s.alias})` : s.username}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="preview-dialed">Dials</label>
          <input id="preview-dialed" value={dialed} onChange={(e) => setDialed(e.target.value)} />
        </div>
      </div>
      <div aria-live="polite">
        {error && <p role="alert">{describeError(error)}</p>}
        {preview?.errors.map((e) => <p key={e.message} role="alert">{e.message}</p>)}
        {preview && preview.errors.length === 0 && <PreviewResult preview={preview} />}
      </div>
    </div>
  );
}

type Preview = RoutePreviewQuery["routePreview"];

function PreviewResult({ preview }: { preview: Preview }) {
  return (
    <>
      <p data-testid="route-preview-outcome">
        {preview.outcome === "EXTENSION" && preview.extension
          ? `Rings ${preview.extension.username}${preview.extension.alias ? ` (${preview.extension.alias})` : ""}.`
          : preview.outcome === "CARRIER"
            ? `Goes out through the tenant's carrier as ${preview.number}.`
            : `Refused: ${preview.status} ${preview.reason}.`}
      </p>
      {preview.number && (
        <p>
          Number after the dial plan: <strong>{preview.number}</strong>
          {preview.matchedRule && ` (rule: ${preview.matchedRule.description || preview.matchedRule.id})`}
          {preview.securityGroupAllows === false && " · not allowed by the caller's security group"}
        </p>
      )}
      {preview.gateways.length > 0 && (
        <table>
          <caption>Gateways, in failover order</caption>
          <thead>
            <tr><th scope="col">Gateway</th><th scope="col">Request-URI user</th><th scope="col">From user</th><th scope="col">From display</th><th scope="col">P-Asserted-Identity</th></tr>
          </thead>
          <tbody>
            {preview.gateways.map((g) => (
              <tr key={g.gateway.id}>
                <td>{g.gateway.description || `${g.gateway.address}:${g.gateway.port}`}</td>
                <td>{g.requestUriUser}</td>
                <td>{g.fromUser}</td>
                <td>{g.fromDisplay ?? "as the phone sends it"}</td>
                <td>{g.pAssertedIdentity ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
