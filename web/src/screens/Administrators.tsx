// People with roles in the scopes you oversee, their roles, and invitations: invite
// an ISP or tenant administrator or viewer, change a role, remove one, revoke an
// invitation. An ISP always keeps one ADMIN (the API refuses otherwise).
import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import { useDebounced } from "../ui/debounce";
import type { Role } from "../gql/graphql";
import { ConfirmButton } from "../ui/confirm";
import { Field, formValues, GeneralErrors, Select } from "../ui/form";
import { formatDate } from "../ui/format";
import { Pager, usePaging } from "../ui/paging";

const AdministratorsDocument = graphql(`
  query Administrators($search: String, $first: Int, $after: String, $last: Int, $before: String) {
    administrators(filter: { search: $search }, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node { id email fullName isActive lastLoginAt grants { id scope role tenantId isp { id name } } } }
    }
    invitations(filter: { pending: true }, first: 50) {
      edges { node { id email scope role expiresAt } }
    }
    tenants(first: 100) { edges { node { id domain } } }
  }
`);
const InviteDocument = graphql(`
  mutation AdministratorInvite($input: AdministratorInviteInput!) {
    administratorInvite(input: $input) { invitation { id email } errors { field code message } }
  }
`);
const RevokeDocument = graphql(`
  mutation InvitationRevoke($input: InvitationRevokeInput!) {
    invitationRevoke(input: $input) { errors { field code message } }
  }
`);
const GrantUpdateDocument = graphql(`
  mutation RoleGrantUpdate($input: RoleGrantUpdateInput!) {
    roleGrantUpdate(input: $input) { roleGrant { id role } errors { field code message } }
  }
`);
const GrantRemoveDocument = graphql(`
  mutation RoleGrantRemove($input: RoleGrantRemoveInput!) {
    roleGrantRemove(input: $input) { removedId errors { field code message } }
  }
`);

