// The ISP's number inventory: state, type, prefix and tenant filters, ordering,
// cursor paging and totals; one number, a range, or a CSV import followed live;
// assignment to a tenant and release into quarantine.
import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import { useDebounced } from "../ui/debounce";
import type { NumberState, NumberType } from "../gql/graphql";
import { ConfirmButton } from "../ui/confirm";
import { Field, formValues, GeneralErrors, Select } from "../ui/form";
import { JobProgress } from "../ui/job";
import { Pager, usePaging } from "../ui/paging";

const NumbersDocument = graphql(`
  query Numbers($filter: NumberFilter, $orderBy: NumberOrder, $first: Int, $after: String, $last: Int, $before: String) {
    numbers(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node { id e164 numberType state price vendorPrice voice sms source tenantId quarantineUntil } }
    }
    numberInventorySummary { available assigned quarantine total monthlyRevenue monthlyCost monthlyMargin currency }
    tenants(first: 100) { edges { node { id name domain } } }
  }
`);
const CreateDocument = graphql(`
  mutation NumberCreate($input: NumberCreateInput!) {
    numberCreate(input: $input) { number { id e164 } errors { field code message } }
  }
`);
const RangeDocument = graphql(`
  mutation NumberRangeCreate($input: NumberRangeCreateInput!) {
    numberRangeCreate(input: $input) { count errors { field code message } }
  }
`);
const ImportDocument = graphql(`
  mutation NumberImport($input: NumberImportInput!) {
    numberImport(input: $input) { job { id } errors { field code message } }
  }
`);
const TemplateDocument = graphql(`
  query NumberImportTemplate { numberImportTemplate }
`);
const AssignDocument = graphql(`
  mutation NumberAssign($input: NumberAssignInput!) {
    numberAssign(input: $input) { number { id state tenantId } errors { field code message } }
  }
`);
const ReleaseDocument = graphql(`
  mutation NumberRelease($input: NumberReleaseInput!) {
    numberRelease(input: $input) { number { id state tenantId quarantineUntil } errors { field code message } }
  }
`);

