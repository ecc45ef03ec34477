// Verified domains: an ISP proves it owns a domain with a TXT record, so tenants can
// live on it (directory sync needs that).
import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import { ConfirmButton } from "../ui/confirm";
import { Field, formValues, GeneralErrors } from "../ui/form";
import { formatDate } from "../ui/format";
import { Pager, usePaging } from "../ui/paging";

const DomainsDocument = graphql(`
  query VerifiedDomains($first: Int, $after: String, $last: Int, $before: String) {
    verifiedDomains(first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node { id fqdn status txtRecordName txtRecordValue lastCheckedAt verifiedAt } }
    }
  }
`);
const AddDocument = graphql(`
  mutation DomainAdd($input: DomainAddInput!) {
    domainAdd(input: $input) { verifiedDomain { id fqdn } errors { field code message } }
  }
`);
const VerifyDocument = graphql(`
  mutation DomainVerify($input: DomainVerifyInput!) {
    domainVerify(input: $input) {
      verifiedDomain { id status lastCheckedAt verifiedAt }
      check { outcome message }
      errors { field code message }
    }
  }
`);
const RemoveDocument = graphql(`
  mutation DomainRemove($input: DomainRemoveInput!) {
    domainRemove(input: $input) { deletedId errors { field code message } }
  }
`);

export default function Domains() {
  const { canEdit } = useSession();
  const paging = usePaging();
  const [{ data, error }] = useQuery({ query: DomainsDocument, variables: paging.vars });
  const [addState, add] = useMutation(AddDocument);
  const [, verify] = useMutation(VerifyDocument);
  const [, remove] = useMutation(RemoveDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [rowErrors, setRowErrors] = useState<FormErrors>(noErrors);
  const [checks, setChecks] = useState<Record<string, string>>({});
  return (
    <section>
      <h1>Verified domains</h1>
      <p>Publish the TXT record shown, then check it; the platform also re-checks by itself.</p>
      {canEdit && (
        <form className="card" aria-label="Add a domain" onSubmit={async (event) => {
          event.preventDefault();
          const form = event.currentTarget;
          const payload = (await add({ input: { fqdn: formValues(form).fqdn } })).data?.domainAdd;
          setErrors(mapUserErrors(payload?.errors, ["fqdn"]));
          if (payload?.verifiedDomain) form.reset();
        }}>
          <GeneralErrors errors={errors} extra={describeError(addState.error)} />
          <Field label="Domain" name="fqdn" required placeholder="acme.example.com" errors={errors} />
          <button type="submit" disabled={addState.fetching}>Add domain</button>
        </form>
      )}
      <GeneralErrors errors={rowErrors} extra={describeError(error)} />
      <table>
        <caption className="visually-hidden">Verified domains</caption>
        <thead>
          <tr><th scope="col">Domain</th><th scope="col">Status</th><th scope="col">TXT record</th><th scope="col">Last checked</th>{canEdit && <th scope="col">Actions</th>}</tr>
        </thead>
        <tbody>
          {data?.verifiedDomains.edges.map(({ node }) => (
            <tr key={node.id}>
              <td>{node.fqdn}</td>
              <td>{node.status.toLowerCase()}{node.verifiedAt ? ` since ${formatDate(node.verifiedAt)}` : ""}</td>
              <td><code>{node.txtRecordName}</code> TXT <code>{node.txtRecordValue}</code></td>
              <td>{formatDate(node.lastCheckedAt)}{checks[node.id] && <><br /><span role="status">{checks[node.id]}</span></>}</td>
              {canEdit && (
                <td className="actions">
                  <button type="button" onClick={async () => {
                    const payload = (await verify({ input: { id: node.id } })).data?.domainVerify;
                    setRowErrors(mapUserErrors(payload?.errors));
                    if (payload?.check) setChecks((all) => ({ ...all, [node.id]: payload.check!.message }));
                  }}>Check now</button>
                  <ConfirmButton label="Remove" title={`Remove ${node.fqdn}?`} onConfirm={async () => {
                    const payload = (await remove({ input: { id: node.id } })).data?.domainRemove;
                    setRowErrors(mapUserErrors(payload?.errors));
                  }}>
                    <p>A domain that tenants live on cannot be removed.</p>
                  </ConfirmButton>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <Pager pageInfo={data?.verifiedDomains.pageInfo} totalCount={data?.verifiedDomains.totalCount} paging={paging} noun="domains" />
    </section>
  );
}
