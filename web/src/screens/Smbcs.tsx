// Session and media border controllers of the ISP or of its customers; tenants list
// the ones their phones use.
import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import { useDebounced } from "../ui/debounce";
import { ConfirmButton } from "../ui/confirm";
import { Field, formValues, GeneralErrors, Select } from "../ui/form";
import { none, useCustomerChoices } from "../ui/options";
import { Pager, usePaging } from "../ui/paging";

const SmbcsDocument = graphql(`
  query Smbcs($filter: SmbcFilter, $first: Int, $after: String, $last: Int, $before: String) {
    smbcs(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node { id name address region customer { id name } } }
    }
  }
`);
const CreateDocument = graphql(`
  mutation SmbcCreate($input: SmbcCreateInput!) {
    smbcCreate(input: $input) { smbc { id name } errors { field code message } }
  }
`);
const DeleteDocument = graphql(`
  mutation SmbcDelete($input: SmbcDeleteInput!) {
    smbcDelete(input: $input) { deletedId errors { field code message } }
  }
`);

export default function Smbcs() {
  const { canEdit } = useSession();
  const customers = useCustomerChoices(!canEdit);
  const paging = usePaging();
  const [search, setSearch] = useState("");
  const settledSearch = useDebounced(search);
  const [{ data, error }] = useQuery({ query: SmbcsDocument, variables: { filter: { search: settledSearch || null }, ...paging.vars } });
  const [state, create] = useMutation(CreateDocument);
  const [, remove] = useMutation(DeleteDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [rowErrors, setRowErrors] = useState<FormErrors>(noErrors);
  return (
    <section>
      <h1>SMBCs</h1>
      <div className="toolbar" role="search">
        <label>
          Search <input type="search" value={search} onChange={(e) => { setSearch(e.target.value); paging.reset(); }} />
        </label>
      </div>
      {canEdit && (
        <form className="card" aria-label="New SMBC" onSubmit={async (event) => {
          event.preventDefault();
          const form = event.currentTarget;
          const values = formValues(form);
          const payload = (await create({ input: { name: values.name, address: values.address, region: values.region, customer: values.customer || null } })).data?.smbcCreate;
          setErrors(mapUserErrors(payload?.errors, ["name", "address", "region", "customer"]));
          if (payload?.smbc) form.reset();
        }}>
          <h2>New SMBC</h2>
          <GeneralErrors errors={errors} extra={describeError(state.error)} />
          <div className="grid2">
            <Field label="Name" name="name" required errors={errors} />
            <Field label="Address" name="address" required placeholder="sbc1.example.com:5060" errors={errors}
              hint="IP or host name, with an optional port." />
            <Field label="Region" name="region" errors={errors} />
            <Select label="Customer" name="customer" errors={errors} options={[none("the ISP's own"), ...(customers ?? [])]} />
          </div>
          <button type="submit" disabled={state.fetching}>Create</button>
        </form>
      )}
      <GeneralErrors errors={rowErrors} extra={describeError(error)} />
      <table>
        <caption className="visually-hidden">SMBCs</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Address</th><th scope="col">Region</th><th scope="col">Customer</th>{canEdit && <th scope="col">Actions</th>}</tr></thead>
        <tbody>
          {data?.smbcs.edges.map(({ node }) => (
            <tr key={node.id}>
              <td>{node.name}</td><td>{node.address}</td><td>{node.region}</td><td>{node.customer?.name ?? "—"}</td>
              {canEdit && (
                <td>
                  <ConfirmButton label="Delete" title={`Delete SMBC ${node.name}?`} onConfirm={async () => {
                    const payload = (await remove({ input: { id: node.id } })).data?.smbcDelete;
                    setRowErrors(mapUserErrors(payload?.errors));
                  }} />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <Pager pageInfo={data?.smbcs.pageInfo} totalCount={data?.smbcs.totalCount} paging={paging} noun="SMBCs" />
    </section>
  );
}
