// Tenants (virtual PBXs): filters, ordering, paging; ISP administrators create them.
import { useState } from "react";
import { Link } from "react-router-dom";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import { useDebounced } from "../ui/debounce";
import { Field, formValues, GeneralErrors, Select } from "../ui/form";
import { none, useCarrierChoices, useCustomerChoices, useDialPlanChoices } from "../ui/options";
import { Pager, usePaging } from "../ui/paging";

const TenantsDocument = graphql(`
  query Tenants($filter: TenantFilter, $orderBy: TenantOrder, $first: Int, $after: String, $last: Int, $before: String) {
    tenants(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node { id name domain status customerId createdAt } }
    }
  }
`);
const TenantCreateDocument = graphql(`
  mutation TenantCreate($input: TenantCreateInput!) {
    tenantCreate(input: $input) {
      tenant { id name domain provisioningUsername }
      provisioningPassword
      errors { field code message }
    }
  }
`);

const SHOWN = ["name", "domain", "customer", "carrier", "dialPlan", "defaultCountryCode", "defaultAreaCode"];

export default function Tenants() {
  const { canEdit, kind } = useSession();
  const customers = useCustomerChoices() ?? [];
  const paging = usePaging();
  const [search, setSearch] = useState("");
  const settledSearch = useDebounced(search);
  const [customer, setCustomer] = useState("");
  const [order, setOrder] = useState("NAME:ASC");
  const [field, direction] = order.split(":") as ["NAME" | "DOMAIN" | "CREATED_AT", "ASC" | "DESC"];
  const [{ data, error }] = useQuery({
    query: TenantsDocument,
    variables: { filter: { search: settledSearch || null, customer: customer || null }, orderBy: { field, direction }, ...paging.vars },
  });
  const [creating, setCreating] = useState(false);
  const customerName = new Map(customers.map((option) => [option.value, option.label]));
  const mayCreate = canEdit && (kind === "ISP" || kind === "PLATFORM");
  return (
    <section>
      <h1>Tenants</h1>
      <div className="toolbar" role="search">
        <label>
          Search <input type="search" value={search} onChange={(e) => { setSearch(e.target.value); paging.reset(); }} />
        </label>
        <label>
          Customer{" "}
          <select value={customer} onChange={(e) => { setCustomer(e.target.value); paging.reset(); }}>
            <option value="">any</option>
            {customers.map((option) => <option key={option.value} value={option.value}>{option.label}</option>)}
          </select>
        </label>
        <label>
          Order{" "}
          <select value={order} onChange={(e) => { setOrder(e.target.value); paging.reset(); }}>
            <option value="NAME:ASC">name</option>
            <option value="DOMAIN:ASC">domain</option>
            <option value="CREATED_AT:DESC">newest first</option>
          </select>
        </label>
        {mayCreate && <button type="button" onClick={() => setCreating(true)}>New tenant</button>}
      </div>
      <GeneralErrors errors={noErrors} extra={describeError(error)} />
      {creating && <TenantForm onDone={() => setCreating(false)} />}
      <table>
        <caption className="visually-hidden">Tenants</caption>
        <thead>
          <tr><th scope="col">Name</th><th scope="col">Domain</th><th scope="col">Customer</th><th scope="col">Status</th></tr>
        </thead>
        <tbody>
          {data?.tenants.edges.map(({ node }) => (
            <tr key={node.id}>
              <td><Link to={`/tenants/${encodeURIComponent(node.id)}`}>{node.name}</Link></td>
              <td>{node.domain}</td>
              <td>{customerName.get(node.customerId) ?? "—"}</td>
              <td>{node.status.toLowerCase()}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager pageInfo={data?.tenants.pageInfo} totalCount={data?.tenants.totalCount} paging={paging} noun="tenants" />
    </section>
  );
}

function TenantForm({ onDone }: { onDone: () => void }) {
  const customers = useCustomerChoices() ?? [];
  const carriers = useCarrierChoices() ?? [];
  const dialPlans = useDialPlanChoices() ?? [];
  const [state, create] = useMutation(TenantCreateDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [created, setCreated] = useState<{ id: string; domain: string; username: string; password: string } | null>(null);
  if (created) {
    return (
      <div className="card" role="status">
        <h2>Tenant {created.domain} created</h2>
        <p>Softphone provisioning credentials, shown this once:</p>
        <pre className="secret">{`${created.username}\n${created.password}`}</pre>
        <div className="actions">
          <Link to={`/tenants/${encodeURIComponent(created.id)}`}>Open the tenant</Link>
          <button type="button" onClick={onDone}>Close</button>
        </div>
      </div>
    );
  }
  return (
    <form
      className="card"
      aria-label="New tenant"
      onSubmit={async (event) => {
        event.preventDefault();
        const values = formValues(event.currentTarget);
        const payload = (
          await create({
            input: {
              name: values.name,
              domain: values.domain,
              customer: values.customer,
              carrier: values.carrier || null,
              dialPlan: values.dialPlan || null,
              defaultCountryCode: values.defaultCountryCode,
              defaultAreaCode: values.defaultAreaCode,
            },
          })
        ).data?.tenantCreate;
        setErrors(mapUserErrors(payload?.errors, SHOWN));
        if (payload?.tenant) {
          setCreated({
            id: payload.tenant.id,
            domain: payload.tenant.domain,
            username: payload.tenant.provisioningUsername,
            password: payload.provisioningPassword ?? "",
          });
        }
      }}
    >
      <h2>New tenant</h2>
      <GeneralErrors errors={errors} extra={describeError(state.error)} />
      <div className="grid2">
        <Field label="Name" name="name" required errors={errors} autoFocus />
        <Field label="Domain" name="domain" required errors={errors}
          hint="A name in your namespace (e.g. acme) or one of your verified domains." />
        <Select label="Customer" name="customer" required errors={errors} options={[none("choose"), ...customers]} />
        <Select label="Carrier" name="carrier" errors={errors} options={[none(), ...carriers]} />
        <Select label="Dial plan" name="dialPlan" errors={errors} options={[none(), ...dialPlans]} />
        <Field label="Default country code" name="defaultCountryCode" required placeholder="1" errors={errors} hint="Without +." />
        <Field label="Default area code" name="defaultAreaCode" errors={errors} />
      </div>
      <div className="actions">
        <button type="button" onClick={onDone}>Cancel</button>
        <button type="submit" disabled={state.fetching}>Create</button>
      </div>
    </form>
  );
}
