// Your personal API tokens for automation: the secret is shown once, when created;
// the API keeps only its digest. A token acts with your current roles.
import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { graphql } from "../gql";
import { ConfirmButton } from "../ui/confirm";
import { Field, formValues, GeneralErrors } from "../ui/form";
import { formatDate } from "../ui/format";
import { Pager, usePaging } from "../ui/paging";

const ApiTokensDocument = graphql(`
  query ApiTokens($first: Int, $after: String, $last: Int, $before: String) {
    apiTokens(first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node { id name tokenPrefix createdAt expiresAt lastUsedAt revokedAt } }
    }
  }
`);
const CreateDocument = graphql(`
  mutation ApiTokenCreate($input: ApiTokenCreateInput!) {
    apiTokenCreate(input: $input) { apiToken { id name } token errors { field code message } }
  }
`);
const RevokeDocument = graphql(`
  mutation ApiTokenRevoke($input: ApiTokenRevokeInput!) {
    apiTokenRevoke(input: $input) { apiToken { id revokedAt } errors { field code message } }
  }
`);

export default function ApiTokens() {
  const paging = usePaging();
  const [{ data, error }] = useQuery({ query: ApiTokensDocument, variables: paging.vars });
  const [state, create] = useMutation(CreateDocument);
  const [, revoke] = useMutation(RevokeDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [rowErrors, setRowErrors] = useState<FormErrors>(noErrors);
  const [secret, setSecret] = useState<string | null>(null);
  return (
    <section>
      <h1>API tokens</h1>
      <p>Send a token as <code>Authorization: Bearer …</code>; it acts with your roles, as they are when it is used.</p>
      <form className="card" aria-label="New API token" onSubmit={async (event) => {
        event.preventDefault();
        const form = event.currentTarget;
        const values = formValues(form);
        const payload = (await create({ input: { name: values.name, expiresInDays: values.expiresInDays ? Number(values.expiresInDays) : null } })).data?.apiTokenCreate;
        setErrors(mapUserErrors(payload?.errors, ["name", "expiresInDays"]));
        if (payload?.token) {
          setSecret(payload.token);
          form.reset();
        }
      }}>
        <GeneralErrors errors={errors} extra={describeError(state.error)} />
        {secret && (
          <div role="status">
            <p>Your new token, shown this once: copy it now.</p>
            <pre className="secret" aria-label="Secret of the new token">{secret}</pre>
          </div>
        )}
        <div className="grid2">
          <Field label="Name" name="name" required errors={errors} />
          <Field label="Expires in (days)" name="expiresInDays" type="number" min={1} placeholder="never" errors={errors} />
        </div>
        <button type="submit" disabled={state.fetching}>Create token</button>
      </form>
      <GeneralErrors errors={rowErrors} extra={describeError(error)} />
      <table>
        <caption className="visually-hidden">API tokens</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Starts with</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col">Actions</th></tr></thead>
        <tbody>
          {data?.apiTokens.edges.map(({ node }) => (
            <tr key={node.id}>
              <td>{node.name}</td>
              <td><code>{node.tokenPrefix}…</code></td>
              <td>{formatDate(node.createdAt)}</td>
              <td>{formatDate(node.expiresAt)}</td>
              <td>{formatDate(node.lastUsedAt)}</td>
              <td>
                {node.revokedAt ? `revoked ${formatDate(node.revokedAt)}` : (
                  <ConfirmButton label="Revoke" title={`Revoke the token ${node.name}?`} onConfirm={async () => {
                    const payload = (await revoke({ input: { id: node.id } })).data?.apiTokenRevoke;
                    setRowErrors(mapUserErrors(payload?.errors));
                  }}>
                    <p>Whatever uses it stops working at once.</p>
                  </ConfirmButton>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager pageInfo={data?.apiTokens.pageInfo} totalCount={data?.apiTokens.totalCount} paging={paging} noun="tokens" />
    </section>
  );
}
