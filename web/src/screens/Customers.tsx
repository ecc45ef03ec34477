// An ISP's customers: search, status filter, ordering, cursor paging; create,
// edit and delete (ISP administrators). A customer administrator sees their own.
import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import { useDebounced } from "../ui/debounce";
import type { CustomersQuery } from "../gql/graphql";
import { AddressFields, ContactFields, addressInput, contactInput, ADDRESS_FIELDS, CONTACT_FIELDS } from "../ui/address";
import { ConfirmButton } from "../ui/confirm";
import { Field, Fieldset, formValues, GeneralErrors, Select } from "../ui/form";
import { none, useServicePlanChoices } from "../ui/options";
import { Pager, usePaging } from "../ui/paging";

const CustomersDocument = graphql(`
  query Customers($filter: CustomerFilter, $orderBy: CustomerOrder, $first: Int, $after: String, $last: Int, $before: String) {
    customers(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges {
        node {
          id
          name
          status
          maxSubscribers
          maxConcurrentCalls
          contact { name email phone }
          address { line1 line2 city region postalCode country }
          servicePlan { id name }
        }
      }
    }
  }
`);

const CreateDocument = graphql(`
  mutation CustomerCreate($input: CustomerCreateInput!) {
    customerCreate(input: $input) { customer { id name } errors { field code message } }
  }
`);
const UpdateDocument = graphql(`
  mutation CustomerUpdate($input: CustomerUpdateInput!) {
    customerUpdate(input: $input) { customer { id name status maxSubscribers maxConcurrentCalls } errors { field code message } }
  }
`);
const DeleteDocument = graphql(`
  mutation CustomerDelete($input: CustomerDeleteInput!) {
    customerDelete(input: $input) { deletedId errors { field code message } }
  }
`);

type Customer = CustomersQuery["customers"]["edges"][number]["node"];

const SHOWN = ["name", "maxSubscribers", "maxConcurrentCalls", "servicePlan", "status",
  ...CONTACT_FIELDS.map((f) => `contact.${f}`), ...ADDRESS_FIELDS.map((f) => `address.${f}`)];

