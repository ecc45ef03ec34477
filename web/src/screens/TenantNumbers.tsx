// A tenant's numbers and where each one rings: one of its subscribers, or nobody.
import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { graphql } from "../gql";
import { GeneralErrors } from "../ui/form";
import { Pager, usePaging } from "../ui/paging";

const TenantNumbersDocument = graphql(`
  query TenantNumbers($tenant: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    numbers(filter: { tenant: $tenant }, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node { id e164 numberType targetSubscriberId } }
    }
    subscribers(filter: { tenant: $tenant }, orderBy: { field: USERNAME, direction: ASC }, first: 100) {
      edges { node { id username alias } }
    }
  }
`);
const TargetSetDocument = graphql(`
  mutation NumberTargetSet($input: NumberTargetSetInput!) {
    numberTargetSet(input: $input) { number { id targetSubscriberId } errors { field code message } }
  }
`);

export function TenantNumbers({ tenantId, canEdit }: { tenantId: string; canEdit: boolean }) {
  const paging = usePaging();
  const [{ data, error }] = useQuery({ query: TenantNumbersDocument, variables: { tenant: tenantId, ...paging.vars } });
  const [, setTarget] = useMutation(TargetSetDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const subscribers = data?.subscribers.edges.map((edge) => edge.node) ?? [];
  const name = new Map(subscribers.map((s) => [s.id, s.alias ? `${s.username} (${s.alias})` : s.username]));
  return (
    <div>
      <h2>Numbers</h2>
      <GeneralErrors errors={errors} extra={describeError(error)} />
      <table>
        <caption className="visually-hidden">The tenant's numbers</caption>
        <thead><tr><th scope="col">Number</th><th scope="col">Type</th><th scope="col">Rings</th></tr></thead>
        <tbody>
          {data?.numbers.edges.map(({ node }) => (
            <tr key={node.id}>
              <td>{node.e164}</td>
              <td>{node.numberType === "TOLL_FREE" ? "toll-free" : "local"}</td>
              <td>
                {canEdit ? (
                  <label>
                    <span className="visually-hidden">Where {node.e164} rings</span>
                    <select
                      value={node.targetSubscriberId ?? ""}
                      onChange={async (event) => {
                        const payload = (await setTarget({ input: { number: node.id, subscriber: event.target.value || null } })).data?.numberTargetSet;
                        setErrors(mapUserErrors(payload?.errors));
                      }}
                    >
                      <option value="">nobody</option>
                      {subscribers.map((s) => <option key={s.id} value={s.id}>{name.get(s.id)}</option>)}
                    </select>
                  </label>
                ) : (
                  (node.targetSubscriberId && name.get(node.targetSubscriberId)) || "nobody"
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager pageInfo={data?.numbers.pageInfo} totalCount={data?.numbers.totalCount} paging={paging} noun="numbers" />
    </div>
  );
}
