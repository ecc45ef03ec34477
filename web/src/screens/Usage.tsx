// A customer's usage for a period: calls, billed minutes and charges by destination,
// monthly charges and (for the ISP) cost and margin. From here an administrator
// exports the period's call records as CSV (a job, then a one-time download) and,
// at the ISP, rates the period again after a rate deck correction.
import { useCallback, useState } from "react";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import type { UserError } from "../api/errors";
import type { UsageSummaryQuery } from "../gql/graphql";
import { ConfirmButton } from "../ui/confirm";
import { Field, GeneralErrors, Select } from "../ui/form";
import { JobProgress, type FinishedJob } from "../ui/job";
import { useCustomerChoices } from "../ui/options";
import { dayAfter, dayStart, lower, thisMonth } from "../ui/period";

const UsageSummaryDocument = graphql(`
  query UsageSummary($customer: ID!, $from: DateTime!, $to: DateTime!) {
    usageSummary(customer: $customer, from: $from, to: $to) {
      start end currency calls answeredCalls billedSeconds billedMinutes usageCharges
      charges { legType destination legs billedSeconds charges cost }
      subscribers dids subscriberCharges didCharges monthlyCharges totalCharges
      usageCost didCost totalCost margin
      customer { id name }
    }
  }
`);
const ExportDocument = graphql(`
  mutation CallRecordsExport($input: CallRecordsExportInput!) {
    callRecordsExport(input: $input) { job { id } errors { field code message } }
  }
`);
const DownloadLinkDocument = graphql(`
  mutation CallRecordsDownloadLink($input: CallRecordsDownloadLinkInput!) {
    callRecordsDownloadLink(input: $input) { url expiresAt errors { field code message } }
  }
`);
const RerateDocument = graphql(`
  mutation CallRecordsRerate($input: CallRecordsRerateInput!) {
    callRecordsRerate(input: $input) { legs changed previousTotal newTotal errors { field code message } }
  }
`);

const PERIOD_FIELDS = ["customer", "from", "to"];
type Period = { customer: string; from: string; to: string };

