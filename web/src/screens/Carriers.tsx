// Carriers: IP-authorised SIP trunks of the ISP, each a set of gateways.
import { useState } from "react";
import { Link } from "react-router-dom";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import { useDebounced } from "../ui/debounce";
import { Field, formValues, GeneralErrors } from "../ui/form";
import { Pager, usePaging } from "../ui/paging";

const CarriersDocument = graphql(`
  query Carriers($filter: CarrierFilter, $first: Int, $after: String, $last: Int, $before: String) {
    carriers(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node { id name description gateways { id socketAddress } } }
    }
  }
`);

const CarrierCreateDocument = graphql(`
  mutation CarrierCreate($input: CarrierCreateInput!) {
    carrierCreate(input: $input) { carrier { id name } errors { field code message } }
  }
`);

export default function Carriers() {
  const { canEdit } = useSession();
  const paging = usePaging();
  const [search, setSearch] = useState("");
  const settledSearch = useDebounced(search);
  const [{ data, error }] = useQuery({
    query: CarriersDocument,
    variables: { filter: { search: settledSearch || null }, ...paging.vars },
  });
  const [creating, setCreating] = useState(false);
  return (
    <section>
      <h1>Carriers</h1>
      <div className="toolbar" role="search">
        <label>
          Search <input type="search" value={search} onChange={(e) => { setSearch(e.target.value); paging.reset(); }} />
        </label>
        {canEdit && <button type="button" onClick={() => setCreating(true)}>New carrier</button>}
      </div>
      <GeneralErrors errors={noErrors} extra={describeError(error)} />
      {creating && <CarrierForm onDone={() => setCreating(false)} />}
      <table>
        <caption className="visually-hidden">Carriers</caption>
        <thead>
          <tr><th scope="col">Name</th><th scope="col">Description</th><th scope="col">Gateways (failover order)</th></tr>
        </thead>
        <tbody>
          {data?.carriers.edges.map(({ node }) => (
            <tr key={node.id}>
              <td><Link to={`/carriers/${encodeURIComponent(node.id)}`}>{node.name}</Link></td>
              <td>{node.description}</td>
              <td>{node.gateways.map((gateway) => gateway.socketAddress).join(", ") || "none"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager pageInfo={data?.carriers.pageInfo} totalCount={data?.carriers.totalCount} paging={paging} noun="carriers" />
    </section>
  );
}

function CarrierForm({ onDone }: { onDone: () => void }) {
  const [state, create] = useMutation(CarrierCreateDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  return (
    <form
      className="card"
      aria-label="New carrier"
      onSubmit={async (event) => {
        event.preventDefault();
        const values = formValues(event.currentTarget);
        const payload = (await create({ input: { name: values.name, description: values.description } })).data?.carrierCreate;
        setErrors(mapUserErrors(payload?.errors, ["name", "description"]));
        if (payload?.carrier) onDone();
      }}
    >
      <h2>New carrier</h2>
      <GeneralErrors errors={errors} extra={describeError(state.error)} />
      <Field label="Name" name="name" required errors={errors} autoFocus />
      <Field label="Description" name="description" errors={errors} />
      <div className="actions">
        <button type="button" onClick={onDone}>Cancel</button>
        <button type="submit" disabled={state.fetching}>Create</button>
      </div>
    </form>
  );
}
