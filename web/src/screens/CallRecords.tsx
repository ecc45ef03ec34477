// Call records: the calls the viewer may see, with the API's filters, cursor paging
// and the filtered total; each row opens the record's legs and their rating.
import { useId, useState, type ChangeEvent } from "react";
import { Link } from "react-router-dom";
import { useQuery } from "urql";
import { describeError, noErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import type { CallDirection, CallRecordFilter, CallState, Service } from "../gql/graphql";
import { useDebounced } from "../ui/debounce";
import { GeneralErrors } from "../ui/form";
import { formatDate } from "../ui/format";
import { useCustomerChoices, useTenantChoices } from "../ui/options";
import { Pager, usePaging } from "../ui/paging";
import { dayAfter, dayStart, lower, seconds } from "../ui/period";

export const CallRecordsDocument = graphql(`
  query CallRecords($filter: CallRecordFilter, $first: Int, $after: String, $last: Int, $before: String) {
    callRecords(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges {
        node {
          id direction state caller callee setupAt durationSeconds sipCode sipReason
          tenant { id name }
        }
      }
    }
  }
`);

export type Filters = {
  from: string;
  to: string;
  customer: string;
  tenant: string;
  direction: string;
  legType: string;
  answered: string;
  state: string;
  number: string;
};

export const NO_FILTERS: Filters = { from: "", to: "", customer: "", tenant: "", direction: "", legType: "", answered: "", state: "", number: "" };

// The form's choices as the API's CallRecordFilter (blank: not filtered).
export function callRecordFilter(filters: Filters): CallRecordFilter {
  return {
    startedAfter: dayStart(filters.from),
    startedBefore: dayAfter(filters.to),
    customer: filters.customer || null,
    tenant: filters.tenant || null,
    direction: (filters.direction || null) as CallDirection | null,
    legType: (filters.legType || null) as Service | null,
    answered: filters.answered === "" ? null : filters.answered === "yes",
    state: (filters.state || null) as CallState | null,
    number: filters.number.trim() || null,
  };
}

const DIRECTIONS: CallDirection[] = ["OUTBOUND", "INBOUND", "INTERNAL"];
const SERVICES: Service[] = ["PSTN", "DID", "TOLL_FREE", "SIP"];
const STATES: CallState[] = ["ANSWERED", "COMPLETED", "FAILED", "END_UNKNOWN"];

const enumOptions = (values: readonly string[]) => values.map((value) => ({ value, label: lower(value) }));

// A filter's label names only it (a <label> wrapping a <select> would also read out its options).
function FilterSelect({ label, value, onChange, options }: {
  label: string; value: string; onChange: (event: ChangeEvent<HTMLSelectElement>) => void; options: readonly { value: string; label: string }[];
}) {
  const id = useId();
  return (
    <span className="filter">
      <label htmlFor={id}>{label}</label>{" "}
      <select id={id} value={value} onChange={onChange}>
        <option value="">(all)</option>
        {options.map((option) => <option key={option.value} value={option.value}>{option.label}</option>)}
      </select>
    </span>
  );
}

function FilterInput({ label, ...input }: { label: string } & React.InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  return (
    <span className="filter">
      <label htmlFor={id}>{label}</label> <input id={id} {...input} />
    </span>
  );
}

export default function CallRecords() {
  const { kind } = useSession();
  const paging = usePaging();
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const number = useDebounced(filters.number);
  const customers = useCustomerChoices(kind !== "PLATFORM" && kind !== "ISP");
  const tenants = useTenantChoices(kind === "TENANT" || kind === null);
  const [{ data, error, fetching }] = useQuery({
    query: CallRecordsDocument,
    variables: { filter: callRecordFilter({ ...filters, number }), ...paging.vars },
  });
  const set = (name: keyof Filters) => (event: { target: { value: string } }) => {
    setFilters((current) => ({ ...current, [name]: event.target.value }));
    paging.reset();
  };
  const records = data?.callRecords;
  const filtered = Object.values(filters).some(Boolean);
  return (
    <section>
      <h1>Call records</h1>
      <form className="toolbar" role="search" aria-label="Call record filters" onSubmit={(event) => event.preventDefault()}>
        <FilterInput label="From" type="date" value={filters.from} onChange={set("from")} />
        <FilterInput label="To (included)" type="date" value={filters.to} onChange={set("to")} />
        {customers && <FilterSelect label="Customer" value={filters.customer} onChange={set("customer")} options={customers} />}
        {tenants && <FilterSelect label="Tenant" value={filters.tenant} onChange={set("tenant")} options={tenants} />}
        <FilterSelect label="Direction" value={filters.direction} onChange={set("direction")} options={enumOptions(DIRECTIONS)} />
        <FilterSelect label="Leg type" value={filters.legType} onChange={set("legType")} options={enumOptions(SERVICES)} />
        <FilterSelect label="Answered" value={filters.answered} onChange={set("answered")}
          options={[{ value: "yes", label: "answered" }, { value: "no", label: "not answered" }]} />
        <FilterSelect label="State" value={filters.state} onChange={set("state")} options={enumOptions(STATES)} />
        <FilterInput label="Number" type="search" value={filters.number} placeholder="+44 or 201" onChange={set("number")} />
        {filtered && <button type="button" onClick={() => { setFilters(NO_FILTERS); paging.reset(); }}>Clear filters</button>}
      </form>
      <GeneralErrors errors={noErrors} extra={describeError(error)} />
      <table>
        <caption className="visually-hidden">Call records</caption>
        <thead>
          <tr>
            <th scope="col">Set up</th><th scope="col">Direction</th><th scope="col">Caller</th><th scope="col">Callee</th>
            <th scope="col">State</th><th scope="col">Duration</th><th scope="col">SIP</th><th scope="col">Tenant</th>
          </tr>
        </thead>
        <tbody>
          {records?.edges.map(({ node }) => (
            <tr key={node.id}>
              <td><Link to={`/call-records/${encodeURIComponent(node.id)}`}>{formatDate(node.setupAt)}</Link></td>
              <td>{lower(node.direction)}</td>
              <td>{node.caller}</td>
              <td>{node.callee}</td>
              <td>{lower(node.state)}</td>
              <td>{seconds(node.durationSeconds)}</td>
              <td>{node.sipCode} {node.sipReason}</td>
              <td>{node.tenant?.name ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {records && records.totalCount === 0 && !fetching && (
        <p className="empty">{filtered ? "No call matches these filters." : "No calls yet."}</p>
      )}
      <Pager pageInfo={records?.pageInfo} totalCount={records?.totalCount} paging={paging} noun="calls" />
    </section>
  );
}