export default function Usage() {
  const { kind, canEdit } = useSession();
  const customers = useCustomerChoices();
  const [draft, setDraft] = useState<Period>({ customer: "", ...thisMonth() });
  const [period, setPeriod] = useState<Period | null>(null);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const from = period && dayStart(period.from);
  const to = period && dayAfter(period.to);
  const [{ data, error, fetching }, refetch] = useQuery({
    query: UsageSummaryDocument,
    variables: { customer: period?.customer ?? "", from: from ?? "", to: to ?? "" },
    pause: !period || !period.customer || !from || !to,
    requestPolicy: "network-only",
  });
  // A period that ends before it starts is a GraphQL error (code INVALID): it belongs at "To".
  const invalid = error?.graphQLErrors.find((entry) => entry.extensions?.code === "INVALID");
  const shownErrors: FormErrors = invalid ? { fields: { ...errors.fields, to: invalid.message }, general: errors.general } : errors;
  const summary = data?.usageSummary;
  const customerOptions = customers && (customers.length === 1 || draft.customer ? customers : [{ value: "", label: "(choose)" }, ...customers]);
  return (
    <section>
      <h1>Usage</h1>
      <form
        className="card"
        aria-label="Usage period"
        onSubmit={(event) => {
          event.preventDefault();
          const chosen = { ...draft, customer: draft.customer || (customers?.length === 1 ? customers[0].value : "") };
          const fields: Record<string, string> = {};
          if (!chosen.customer) fields.customer = "Choose a customer.";
          if (!dayStart(chosen.from)) fields.from = "Enter a day.";
          if (!dayStart(chosen.to)) fields.to = "Enter a day.";
          setErrors({ fields, general: [] });
          if (Object.keys(fields).length === 0) {
            setPeriod(chosen);
            refetch({ requestPolicy: "network-only" });
          }
        }}
      >
        <GeneralErrors errors={shownErrors} />
        <div className="grid2">
          {customerOptions ? (
            <Select label="Customer" name="customer" errors={shownErrors} options={customerOptions}
              value={draft.customer || (customers?.length === 1 ? customers[0].value : "")}
              onChange={(event) => setDraft({ ...draft, customer: event.target.value })} />
          ) : (
            <p role="status">Loading customers…</p>
          )}
          <Field label="From" name="from" type="date" required errors={shownErrors} value={draft.from}
            onChange={(event) => setDraft({ ...draft, from: event.target.value })} />
          <Field label="To (included)" name="to" type="date" required errors={shownErrors} value={draft.to}
            hint="At most 93 days; days are UTC." onChange={(event) => setDraft({ ...draft, to: event.target.value })} />
        </div>
        <button type="submit">Show usage</button>
      </form>
      <GeneralErrors errors={noErrors} extra={invalid ? null : describeError(error)} />
      {period && fetching && !summary && <p role="status">Loading…</p>}
      {period && data && !summary && !fetching && <p role="alert">This customer's usage is not yours to see.</p>}
      {summary && period && (
        <>
          <Summary summary={summary} />
          {/* Exporting is reading (a viewer may); re-rating is for the ISP's administrators. */}
          <PeriodActions key={`${period.customer}/${from}/${to}`} customer={period.customer} from={from!} to={to!}
            rerate={canEdit && (kind === "PLATFORM" || kind === "ISP")}
            report={(list) => setErrors(mapUserErrors(list, PERIOD_FIELDS))} onRerated={() => refetch({ requestPolicy: "network-only" })} />
        </>
      )}
    </section>
  );
}

type SummaryData = NonNullable<UsageSummaryQuery["usageSummary"]>;

function Summary({ summary }: { summary: SummaryData }) {
  const money = (value: string | null | undefined) => (value == null ? "—" : `${value} ${summary.currency}`);
  const ispView = summary.totalCost != null || summary.margin != null;
  return (
    <div aria-label={`Usage of ${summary.customer.name}`} role="region">
      <h2>{summary.customer.name}</h2>
      <div className="card">
        <dl>
          <dt>Calls</dt><dd data-testid="usage-calls">{summary.calls} ({summary.answeredCalls} answered)</dd>
          <dt>Billed minutes</dt><dd>{summary.billedMinutes}</dd>
          <dt>Usage charges</dt><dd>{money(summary.usageCharges)}</dd>
          <dt>Subscribers</dt><dd>{summary.subscribers}: {money(summary.subscriberCharges)}</dd>
          <dt>Numbers</dt><dd>{summary.dids}: {money(summary.didCharges)}</dd>
          <dt>Monthly charges</dt><dd>{money(summary.monthlyCharges)}</dd>
          <dt>Total charges</dt><dd data-testid="usage-total"><strong>{money(summary.totalCharges)}</strong></dd>
          {ispView && (
            <>
              <dt>Usage cost</dt><dd>{money(summary.usageCost)}</dd>
              <dt>Numbers' cost</dt><dd>{money(summary.didCost)}</dd>
              <dt>Total cost</dt><dd>{money(summary.totalCost)}</dd>
              <dt>Margin</dt><dd>{money(summary.margin)}</dd>
            </>
          )}
        </dl>
        <p className="hint">Monthly charges are for one month at today's counts, not prorated.</p>
      </div>
      <h3>Charges by destination</h3>
      <table>
        <thead>
          <tr>
            <th scope="col">Type</th><th scope="col">Destination</th><th scope="col">Legs</th><th scope="col">Billed seconds</th>
            <th scope="col">Charges</th>{ispView && <th scope="col">Cost</th>}
          </tr>
        </thead>
        <tbody>
          {summary.charges.map((line, index) => (
            <tr key={index}>
              <td>{lower(line.legType)}</td><td>{line.destination || "—"}</td><td>{line.legs}</td><td>{line.billedSeconds}</td>
              <td>{money(line.charges)}</td>{ispView && <td>{money(line.cost)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
      {summary.charges.length === 0 && <p className="empty">No rated calls in this period.</p>}
    </div>
  );
}

// The period's errors (customer, from, to) belong to the period form: `report` puts them there.
export function PeriodActions({ customer, from, to, rerate, report, onRerated }: {
  customer: string; from: string; to: string; rerate: boolean;
  report: (errors: readonly UserError[]) => void; onRerated: () => void;
}) {
  const [exportState, startExport] = useMutation(ExportDocument);
  const [, downloadLink] = useMutation(DownloadLinkDocument);
  const [rerateState, startRerate] = useMutation(RerateDocument);
  const [job, setJob] = useState<string | null>(null);
  const [ready, setReady] = useState<string | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const onEnd = useCallback((finished: FinishedJob) => {
    if (finished.status === "SUCCEEDED") setReady(finished.id);
  }, []);
  const input = { customer, from, to };
  return (
    <div className="card" aria-label="This period's call records" role="region">
      <h3>This period's call records</h3>
      <GeneralErrors errors={noErrors} extra={describeError(exportState.error ?? rerateState.error)} />
      <div className="actions">
        <button
          type="button"
          disabled={exportState.fetching || (job !== null && ready === null)}
          onClick={async () => {
            setReady(null);
            const payload = (await startExport({ input })).data?.callRecordsExport;
            report(payload?.errors ?? []);
            if (payload?.job) setJob(payload.job.id);
          }}
        >
          Export CSV
        </button>
        {ready && (
          <button
            type="button"
            onClick={async () => {
              const payload = (await downloadLink({ input: { job: ready } })).data?.callRecordsDownloadLink;
              report(payload?.errors ?? []);
              if (payload?.url) {
                setReady(null);
                window.location.assign(payload.url);
              }
            }}
          >
            Download CSV
          </button>
        )}
        {rerate && (
          <ConfirmButton
            label="Re-rate the period"
            title="Rate this period's calls again?"
            onConfirm={async () => {
              setResult(null);
              const payload = (await startRerate({ input })).data?.callRecordsRerate;
              report(payload?.errors ?? []);
              if (payload && payload.errors.length === 0) {
                setResult(`${payload.legs} legs rated again, ${payload.changed} changed` +
                  (payload.previousTotal != null ? `; usage charges ${payload.previousTotal} before, ${payload.newTotal ?? "—"} now.` : "."));
                onRerated();
              }
            }}
          >
            <p>Every call of the period is priced again with the customer's plan and rate decks as they are now.
              Changed legs keep their previous rating as a revision; the run is audited.</p>
          </ConfirmButton>
        )}
      </div>
      {job && <JobProgress key={job} id={job} label="Call records export" onEnd={onEnd} />}
      {ready && <p role="status">The export is ready: the file downloads once, within a day.</p>}
      {result && <p role="status">{result}</p>}
    </div>
  );
}
