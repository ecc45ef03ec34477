// One service plan: its prices, its service deck (a rate per service) and its
// rate deck (a rate per destination prefix), the latter imported from CSV.
import { useState } from "react";
import { useNavigate, useParams } from "react-router-dom";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import type { RateDeckImportMode, Service } from "../gql/graphql";
import { ConfirmButton } from "../ui/confirm";
import { Field, formValues, GeneralErrors, Select } from "../ui/form";
import { JobProgress } from "../ui/job";
import { Pager, usePaging } from "../ui/paging";
import { PLAN_FIELDS, PlanFields, planInput } from "./ServicePlans";

const PlanDocument = graphql(`
  query ServicePlan($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    node(id: $id) {
      __typename
      ... on ServicePlan {
        id
        name
        monthlyPricePerSubscriber
        monthlyPricePerDid
        invoiceCutoffDay
        currency
        prepaid
        serviceDeck(first: 20) { edges { node { id service ratePerMinute minimumDuration increment delay validFrom validTo } } }
        rateDeck(first: $first, after: $after, last: $last, before: $before) {
          totalCount
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          edges { node { id prefix description ratePerMinute minimumDuration increment delay } }
        }
      }
    }
    rateDeckTemplate
  }
`);
const UpdateDocument = graphql(`
  mutation ServicePlanUpdate($input: ServicePlanUpdateInput!) {
    servicePlanUpdate(input: $input) { servicePlan { id name } errors { field code message } }
  }
`);
const DeleteDocument = graphql(`
  mutation ServicePlanDelete($input: ServicePlanDeleteInput!) {
    servicePlanDelete(input: $input) { deletedId errors { field code message } }
  }
`);
const ServiceEntryCreateDocument = graphql(`
  mutation ServiceDeckEntryCreate($input: ServiceDeckEntryCreateInput!) {
    serviceDeckEntryCreate(input: $input) { errors { field code message } }
  }
`);
const ServiceEntryDeleteDocument = graphql(`
  mutation ServiceDeckEntryDelete($input: DeckEntryDeleteInput!) {
    serviceDeckEntryDelete(input: $input) { errors { field code message } }
  }
`);
const ImportDocument = graphql(`
  mutation RateDeckImport($input: RateDeckImportInput!) {
    rateDeckImport(input: $input) { job { id } errors { field code message } }
  }
`);

const ENTRY_FIELDS = ["service", "ratePerMinute", "minimumDuration", "increment", "delay"];

