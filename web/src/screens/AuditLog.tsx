// Who did what to which object, newest first.
import { useState } from "react";
import { useQuery } from "urql";
import { describeError } from "../api/errors";
import { graphql } from "../gql";
import { useDebounced } from "../ui/debounce";
import { formatDate } from "../ui/format";
import { Pager, usePaging } from "../ui/paging";

const AuditEventsDocument = graphql(`
  query AuditEvents($filter: AuditEventFilter, $first: Int, $after: String, $last: Int, $before: String) {
    auditEvents(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node { id occurredAt actorEmail action objectType objectId clientAddress changes } }
    }
  }
`);

export default function AuditLog() {
  const paging = usePaging(50);
  const [objectType, setObjectType] = useState("");
  const settledObjectType = useDebounced(objectType);
  const [{ data, error }] = useQuery({
    query: AuditEventsDocument,
    variables: { filter: { objectType: settledObjectType || null }, ...paging.vars },
  });
  return (
    <section>
      <h1>Audit log</h1>
      <div className="toolbar" role="search">
        <label>
          Object type <input value={objectType} placeholder="e.g. tenant" onChange={(e) => { setObjectType(e.target.value); paging.reset(); }} />
        </label>
      </div>
      {error && <p role="alert">{describeError(error)}</p>}
      <table>
        <caption className="visually-hidden">Audit events</caption>
        <thead>
          <tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Object</th><th scope="col">From</th><th scope="col">Changes</th></tr>
        </thead>
        <tbody>
          {data?.auditEvents.edges.map(({ node }) => (
            <tr key={node.id}>
              <td>{formatDate(node.occurredAt)}</td>
              <td>{node.actorEmail}</td>
              <td>{node.action}</td>
              <td>{node.objectType}</td>
              <td>{node.clientAddress}</td>
              <td><code>{JSON.stringify(node.changes)}</code></td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager pageInfo={data?.auditEvents.pageInfo} totalCount={data?.auditEvents.totalCount} paging={paging} noun="events" />
    </section>
  );
}
