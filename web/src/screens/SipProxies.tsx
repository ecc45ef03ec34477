// The platform's Kamailio proxies that the routing export feeds (platform operators
// only): the database each reads, its JSON-RPC endpoint for reloads, and how far it is.
import { useState } from "react";
import { Link } from "react-router-dom";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import type { SipProxiesQuery } from "../gql/graphql";
import { ConfirmButton } from "../ui/confirm";
import { Field, formValues, GeneralErrors } from "../ui/form";
import { formatDate } from "../ui/format";
import { Pager, usePaging } from "../ui/paging";

const SipProxiesDocument = graphql(`
  query SipProxies($first: Int, $after: String, $last: Int, $before: String) {
    sipProxies(first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node { id name database rpcUrl enabled appliedGeneration lastSuccessAt lastError lastErrorAt } }
    }
  }
`);
const SipProxyCreateDocument = graphql(`
  mutation SipProxyCreate($input: SipProxyCreateInput!) {
    sipProxyCreate(input: $input) { sipProxy { id name } errors { field code message } }
  }
`);
const SipProxyUpdateDocument = graphql(`
  mutation SipProxyUpdate($input: SipProxyUpdateInput!) {
    sipProxyUpdate(input: $input) { sipProxy { id name database rpcUrl enabled } errors { field code message } }
  }
`);
const SipProxyDeleteDocument = graphql(`
  mutation SipProxyDelete($input: SipProxyDeleteInput!) {
    sipProxyDelete(input: $input) { deletedId errors { field code message } }
  }
`);

const FIELDS = ["name", "databaseUrl", "rpcUrl", "enabled"];
type Proxy = SipProxiesQuery["sipProxies"]["edges"][number]["node"];

export default function SipProxies() {
  const { canEdit } = useSession();
  const paging = usePaging();
  const [{ data, error }] = useQuery({ query: SipProxiesDocument, variables: paging.vars });
  const [, remove] = useMutation(SipProxyDeleteDocument);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Proxy | null>(null);
  const [rowErrors, setRowErrors] = useState<FormErrors>(noErrors);
  return (
    <section>
      <h1>SIP proxies</h1>
      <p>The proxies the routing export feeds. Their progress is also on <Link to="/routing">Routing</Link>.</p>
      {canEdit && (
        <div className="toolbar">
          <button type="button" onClick={() => { setEditing(null); setCreating(true); }}>New proxy</button>
        </div>
      )}
      <GeneralErrors errors={rowErrors} extra={describeError(error)} />
      {creating && <ProxyForm onDone={() => setCreating(false)} />}
      {editing && <ProxyForm key={editing.id} proxy={editing} onDone={() => setEditing(null)} />}
      <table>
        <caption className="visually-hidden">SIP proxies</caption>
        <thead>
          <tr>
            <th scope="col">Name</th><th scope="col">Database</th><th scope="col">JSON-RPC</th><th scope="col">Enabled</th>
            <th scope="col">Applied generation</th><th scope="col">Last success</th><th scope="col">Last error</th>
            {canEdit && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {data?.sipProxies.edges.map(({ node }) => (
            <tr key={node.id}>
              <td>{node.name}</td>
              <td><code>{node.database}</code></td>
              <td><code>{node.rpcUrl}</code></td>
              <td>{node.enabled ? "yes" : "no"}</td>
              <td>{node.appliedGeneration}</td>
              <td>{formatDate(node.lastSuccessAt)}</td>
              <td>{node.lastError ? `${node.lastError} (${formatDate(node.lastErrorAt)})` : "—"}</td>
              {canEdit && (
                <td className="actions">
                  <button type="button" aria-label={`Edit ${node.name}`} onClick={() => { setCreating(false); setEditing(node); }}>Edit</button>
                  <ConfirmButton
                    label="Delete"
                    title={`Delete proxy ${node.name}?`}
                    onConfirm={async () => {
                      const payload = (await remove({ input: { id: node.id } })).data?.sipProxyDelete;
                      setRowErrors(mapUserErrors(payload?.errors));
                    }}
                  >
                    <p>The proxy stops being reloaded; its database keeps the tables it has.</p>
                  </ConfirmButton>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {data && data.sipProxies.totalCount === 0 && <p className="empty">No proxy yet.</p>}
      <Pager pageInfo={data?.sipProxies.pageInfo} totalCount={data?.sipProxies.totalCount} paging={paging} noun="proxies" />
    </section>
  );
}

export function ProxyForm({ proxy, onDone }: { proxy?: Proxy; onDone: () => void }) {
  const [createState, create] = useMutation(SipProxyCreateDocument);
  const [updateState, update] = useMutation(SipProxyUpdateDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const title = proxy ? `Edit ${proxy.name}` : "New proxy";
  return (
    <form
      className="card"
      aria-label={title}
      onSubmit={async (event) => {
        event.preventDefault();
        const values = formValues(event.currentTarget);
        const enabled = values.enabled === "on";
        const payload = proxy
          ? (await update({ input: {
              id: proxy.id,
              name: values.name,
              // Blank keeps the stored URL (its password is never shown).
              databaseUrl: values.databaseUrl || null,
              rpcUrl: values.rpcUrl,
              enabled,
            } })).data?.sipProxyUpdate
          : (await create({ input: { name: values.name, databaseUrl: values.databaseUrl, rpcUrl: values.rpcUrl, enabled } })).data
              ?.sipProxyCreate;
        setErrors(mapUserErrors(payload?.errors, FIELDS));
        if (payload?.sipProxy) onDone();
      }}
    >
      <h2>{title}</h2>
      <GeneralErrors errors={errors} extra={describeError(createState.error ?? updateState.error)} />
      <Field label="Name" name="name" required defaultValue={proxy?.name} errors={errors} autoFocus />
      <Field label="Database URL" name="databaseUrl" required={!proxy} errors={errors} placeholder="postgres://user:password@host:5432/kamailio"
        hint={proxy ? `Now ${proxy.database}; leave blank to keep it.` : "The database whose tables the proxy reads; several proxies may share one."} />
      <Field label="JSON-RPC URL" name="rpcUrl" required defaultValue={proxy?.rpcUrl} errors={errors} placeholder="http://10.0.0.5:5080/RPC" />
      <div className="field">
        <label><input type="checkbox" name="enabled" defaultChecked={proxy?.enabled ?? true} /> Enabled</label>
      </div>
      <div className="actions">
        <button type="button" onClick={onDone}>Cancel</button>
        <button type="submit" disabled={createState.fetching || updateState.fetching}>{proxy ? "Save" : "Create"}</button>
      </div>
    </form>
  );
}