export default function Customers() {
  const { canEdit, kind } = useSession();
  const paging = usePaging();
  const [search, setSearch] = useState("");
  const settledSearch = useDebounced(search);
  const [status, setStatus] = useState("");
  const [order, setOrder] = useState("NAME:ASC");
  const [editing, setEditing] = useState<Customer | "new" | null>(null);
  const [field, direction] = order.split(":") as ["NAME" | "CREATED_AT", "ASC" | "DESC"];
  const [{ data, fetching, error }] = useQuery({
    query: CustomersDocument,
    variables: {
      filter: { search: settledSearch || null, status: (status || null) as "ACTIVE" | "SUSPENDED" | null },
      orderBy: { field, direction },
      ...paging.vars,
    },
  });
  const [deleteState, remove] = useMutation(DeleteDocument);
  const [deleteErrors, setDeleteErrors] = useState<FormErrors>(noErrors);
  const mayEdit = canEdit && (kind === "ISP" || kind === "PLATFORM");
  return (
    <section>
      <h1>Customers</h1>
      <div className="toolbar" role="search">
        <label>
          Search <input type="search" value={search} onChange={(e) => { setSearch(e.target.value); paging.reset(); }} />
        </label>
        <label>
          Status{" "}
          <select value={status} onChange={(e) => { setStatus(e.target.value); paging.reset(); }}>
            <option value="">any</option>
            <option value="ACTIVE">active</option>
            <option value="SUSPENDED">suspended</option>
          </select>
        </label>
        <label>
          Order{" "}
          <select value={order} onChange={(e) => { setOrder(e.target.value); paging.reset(); }}>
            <option value="NAME:ASC">name</option>
            <option value="CREATED_AT:DESC">newest first</option>
            <option value="CREATED_AT:ASC">oldest first</option>
          </select>
        </label>
        {mayEdit && (
          <button type="button" onClick={() => setEditing("new")}>
            New customer
          </button>
        )}
      </div>
      <GeneralErrors errors={deleteErrors} extra={describeError(error ?? deleteState.error)} />
      {editing && <CustomerForm customer={editing === "new" ? null : editing} onDone={() => setEditing(null)} />}
      <table>
        <caption className="visually-hidden">Customers</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Service plan</th>
            <th scope="col">Max subscribers</th>
            <th scope="col">Max calls</th>
            <th scope="col">Contact</th>
            {mayEdit && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {data?.customers.edges.map(({ node }) => (
            <tr key={node.id}>
              <td>{node.name}</td>
              <td>{node.status.toLowerCase()}</td>
              <td>{node.servicePlan?.name ?? "—"}</td>
              <td>{node.maxSubscribers}</td>
              <td>{node.maxConcurrentCalls}</td>
              <td>{node.contact.email || node.contact.name || "—"}</td>
              {mayEdit && (
                <td className="actions">
                  <button type="button" onClick={() => setEditing(node)}>
                    Edit
                  </button>
                  <ConfirmButton
                    label="Delete"
                    title={`Delete customer ${node.name}?`}
                    onConfirm={async () => {
                      const result = await remove({ input: { id: node.id } });
                      setDeleteErrors(mapUserErrors(result.data?.customerDelete?.errors));
                    }}
                  >
                    <p>A customer that still has tenants cannot be deleted.</p>
                  </ConfirmButton>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {fetching && !data && <p role="status">Loading…</p>}
      <Pager pageInfo={data?.customers.pageInfo} totalCount={data?.customers.totalCount} paging={paging} noun="customers" />
    </section>
  );
}

function CustomerForm({ customer, onDone }: { customer: Customer | null; onDone: () => void }) {
  const servicePlans = useServicePlanChoices();
  const [createState, create] = useMutation(CreateDocument);
  const [updateState, update] = useMutation(UpdateDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  if (!servicePlans) return <p role="status">Loading…</p>;
  return (
    <form
      className="card"
      aria-label={customer ? `Edit ${customer.name}` : "New customer"}
      onSubmit={async (event) => {
        event.preventDefault();
        const values = formValues(event.currentTarget);
        const common = {
          name: values.name,
          maxSubscribers: Number(values.maxSubscribers),
          maxConcurrentCalls: Number(values.maxConcurrentCalls),
          servicePlan: values.servicePlan || null,
          status: values.status as "ACTIVE" | "SUSPENDED",
          contact: contactInput(values, "contact"),
          address: addressInput(values, "address"),
        };
        const result = customer
          ? (await update({ input: { id: customer.id, ...common } })).data?.customerUpdate
          : (await create({ input: common })).data?.customerCreate;
        setErrors(mapUserErrors(result?.errors, SHOWN));
        if (result?.customer) onDone();
      }}
    >
      <h2>{customer ? `Edit ${customer.name}` : "New customer"}</h2>
      <GeneralErrors errors={errors} extra={describeError(createState.error ?? updateState.error)} />
      <Field label="Name" name="name" required defaultValue={customer?.name} errors={errors} autoFocus />
      <Field label="Max subscribers" name="maxSubscribers" type="number" min={1} required
        defaultValue={customer?.maxSubscribers ?? 10} errors={errors} />
      <Field label="Max concurrent calls" name="maxConcurrentCalls" type="number" min={1} required
        defaultValue={customer?.maxConcurrentCalls ?? 5} errors={errors} />
      <Select label="Service plan" name="servicePlan" errors={errors} defaultValue={customer?.servicePlan?.id ?? ""}
        options={[none("not billed yet"), ...servicePlans]} />
      <Select label="Status" name="status" errors={errors} defaultValue={customer?.status ?? "ACTIVE"}
        options={[{ value: "ACTIVE", label: "active" }, { value: "SUSPENDED", label: "suspended" }]} />
      <Fieldset legend="Contact">
        <ContactFields prefix="contact" errors={errors} value={customer?.contact} />
      </Fieldset>
      <Fieldset legend="Address">
        <AddressFields prefix="address" errors={errors} value={customer?.address} />
      </Fieldset>
      <div className="actions">
        <button type="button" onClick={onDone}>Cancel</button>
        <button type="submit" disabled={createState.fetching || updateState.fetching}>Save</button>
      </div>
    </form>
  );
}
