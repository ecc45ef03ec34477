// A tenant's subscribers (extensions): search and status filter, paging, one at a
// time or in bulk (all or nothing), SIP password reveal (audited), deletion.
import { useRef, useState } from "react";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { graphql } from "../gql";
import { useDebounced } from "../ui/debounce";
import { ConfirmButton } from "../ui/confirm";
import type { SubscribersQuery, SubscriberStatus } from "../gql/graphql";
import { Field, formValues, GeneralErrors, Select } from "../ui/form";
import { Pager, usePaging } from "../ui/paging";
import { bulkErrorMessages, parseBulkLines } from "./bulk";
import { SecurityGroupsDocument } from "./SecurityGroups";

const SubscribersDocument = graphql(`
  query Subscribers($filter: SubscriberFilter, $orderBy: SubscriberOrder, $first: Int, $after: String, $last: Int, $before: String) {
    subscribers(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node { id tenantId securityGroupId username displayName email alias callerId hasPin status source concurrentCalls ringTimeout voicemailToEmail forwardUnconditional forwardBusy forwardNoAnswer } }
    }
  }
`);
const CreateDocument = graphql(`
  mutation SubscriberCreate($input: SubscriberCreateInput!) {
    subscriberCreate(input: $input) {
      subscriber { id username }
      sipPassword
      warnings { field code message }
      errors { field code message }
    }
  }
`);
const BulkCreateDocument = graphql(`
  mutation SubscriberBulkCreate($input: SubscriberBulkCreateInput!) {
    subscriberBulkCreate(input: $input) {
      subscribers { subscriber { id username } sipPassword }
      errors { field code message }
    }
  }
`);
const UpdateDocument = graphql(`
  mutation SubscriberUpdate($input: SubscriberUpdateInput!) {
    subscriberUpdate(input: $input) {
      subscriber {
        id securityGroupId username displayName email alias callerId hasPin status concurrentCalls ringTimeout voicemailToEmail
        forwardUnconditional forwardBusy forwardNoAnswer
      }
      warnings { field code message }
      errors { field code message }
    }
  }
`);
const RevealDocument = graphql(`
  mutation SubscriberRevealSipPassword($input: SubscriberIdInput!) {
    subscriberRevealSipPassword(input: $input) { sipPassword errors { field code message } }
  }
`);
const PasswordResetDocument = graphql(`
  mutation SubscriberSipPasswordReset($input: SubscriberIdInput!) {
    subscriberSipPasswordReset(input: $input) { subscriber { id } sipPassword errors { field code message } }
  }
`);
const DeleteDocument = graphql(`
  mutation SubscriberDelete($input: SubscriberIdInput!) {
    subscriberDelete(input: $input) { deletedId errors { field code message } }
  }
`);

const FIELDS = ["username", "email", "displayName", "alias", "callerId"];
const EDIT_FIELDS = [...FIELDS, "securityGroup", "status", "concurrentCalls", "ringTimeout", "forwardUnconditional", "forwardBusy", "forwardNoAnswer", "pin"];

type Subscriber = SubscribersQuery["subscribers"]["edges"][number]["node"];