export default function ServicePlanDetail() {
  const id = useParams().id!;
  const navigate = useNavigate();
  const { canEdit } = useSession();
  const paging = usePaging();
  const [{ data, fetching, error }, refetch] = useQuery({ query: PlanDocument, variables: { id, ...paging.vars } });
  const [, update] = useMutation(UpdateDocument);
  const [, remove] = useMutation(DeleteDocument);
  const [, createEntry] = useMutation(ServiceEntryCreateDocument);
  const [, deleteEntry] = useMutation(ServiceEntryDeleteDocument);
  const [, importDeck] = useMutation(ImportDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [entryErrors, setEntryErrors] = useState<FormErrors>(noErrors);
  const [importErrors, setImportErrors] = useState<FormErrors>(noErrors);
  const [jobId, setJobId] = useState<string | null>(null);
  const plan = data?.node?.__typename === "ServicePlan" ? data.node : null;
  if (fetching && !data) return <p role="status">Loading…</p>;
  if (!plan) return <section><h1>Service plan not found</h1><GeneralErrors errors={noErrors} extra={describeError(error)} /></section>;
  const reload = () => refetch({ requestPolicy: "network-only" });
  const template = data?.rateDeckTemplate ? `data:text/csv;charset=utf-8,${encodeURIComponent(data.rateDeckTemplate)}` : undefined;
  return (
    <section>
      <h1>Service plan {plan.name}</h1>
      <GeneralErrors errors={errors} />
      {canEdit ? (
        <form className="card" aria-label="Plan" onSubmit={async (event) => {
          event.preventDefault();
          const payload = (await update({ input: { id, ...planInput(formValues(event.currentTarget)) } })).data?.servicePlanUpdate;
          setErrors(mapUserErrors(payload?.errors, PLAN_FIELDS));
        }}>
          <PlanFields errors={errors} plan={plan} />
          <div className="actions">
            <button type="submit">Save</button>
            <ConfirmButton label="Delete plan" title={`Delete service plan ${plan.name}?`} onConfirm={async () => {
              const payload = (await remove({ input: { id } })).data?.servicePlanDelete;
              setErrors(mapUserErrors(payload?.errors));
              if (payload?.deletedId) navigate("/service-plans");
            }}>
              <p>Its decks go with it. A plan that customers are billed under cannot be deleted.</p>
            </ConfirmButton>
          </div>
        </form>
      ) : (
        <p>{plan.monthlyPricePerSubscriber} {plan.currency} per subscriber, {plan.monthlyPricePerDid} per DID a month.</p>
      )}
      <h2>Service deck</h2>
      <GeneralErrors errors={entryErrors} />
      <table>
        <thead><tr><th scope="col">Service</th><th scope="col">Rate / minute</th><th scope="col">Minimum (s)</th><th scope="col">Increment (s)</th><th scope="col">Delay (s)</th>{canEdit && <th scope="col">Actions</th>}</tr></thead>
        <tbody>
          {plan.serviceDeck.edges.map(({ node }) => (
            <tr key={node.id}>
              <td>{node.service}</td><td>{node.ratePerMinute}</td><td>{node.minimumDuration}</td><td>{node.increment}</td><td>{node.delay}</td>
              {canEdit && <td><ConfirmButton label="Delete" title={`Delete the ${node.service} rate?`} onConfirm={async () => {
                const payload = (await deleteEntry({ input: { id: node.id } })).data?.serviceDeckEntryDelete;
                setEntryErrors(mapUserErrors(payload?.errors));
                reload();
              }} /></td>}
            </tr>
          ))}
        </tbody>
      </table>
      {canEdit && (
        <form className="card" aria-label="New service rate" onSubmit={async (event) => {
          event.preventDefault();
          const values = formValues(event.currentTarget);
          const payload = (await createEntry({ input: {
            servicePlan: id,
            service: values.service as Service,
            ratePerMinute: values.ratePerMinute,
            minimumDuration: Number(values.minimumDuration || 0),
            increment: Number(values.increment || 1),
            delay: Number(values.delay || 0),
          } })).data?.serviceDeckEntryCreate;
          setEntryErrors(mapUserErrors(payload?.errors, ENTRY_FIELDS));
          if (payload && payload.errors.length === 0) reload();
        }}>
          <h3>Add a service rate</h3>
          <div className="grid2">
            <Select label="Service" name="service" errors={entryErrors} options={["PSTN", "DID", "TOLL_FREE", "SIP"].map((value) => ({ value, label: value }))} />
            <Field label="Rate per minute" name="ratePerMinute" inputMode="decimal" required errors={entryErrors} />
            <Field label="Minimum duration (s)" name="minimumDuration" type="number" min={0} defaultValue={0} errors={entryErrors} />
            <Field label="Increment (s)" name="increment" type="number" min={1} defaultValue={1} errors={entryErrors} />
            <Field label="Delay (s)" name="delay" type="number" min={0} defaultValue={0} errors={entryErrors} />
          </div>
          <button type="submit">Add rate</button>
        </form>
      )}
      <h2>Rate deck</h2>
      <table>
        <thead><tr><th scope="col">Prefix</th><th scope="col">Description</th><th scope="col">Rate / minute</th><th scope="col">Minimum</th><th scope="col">Increment</th><th scope="col">Delay</th></tr></thead>
        <tbody>
          {plan.rateDeck.edges.map(({ node }) => (
            <tr key={node.id}><td>{node.prefix}</td><td>{node.description}</td><td>{node.ratePerMinute}</td><td>{node.minimumDuration}</td><td>{node.increment}</td><td>{node.delay}</td></tr>
          ))}
        </tbody>
      </table>
      <Pager pageInfo={plan.rateDeck.pageInfo} totalCount={plan.rateDeck.totalCount} paging={paging} noun="rates" />
      {canEdit && (
        <form className="card" aria-label="Import the rate deck" onSubmit={async (event) => {
          event.preventDefault();
          const form = event.currentTarget;
          const file = (form.elements.namedItem("file") as HTMLInputElement).files?.[0];
          if (!file) return;
          const mode = formValues(form).mode as RateDeckImportMode;
          const payload = (await importDeck({ input: { servicePlan: id, file, mode } })).data?.rateDeckImport;
          setImportErrors(mapUserErrors(payload?.errors, ["file", "mode"]));
          if (payload?.job) setJobId(payload.job.id);
        }}>
          <h3>Import the rate deck from CSV</h3>
          <p>A file with any bad line is rejected whole. {template && <a href={template} download="rate-deck.csv">Template</a>}</p>
          <GeneralErrors errors={importErrors} />
          <Field label="CSV file" name="file" type="file" accept=".csv,text/csv" required errors={importErrors} />
          <Select label="Mode" name="mode" errors={importErrors}
            options={[{ value: "REPLACE", label: "replace the deck" }, { value: "MERGE", label: "merge into the deck" }]} />
          <button type="submit">Import</button>
          {jobId && <JobProgress key={jobId} id={jobId} label="Rate deck import" onEnd={reload} />}
        </form>
      )}
    </section>
  );
}
