// Dial plans of the ISP: ordered rewriting rules for what subscribers dial.
import { useState } from "react";
import { Link } from "react-router-dom";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import { useDebounced } from "../ui/debounce";
import { Field, formValues, GeneralErrors } from "../ui/form";
import { Pager, usePaging } from "../ui/paging";

const DialPlansDocument = graphql(`
  query DialPlans($filter: DialPlanFilter, $first: Int, $after: String, $last: Int, $before: String) {
    dialPlans(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node { id name description rules { id } } }
    }
  }
`);
const CreateDocument = graphql(`
  mutation DialPlanCreate($input: DialPlanCreateInput!) {
    dialPlanCreate(input: $input) { dialPlan { id name } errors { field code message } }
  }
`);

export default function DialPlans() {
  const { canEdit } = useSession();
  const paging = usePaging();
  const [search, setSearch] = useState("");
  const settledSearch = useDebounced(search);
  const [{ data, error }] = useQuery({ query: DialPlansDocument, variables: { filter: { search: settledSearch || null }, ...paging.vars } });
  const [creating, setCreating] = useState(false);
  const [state, create] = useMutation(CreateDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  return (
    <section>
      <h1>Dial plans</h1>
      <div className="toolbar" role="search">
        <label>
          Search <input type="search" value={search} onChange={(e) => { setSearch(e.target.value); paging.reset(); }} />
        </label>
        {canEdit && <button type="button" onClick={() => setCreating(true)}>New dial plan</button>}
      </div>
      <GeneralErrors errors={noErrors} extra={describeError(error)} />
      {creating && (
        <form className="card" aria-label="New dial plan" onSubmit={async (event) => {
          event.preventDefault();
          const values = formValues(event.currentTarget);
          const payload = (await create({ input: { name: values.name, description: values.description } })).data?.dialPlanCreate;
          setErrors(mapUserErrors(payload?.errors, ["name", "description"]));
          if (payload?.dialPlan) setCreating(false);
        }}>
          <h2>New dial plan</h2>
          <GeneralErrors errors={errors} extra={describeError(state.error)} />
          <Field label="Name" name="name" required errors={errors} autoFocus />
          <Field label="Description" name="description" errors={errors} />
          <div className="actions">
            <button type="button" onClick={() => setCreating(false)}>Cancel</button>
            <button type="submit" disabled={state.fetching}>Create</button>
          </div>
        </form>
      )}
      <table>
        <caption className="visually-hidden">Dial plans</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Description</th><th scope="col">Rules</th></tr></thead>
        <tbody>
          {data?.dialPlans.edges.map(({ node }) => (
            <tr key={node.id}>
              <td><Link to={`/dial-plans/${encodeURIComponent(node.id)}`}>{node.name}</Link></td>
              <td>{node.description}</td>
              <td>{node.rules.length}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager pageInfo={data?.dialPlans.pageInfo} totalCount={data?.dialPlans.totalCount} paging={paging} noun="dial plans" />
    </section>
  );
}