export function Subscribers({ tenantId, canEdit }: { tenantId: string; canEdit: boolean }) {
  const paging = usePaging();
  const [search, setSearch] = useState("");
  const settledSearch = useDebounced(search);
  const [status, setStatus] = useState("");
  const [{ data, error }] = useQuery({
    query: SubscribersDocument,
    variables: {
      filter: { tenant: tenantId, search: settledSearch || null, status: (status || null) as "ACTIVE" | "DISABLED" | null },
      orderBy: { field: "USERNAME", direction: "ASC" },
      ...paging.vars,
    },
  });
  const [, reveal] = useMutation(RevealDocument);
  const [, remove] = useMutation(DeleteDocument);
  const [, resetPassword] = useMutation(PasswordResetDocument);
  const [revealed, setRevealed] = useState<Record<string, string>>({});
  const [rowErrors, setRowErrors] = useState<FormErrors>(noErrors);
  const [mode, setMode] = useState<"one" | "bulk" | null>(null);
  // The subscriber being edited follows the list as it is read again (after a save the
  // list first shows its previous answer, then the server's).
  const [editingId, setEditingId] = useState<string | null>(null);
  const editing = data?.subscribers.edges.find((edge) => edge.node.id === editingId)?.node ?? null;
  return (
    <div>
      <h2>Subscribers</h2>
      <div className="toolbar" role="search">
        <label>
          Search <input type="search" value={search} onChange={(e) => { setSearch(e.target.value); paging.reset(); }} />
        </label>
        <label>
          Status{" "}
          <select value={status} onChange={(e) => { setStatus(e.target.value); paging.reset(); }}>
            <option value="">any</option>
            <option value="ACTIVE">active</option>
            <option value="DISABLED">disabled</option>
          </select>
        </label>
        {canEdit && (
          <>
            <button type="button" onClick={() => setMode("one")}>New subscriber</button>
            <button type="button" onClick={() => setMode("bulk")}>Bulk create</button>
          </>
        )}
      </div>
      <GeneralErrors errors={rowErrors} extra={describeError(error)} />
      {mode === "one" && <SubscriberForm tenantId={tenantId} onDone={() => setMode(null)} />}
      {mode === "bulk" && <BulkForm tenantId={tenantId} onDone={() => setMode(null)} />}
      {editing && <EditForm key={editing.id} subscriber={editing} onDone={() => setEditingId(null)} />}
      <table>
        <caption className="visually-hidden">Subscribers</caption>
        <thead>
          <tr>
            <th scope="col">Username</th><th scope="col">Name</th><th scope="col">Extension</th><th scope="col">E-mail</th>
            <th scope="col">Caller ID</th><th scope="col">Status</th><th scope="col">Source</th>{canEdit && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {data?.subscribers.edges.map(({ node }) => (
            <tr key={node.id}>
              <td>{node.username}</td>
              <td>{node.displayName}</td>
              <td>{node.alias ?? "—"}</td>
              <td>{node.email}</td>
              <td>{node.callerId ?? "—"}</td>
              <td>{node.status.toLowerCase()}</td>
              <td>{node.source.toLowerCase()}</td>
              {canEdit && (
                <td className="actions">
                  <button type="button" aria-label={`Edit ${node.username}`} onClick={() => setEditingId(node.id)}>Edit</button>
                  {revealed[node.id] ? (
                    <code aria-label={`SIP password of ${node.username}`}>{revealed[node.id]}</code>
                  ) : (
                    <button
                      type="button"
                      aria-label={`Reveal the SIP password of ${node.username}`}
                      onClick={async () => {
                        const payload = (await reveal({ input: { id: node.id } })).data?.subscriberRevealSipPassword;
                        setRowErrors(mapUserErrors(payload?.errors));
                        if (payload?.sipPassword) setRevealed((current) => ({ ...current, [node.id]: payload.sipPassword! }));
                      }}
                    >
                      Reveal password
                    </button>
                  )}
                  <ConfirmButton
                    label="Reset password"
                    title={`Give ${node.username} a new SIP password?`}
                    onConfirm={async () => {
                      const payload = (await resetPassword({ input: { id: node.id } })).data?.subscriberSipPasswordReset;
                      setRowErrors(mapUserErrors(payload?.errors));
                      if (payload?.sipPassword) setRevealed((current) => ({ ...current, [node.id]: payload.sipPassword! }));
                    }}
                  >
                    <p>The phones registered with the old password stop working until they get the new one, shown this once.</p>
                  </ConfirmButton>
                  <ConfirmButton
                    label="Delete"
                    title={`Delete subscriber ${node.username}?`}
                    onConfirm={async () => {
                      const payload = (await remove({ input: { id: node.id } })).data?.subscriberDelete;
                      setRowErrors(mapUserErrors(payload?.errors));
                    }}
                  />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <Pager pageInfo={data?.subscribers.pageInfo} totalCount={data?.subscribers.totalCount} paging={paging} noun="subscribers" />
    </div>
  );
}

function SubscriberForm({ tenantId, onDone }: { tenantId: string; onDone: () => void }) {
  const [state, create] = useMutation(CreateDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [password, setPassword] = useState<{ username: string; password: string } | null>(null);
  if (password) {
    return (
      <div className="card" role="status">
        <p>Subscriber {password.username} created. Its SIP password, shown this once:</p>
        <pre className="secret">{password.password}</pre>
        <button type="button" onClick={onDone}>Close</button>
      </div>
    );
  }
  return (
    <form
      className="card"
      aria-label="New subscriber"
      onSubmit={async (event) => {
        event.preventDefault();
        const values = formValues(event.currentTarget);
        const payload = (
          await create({
            input: {
              tenant: tenantId,
              username: values.username,
              email: values.email || null,
              displayName: values.displayName || null,
              alias: values.alias || null,
              callerId: values.callerId || null,
            },
          })
        ).data?.subscriberCreate;
        setErrors(mapUserErrors(payload?.errors, FIELDS));
        if (payload?.subscriber) setPassword({ username: payload.subscriber.username, password: payload.sipPassword ?? "" });
      }}
    >
      <h3>New subscriber</h3>
      <GeneralErrors errors={errors} extra={describeError(state.error)} />
      <div className="grid2">
        <Field label="Username" name="username" required errors={errors} autoFocus />
        <Field label="E-mail" name="email" type="email" errors={errors} />
        <Field label="Display name" name="displayName" errors={errors} />
        <Field label="Extension" name="alias" inputMode="numeric" errors={errors} hint="2 to 8 digits." />
        <Field label="Caller ID" name="callerId" errors={errors} hint="One of the tenant's numbers, E.164." />
      </div>
      <div className="actions">
        <button type="button" onClick={onDone}>Cancel</button>
        <button type="submit" disabled={state.fetching}>Create</button>
      </div>
    </form>
  );
}

function BulkForm({ tenantId, onDone }: { tenantId: string; onDone: () => void }) {
  const [state, create] = useMutation(BulkCreateDocument);
  const [messages, setMessages] = useState<string[]>([]);
  const [created, setCreated] = useState<{ username: string; password: string }[] | null>(null);
  if (created) {
    return (
      <div className="card" role="status">
        <p>{created.length} subscribers created. Their SIP passwords, shown this once (the credentials sheet has them too):</p>
        <pre className="secret">{created.map((row) => `${row.username}\t${row.password}`).join("\n")}</pre>
        <button type="button" onClick={onDone}>Close</button>
      </div>
    );
  }
  return (
    <form
      className="card"
      aria-label="Bulk create subscribers"
      onSubmit={async (event) => {
        event.preventDefault();
        const rows = parseBulkLines(formValues(event.currentTarget).lines ?? "");
        if (rows.length === 0) {
          setMessages(["Write one subscriber a line."]);
          return;
        }
        const payload = (await create({ input: { tenant: tenantId, subscribers: rows } })).data?.subscriberBulkCreate;
        setMessages(bulkErrorMessages(payload?.errors ?? []));
        if (payload && payload.errors.length === 0) {
          setCreated(payload.subscribers.map((row) => ({ username: row.subscriber.username, password: row.sipPassword ?? "" })));
        }
      }}
    >
      <h3>Bulk create subscribers</h3>
      <GeneralErrors errors={{ fields: {}, general: messages }} extra={describeError(state.error)} />
      <div className="field">
        <label htmlFor="bulk-lines">One subscriber a line: username, e-mail, display name, extension (up to 1000; all or none)</label>
        <textarea id="bulk-lines" name="lines" rows={8} required placeholder={"alice, alice@example.com, Alice Smith, 201\nbob,,Bob,202"} />
      </div>
      <div className="actions">
        <button type="button" onClick={onDone}>Cancel</button>
        <button type="submit" disabled={state.fetching}>Create all</button>
      </div>
    </form>
  );
}

// Empty means "none" for the optional values (extension, caller ID, forwards).
const orNull = (value: string | undefined) => (value ? value : null);

function EditForm({ subscriber, onDone }: { subscriber: Subscriber; onDone: () => void }) {
  const [state, update] = useMutation(UpdateDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [warnings, setWarnings] = useState<string[]>([]);
  const [{ data: groupsNow }] = useQuery({ query: SecurityGroupsDocument, variables: { tenant: subscriber.tenantId } });
  // While the groups are read again (after any save) the form stays, with what it has typed.
  const lastGroups = useRef(groupsNow);
  if (groupsNow) lastGroups.current = groupsNow;
  const groups = lastGroups.current;
  if (!groups) return <p role="status">Loading…</p>;
  return (
    <form
      className="card"
      aria-label={`Edit ${subscriber.username}`}
      onSubmit={async (event) => {
        event.preventDefault();
        const values = formValues(event.currentTarget);
        const payload = (
          await update({
            input: {
              id: subscriber.id,
              email: values.email,
              displayName: values.displayName,
              alias: orNull(values.alias),
              callerId: orNull(values.callerId),
              securityGroup: orNull(values.securityGroup),
              status: values.status as SubscriberStatus,
              concurrentCalls: Number(values.concurrentCalls),
              ringTimeout: Number(values.ringTimeout),
              voicemailToEmail: values.voicemailToEmail === "on",
              // Blank keeps the PIN; "remove" empties it.
              ...(values.pin ? { pin: values.pin } : values.removePin === "on" ? { pin: null } : {}),
              forwardUnconditional: orNull(values.forwardUnconditional),
              forwardBusy: orNull(values.forwardBusy),
              forwardNoAnswer: orNull(values.forwardNoAnswer),
            },
          })
        ).data?.subscriberUpdate;
        setErrors(mapUserErrors(payload?.errors, EDIT_FIELDS));
        setWarnings((payload?.warnings ?? []).map((warning) => warning.message));
        if (payload?.subscriber && payload.warnings.length === 0) onDone();
      }}
    >
      <h3>Edit {subscriber.username}</h3>
      <GeneralErrors errors={errors} extra={describeError(state.error)} />
      {warnings.length > 0 && <div role="status">{warnings.map((warning) => <p key={warning}>Saved; note: {warning}</p>)}</div>}
      <div className="grid2">
        <Field label="E-mail" name="email" type="email" defaultValue={subscriber.email} errors={errors} />
        <Field label="Display name" name="displayName" defaultValue={subscriber.displayName} errors={errors} />
        <Field label="Extension" name="alias" inputMode="numeric" defaultValue={subscriber.alias ?? ""} errors={errors} />
        <Field label="Caller ID" name="callerId" defaultValue={subscriber.callerId ?? ""} errors={errors} />
        <Select label="Security group" name="securityGroup" defaultValue={subscriber.securityGroupId ?? ""} errors={errors}
          options={[{ value: "", label: "(none: no international calls)" },
            ...groups.securityGroups.edges.map(({ node }) => ({ value: node.id, label: node.name }))]} />
        <Select label="Status" name="status" defaultValue={subscriber.status} errors={errors}
          options={[{ value: "ACTIVE", label: "active" }, { value: "DISABLED", label: "disabled" }]} />
        <Field label="Concurrent calls" name="concurrentCalls" type="number" min={1} defaultValue={subscriber.concurrentCalls} errors={errors} />
        <Field label="Ring timeout (s)" name="ringTimeout" type="number" min={1} defaultValue={subscriber.ringTimeout} errors={errors} />
        <Field label="Forward always to" name="forwardUnconditional" defaultValue={subscriber.forwardUnconditional ?? ""} errors={errors} />
        <Field label="Forward when busy to" name="forwardBusy" defaultValue={subscriber.forwardBusy ?? ""} errors={errors} />
        <Field label="Forward on no answer to" name="forwardNoAnswer" defaultValue={subscriber.forwardNoAnswer ?? ""} errors={errors} />
        <Field label="New facility PIN" name="pin" type="password" inputMode="numeric" autoComplete="new-password" errors={errors}
          hint={subscriber.hasPin ? "A PIN is set; leave blank to keep it." : "No PIN is set; leave blank for none."} />
      </div>
      {subscriber.hasPin && (
        <div className="field">
          <label><input type="checkbox" name="removePin" /> Remove the PIN</label>
        </div>
      )}
      <div className="field">
        <label><input type="checkbox" name="voicemailToEmail" defaultChecked={subscriber.voicemailToEmail} /> Voicemail to e-mail</label>
      </div>
      <div className="actions">
        <button type="button" onClick={onDone}>Close</button>
        <button type="submit" disabled={state.fetching}>Save</button>
      </div>
    </form>
  );
}