export default function Numbers() {
  const { canEdit, kind } = useSession();
  const ispAdmin = canEdit && (kind === "ISP" || kind === "PLATFORM");
  const paging = usePaging();
  const [state, setState] = useState("");
  const [numberType, setNumberType] = useState("");
  const [prefix, setPrefix] = useState("");
  const settledPrefix = useDebounced(prefix);
  const [order, setOrder] = useState("E164:ASC");
  const [field, direction] = order.split(":") as ["E164" | "CREATED_AT" | "PRICE", "ASC" | "DESC"];
  const [{ data, error }, refetch] = useQuery({
    query: NumbersDocument,
    variables: {
      filter: { state: (state || null) as NumberState | null, numberType: (numberType || null) as NumberType | null, prefix: settledPrefix || null },
      orderBy: { field, direction },
      ...paging.vars,
    },
  });
  const [, assign] = useMutation(AssignDocument);
  const [, release] = useMutation(ReleaseDocument);
  const [rowErrors, setRowErrors] = useState<FormErrors>(noErrors);
  const [panel, setPanel] = useState<"one" | "range" | "import" | null>(null);
  const tenants = data?.tenants.edges.map((edge) => edge.node) ?? [];
  const tenantName = new Map(tenants.map((tenant) => [tenant.id, tenant.domain]));
  const summary = data?.numberInventorySummary;
  return (
    <section>
      <h1>Numbers</h1>
      {summary && (
        <p className="card" aria-label="Inventory summary">
          {summary.total} numbers: {summary.available} available, {summary.assigned} assigned, {summary.quarantine} in
          quarantine. Monthly revenue {summary.monthlyRevenue} {summary.currency}, cost {summary.monthlyCost}, margin{" "}
          {summary.monthlyMargin}.
        </p>
      )}
      <div className="toolbar" role="search">
        <label>
          State{" "}
          <select value={state} onChange={(e) => { setState(e.target.value); paging.reset(); }}>
            <option value="">any</option>
            <option value="AVAILABLE">available</option>
            <option value="ASSIGNED">assigned</option>
            <option value="QUARANTINE">quarantine</option>
          </select>
        </label>
        <label>
          Type{" "}
          <select value={numberType} onChange={(e) => { setNumberType(e.target.value); paging.reset(); }}>
            <option value="">any</option>
            <option value="LOCAL">local</option>
            <option value="TOLL_FREE">toll-free</option>
          </select>
        </label>
        <label>
          Starts with <input value={prefix} placeholder="+1212" onChange={(e) => { setPrefix(e.target.value); paging.reset(); }} />
        </label>
        <label>
          Order{" "}
          <select value={order} onChange={(e) => { setOrder(e.target.value); paging.reset(); }}>
            <option value="E164:ASC">number</option>
            <option value="PRICE:DESC">price, highest first</option>
            <option value="CREATED_AT:DESC">newest first</option>
          </select>
        </label>
        {ispAdmin && (
          <>
            <button type="button" onClick={() => setPanel("one")}>Add a number</button>
            <button type="button" onClick={() => setPanel("range")}>Add a range</button>
            <button type="button" onClick={() => setPanel("import")}>Import CSV</button>
          </>
        )}
      </div>
      <GeneralErrors errors={rowErrors} extra={describeError(error)} />
      {panel === "one" && <NumberForm onDone={() => setPanel(null)} />}
      {panel === "range" && <RangeForm onDone={() => setPanel(null)} />}
      {panel === "import" && <ImportForm onDone={() => { setPanel(null); refetch({ requestPolicy: "network-only" }); }} />}
      <table>
        <caption className="visually-hidden">Numbers</caption>
        <thead>
          <tr>
            <th scope="col">Number</th><th scope="col">Type</th><th scope="col">State</th><th scope="col">Tenant</th>
            <th scope="col">Price</th><th scope="col">Vendor price</th><th scope="col">Voice / SMS</th>{ispAdmin && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {data?.numbers.edges.map(({ node }) => (
            <tr key={node.id}>
              <td>{node.e164}</td>
              <td>{node.numberType === "TOLL_FREE" ? "toll-free" : "local"}</td>
              <td>{node.state.toLowerCase()}</td>
              <td>{node.tenantId ? tenantName.get(node.tenantId) ?? "—" : "—"}</td>
              <td>{node.price}</td>
              <td>{node.vendorPrice ?? "—"}</td>
              <td>{[node.voice && "voice", node.sms && "SMS"].filter(Boolean).join(", ")}</td>
              {ispAdmin && (
                <td className="actions">
                  {node.state === "AVAILABLE" && (
                    <label>
                      <span className="visually-hidden">Assign {node.e164} to</span>
                      <select
                        defaultValue=""
                        onChange={async (event) => {
                          if (!event.target.value) return;
                          const payload = (await assign({ input: { number: node.id, tenant: event.target.value } })).data?.numberAssign;
                          setRowErrors(mapUserErrors(payload?.errors));
                        }}
                      >
                        <option value="">assign to…</option>
                        {tenants.map((tenant) => <option key={tenant.id} value={tenant.id}>{tenant.domain}</option>)}
                      </select>
                    </label>
                  )}
                  {node.state === "ASSIGNED" && (
                    <ConfirmButton
                      label="Release"
                      title={`Release ${node.e164}?`}
                      onConfirm={async () => {
                        const payload = (await release({ input: { number: node.id } })).data?.numberRelease;
                        setRowErrors(mapUserErrors(payload?.errors));
                      }}
                    >
                      <p>The number leaves its tenant and stays in quarantine before it can be given again.</p>
                    </ConfirmButton>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <Pager pageInfo={data?.numbers.pageInfo} totalCount={data?.numbers.totalCount} paging={paging} noun="numbers" />
    </section>
  );
}

const PRICE_FIELDS = ["source", "numberType", "price", "vendorPrice"];

function PriceFields({ errors }: { errors: FormErrors }) {
  return (
    <>
      <Select label="Type" name="numberType" errors={errors}
        options={[{ value: "", label: "(from the number)" }, { value: "LOCAL", label: "local" }, { value: "TOLL_FREE", label: "toll-free" }]} />
      <Field label="Monthly price" name="price" inputMode="decimal" defaultValue="0" errors={errors} />
      <Field label="Vendor price" name="vendorPrice" inputMode="decimal" defaultValue="0" errors={errors} />
      <Field label="Source" name="source" errors={errors} hint="E.g. the carrier account it was allocated from." />
    </>
  );
}

function priceInput(values: Record<string, string>) {
  return {
    source: values.source ?? "",
    numberType: (values.numberType || null) as NumberType | null,
    price: values.price || "0",
    vendorPrice: values.vendorPrice || "0",
  };
}

function NumberForm({ onDone }: { onDone: () => void }) {
  const [state, create] = useMutation(CreateDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  return (
    <form className="card" aria-label="Add a number" onSubmit={async (event) => {
      event.preventDefault();
      const values = formValues(event.currentTarget);
      const payload = (await create({ input: { e164: values.e164, ...priceInput(values) } })).data?.numberCreate;
      setErrors(mapUserErrors(payload?.errors, ["e164", ...PRICE_FIELDS]));
      if (payload?.number) onDone();
    }}>
      <h2>Add a number</h2>
      <GeneralErrors errors={errors} extra={describeError(state.error)} />
      <div className="grid2">
        <Field label="Number (E.164)" name="e164" required placeholder="+12125550100" errors={errors} autoFocus />
        <PriceFields errors={errors} />
      </div>
      <div className="actions">
        <button type="button" onClick={onDone}>Cancel</button>
        <button type="submit" disabled={state.fetching}>Add</button>
      </div>
    </form>
  );
}

function RangeForm({ onDone }: { onDone: () => void }) {
  const [state, create] = useMutation(RangeDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [count, setCount] = useState<number | null>(null);
  return (
    <form className="card" aria-label="Add a range" onSubmit={async (event) => {
      event.preventDefault();
      const values = formValues(event.currentTarget);
      const payload = (await create({ input: { first: values.first, last: values.last, ...priceInput(values) } })).data?.numberRangeCreate;
      setErrors(mapUserErrors(payload?.errors, ["first", "last", ...PRICE_FIELDS]));
      if (payload?.count != null && payload.errors.length === 0) setCount(payload.count);
    }}>
      <h2>Add a range</h2>
      {count !== null && <p role="status">{count} numbers added.</p>}
      <GeneralErrors errors={errors} extra={describeError(state.error)} />
      <div className="grid2">
        <Field label="First number" name="first" required placeholder="+12125550100" errors={errors} autoFocus />
        <Field label="Last number" name="last" required placeholder="+12125550199" errors={errors} />
        <PriceFields errors={errors} />
      </div>
      <div className="actions">
        <button type="button" onClick={onDone}>Close</button>
        <button type="submit" disabled={state.fetching}>Add all</button>
      </div>
    </form>
  );
}

function ImportForm({ onDone }: { onDone: () => void }) {
  const [state, importFile] = useMutation(ImportDocument);
  const [{ data: template }] = useQuery({ query: TemplateDocument });
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [jobId, setJobId] = useState<string | null>(null);
  const templateHref = template ? `data:text/csv;charset=utf-8,${encodeURIComponent(template.numberImportTemplate)}` : undefined;
  return (
    <form className="card" aria-label="Import numbers" onSubmit={async (event) => {
      event.preventDefault();
      const file = (event.currentTarget.elements.namedItem("file") as HTMLInputElement).files?.[0];
      if (!file) return;
      const payload = (await importFile({ input: { file } })).data?.numberImport;
      setErrors(mapUserErrors(payload?.errors, ["file"]));
      if (payload?.job) setJobId(payload.job.id);
    }}>
      <h2>Import numbers from CSV</h2>
      <p>Every row is imported, or none when any row is wrong. {templateHref && <a href={templateHref} download="numbers.csv">Template</a>}</p>
      <GeneralErrors errors={errors} extra={describeError(state.error)} />
      <Field label="CSV file" name="file" type="file" accept=".csv,text/csv" required errors={errors} />
      {jobId && <JobProgress key={jobId} id={jobId} label="Import" />}
      <div className="actions">
        <button type="button" onClick={onDone}>Close</button>
        <button type="submit" disabled={state.fetching}>Import</button>
      </div>
    </form>
  );
}