export default function Administrators() {
  const { canEdit, me, grant } = useSession();
  const paging = usePaging();
  const [search, setSearch] = useState("");
  const settledSearch = useDebounced(search);
  const [{ data, error }] = useQuery({ query: AdministratorsDocument, variables: { search: settledSearch || null, ...paging.vars } });
  const [, revoke] = useMutation(RevokeDocument);
  const [, updateGrant] = useMutation(GrantUpdateDocument);
  const [, removeGrant] = useMutation(GrantRemoveDocument);
  const [rowErrors, setRowErrors] = useState<FormErrors>(noErrors);
  const tenants = data?.tenants.edges.map((edge) => edge.node) ?? [];
  const tenantDomain = new Map(tenants.map((tenant) => [tenant.id, tenant.domain]));
  return (
    <section>
      <h1>Administrators</h1>
      <div className="toolbar" role="search">
        <label>
          Search <input type="search" value={search} onChange={(e) => { setSearch(e.target.value); paging.reset(); }} />
        </label>
      </div>
      <GeneralErrors errors={rowErrors} extra={describeError(error)} />
      {canEdit && <InviteForm tenants={tenants} ispId={grant?.isp?.id ?? null} />}
      <table>
        <caption className="visually-hidden">Administrators</caption>
        <thead>
          <tr><th scope="col">Name</th><th scope="col">E-mail</th><th scope="col">Last login</th><th scope="col">Roles</th></tr>
        </thead>
        <tbody>
          {data?.administrators.edges.map(({ node }) => (
            <tr key={node.id}>
              <td>{node.fullName}</td>
              <td>{node.email}</td>
              <td>{formatDate(node.lastLoginAt)}</td>
              <td>
                <ul className="plain">
                  {node.grants.map((grant) => {
                    const where = grant.scope === "TENANT" ? `tenant ${tenantDomain.get(grant.tenantId ?? "") ?? ""}` : `${grant.scope.toLowerCase()} ${grant.isp?.name ?? ""}`;
                    return (
                      <li key={grant.id} className="actions">
                        {canEdit && node.id !== me?.id ? (
                          <label>
                            <span className="visually-hidden">Role of {node.email} at {where}</span>
                            <select
                              value={grant.role}
                              onChange={async (event) => {
                                const payload = (await updateGrant({ input: { id: grant.id, role: event.target.value as Role } })).data?.roleGrantUpdate;
                                setRowErrors(mapUserErrors(payload?.errors));
                              }}
                            >
                              <option value="ADMIN">admin</option>
                              <option value="VIEWER">viewer</option>
                            </select>
                          </label>
                        ) : (
                          <span>{grant.role.toLowerCase()}</span>
                        )}
                        <span>{where}</span>
                        {canEdit && node.id !== me?.id && (
                          <ConfirmButton label="Remove" title={`Remove ${node.email}'s role at ${where}?`} onConfirm={async () => {
                            const payload = (await removeGrant({ input: { id: grant.id } })).data?.roleGrantRemove;
                            setRowErrors(mapUserErrors(payload?.errors));
                          }} />
                        )}
                      </li>
                    );
                  })}
                </ul>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager pageInfo={data?.administrators.pageInfo} totalCount={data?.administrators.totalCount} paging={paging} noun="administrators" />
      <h2>Pending invitations</h2>
      <table>
        <thead><tr><th scope="col">E-mail</th><th scope="col">Role</th><th scope="col">Expires</th>{canEdit && <th scope="col">Actions</th>}</tr></thead>
        <tbody>
          {data?.invitations.edges.map(({ node }) => (
            <tr key={node.id}>
              <td>{node.email}</td>
              <td>{node.scope.toLowerCase()} {node.role.toLowerCase()}</td>
              <td>{formatDate(node.expiresAt)}</td>
              {canEdit && (
                <td>
                  <ConfirmButton label="Revoke" title={`Revoke the invitation of ${node.email}?`} onConfirm={async () => {
                    const payload = (await revoke({ input: { id: node.id } })).data?.invitationRevoke;
                    setRowErrors(mapUserErrors(payload?.errors));
                  }} />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

// An invitation names its scope: a tenant, or else the ISP you administer.
function InviteForm({ tenants, ispId }: { tenants: readonly { id: string; domain: string }[]; ispId: string | null }) {
  const [state, invite] = useMutation(InviteDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [sent, setSent] = useState<string | null>(null);
  return (
    <form className="card" aria-label="Invite" onSubmit={async (event) => {
      event.preventDefault();
      const form = event.currentTarget;
      const values = formValues(form);
      setSent(null);
      const scope = values.tenant ? { tenant: values.tenant } : { isp: ispId };
      const payload = (await invite({ input: { email: values.email, role: values.role as Role, ...scope } })).data?.administratorInvite;
      setErrors(mapUserErrors(payload?.errors, ["email", "role", "tenant", "isp"]));
      if (payload?.invitation) {
        setSent(payload.invitation.email);
        form.reset();
      }
    }}>
      <h2>Invite someone</h2>
      {sent && <p role="status">Invitation sent to {sent}.</p>}
      <GeneralErrors errors={errors} extra={describeError(state.error)} />
      <div className="grid2">
        <Field label="E-mail" name="email" type="email" required errors={errors} />
        <Select label="Role" name="role" errors={errors} options={[{ value: "ADMIN", label: "administrator" }, { value: "VIEWER", label: "viewer (no changes)" }]} />
        <Select label="Where" name="tenant" errors={{ ...errors, fields: { ...errors.fields, tenant: errors.fields.tenant ?? errors.fields.isp } }}
          options={[{ value: "", label: "the whole ISP" }, ...tenants.map((tenant) => ({ value: tenant.id, label: `tenant ${tenant.domain}` }))]} />
      </div>
      <button type="submit" disabled={state.fetching}>Send invitation</button>
    </form>
  );
}
