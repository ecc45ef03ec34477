// Service plans: monthly prices per subscriber and per DID, cut-off day, currency.
import { useState } from "react";
import { Link } from "react-router-dom";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import { useDebounced } from "../ui/debounce";
import { Field, formValues, GeneralErrors } from "../ui/form";
import { Pager, usePaging } from "../ui/paging";

const ServicePlansDocument = graphql(`
  query ServicePlans($filter: ServicePlanFilter, $first: Int, $after: String, $last: Int, $before: String) {
    servicePlans(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node { id name monthlyPricePerSubscriber monthlyPricePerDid invoiceCutoffDay currency prepaid } }
    }
  }
`);
const CreateDocument = graphql(`
  mutation ServicePlanCreate($input: ServicePlanCreateInput!) {
    servicePlanCreate(input: $input) { servicePlan { id name } errors { field code message } }
  }
`);

export const PLAN_FIELDS = ["name", "monthlyPricePerSubscriber", "monthlyPricePerDid", "invoiceCutoffDay", "currency", "prepaid"];

export default function ServicePlans() {
  const { canEdit } = useSession();
  const paging = usePaging();
  const [search, setSearch] = useState("");
  const settledSearch = useDebounced(search);
  const [{ data, error }] = useQuery({ query: ServicePlansDocument, variables: { filter: { search: settledSearch || null }, ...paging.vars } });
  const [creating, setCreating] = useState(false);
  const [state, create] = useMutation(CreateDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  return (
    <section>
      <h1>Service plans</h1>
      <div className="toolbar" role="search">
        <label>
          Search <input type="search" value={search} onChange={(e) => { setSearch(e.target.value); paging.reset(); }} />
        </label>
        {canEdit && <button type="button" onClick={() => setCreating(true)}>New service plan</button>}
      </div>
      <GeneralErrors errors={noErrors} extra={describeError(error)} />
      {creating && (
        <form className="card" aria-label="New service plan" onSubmit={async (event) => {
          event.preventDefault();
          const values = formValues(event.currentTarget);
          const payload = (await create({ input: planInput(values) })).data?.servicePlanCreate;
          setErrors(mapUserErrors(payload?.errors, PLAN_FIELDS));
          if (payload?.servicePlan) setCreating(false);
        }}>
          <h2>New service plan</h2>
          <GeneralErrors errors={errors} extra={describeError(state.error)} />
          <PlanFields errors={errors} />
          <div className="actions">
            <button type="button" onClick={() => setCreating(false)}>Cancel</button>
            <button type="submit" disabled={state.fetching}>Create</button>
          </div>
        </form>
      )}
      <table>
        <caption className="visually-hidden">Service plans</caption>
        <thead>
          <tr><th scope="col">Name</th><th scope="col">Per subscriber / month</th><th scope="col">Per DID / month</th>
            <th scope="col">Cut-off day</th><th scope="col">Prepaid</th></tr>
        </thead>
        <tbody>
          {data?.servicePlans.edges.map(({ node }) => (
            <tr key={node.id}>
              <td><Link to={`/service-plans/${encodeURIComponent(node.id)}`}>{node.name}</Link></td>
              <td>{node.monthlyPricePerSubscriber} {node.currency}</td>
              <td>{node.monthlyPricePerDid} {node.currency}</td>
              <td>{node.invoiceCutoffDay}</td>
              <td>{node.prepaid ? "yes" : "no"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager pageInfo={data?.servicePlans.pageInfo} totalCount={data?.servicePlans.totalCount} paging={paging} noun="service plans" />
    </section>
  );
}

type Plan = { name: string; monthlyPricePerSubscriber: string; monthlyPricePerDid: string; invoiceCutoffDay: number; currency: string; prepaid: boolean };

export function PlanFields({ errors, plan }: { errors: FormErrors; plan?: Plan }) {
  return (
    <div className="grid2">
      <Field label="Name" name="name" required defaultValue={plan?.name} errors={errors} />
      <Field label="Currency" name="currency" maxLength={3} defaultValue={plan?.currency} placeholder="the ISP's" errors={errors} />
      <Field label="Monthly price per subscriber" name="monthlyPricePerSubscriber" inputMode="decimal" defaultValue={plan?.monthlyPricePerSubscriber ?? "0"} errors={errors} />
      <Field label="Monthly price per DID" name="monthlyPricePerDid" inputMode="decimal" defaultValue={plan?.monthlyPricePerDid ?? "0"} errors={errors} />
      <Field label="Invoice cut-off day" name="invoiceCutoffDay" type="number" min={1} max={28} defaultValue={plan?.invoiceCutoffDay ?? 1} errors={errors} />
      <div className="field">
        <label><input type="checkbox" name="prepaid" defaultChecked={plan?.prepaid} /> Prepaid</label>
      </div>
    </div>
  );
}

export function planInput(values: Record<string, string>) {
  return {
    name: values.name,
    currency: values.currency || null,
    monthlyPricePerSubscriber: values.monthlyPricePerSubscriber || "0",
    monthlyPricePerDid: values.monthlyPricePerDid || "0",
    invoiceCutoffDay: Number(values.invoiceCutoffDay || 1),
    prepaid: values.prepaid === "on",
  };
}
