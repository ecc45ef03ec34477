// Linking a tenant to its Google Workspace or Microsoft Entra directory, in the
// API's steps: consent (the provider's page, then back here) -> discover (a job,
// followed live) -> preview, with edits, exclusions and conflicts -> confirm (a job
// that ends with the credentials sheet) -> download the sheet.
import { useCallback, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import type { DirectoryProvider } from "../gql/graphql";
import { ConfirmButton } from "../ui/confirm";
import { Field, fileText, formValues, GeneralErrors } from "../ui/form";
import { formatDate } from "../ui/format";
import { JobProgress, type FinishedJob } from "../ui/job";
import { Pager, usePaging } from "../ui/paging";
import { previewErrorMessages } from "./previewErrors";

const LinkDocument = graphql(`
  query DirectoryLink($tenant: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    directoryLink(tenant: $tenant) {
      id
      provider
      status
      sequentialStart
      lastSyncedAt
      lastErrorCode
      lastError
      syncIntervalMinutes
      brakePercent
      removalGraceDays
      heldChanges { action subscriber username email }
      preview(first: $first, after: $after, last: $last, before: $before) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { node { id email displayName department username alias callerId excluded conflicts linkSubscriber } }
      }
    }
  }
`);
const StartDocument = graphql(`
  mutation DirectoryLinkStart($input: DirectoryLinkStartInput!) {
    directoryLinkStart(input: $input) { consentUrl errors { field code message } }
  }
`);
const ServiceAccountLinkDocument = graphql(`
  mutation DirectoryServiceAccountLink($input: DirectoryServiceAccountLinkInput!) {
    directoryServiceAccountLink(input: $input) { directoryLink { id provider status } errors { field code message } }
  }
`);
const DiscoverDocument = graphql(`
  mutation DirectoryDiscover($input: DirectoryDiscoverInput!) {
    directoryDiscover(input: $input) { job { id } errors { field code message } }
  }
`);
const PreviewUpdateDocument = graphql(`
  mutation DirectoryPreviewUpdate($input: DirectoryPreviewUpdateInput!) {
    directoryPreviewUpdate(input: $input) {
      rows { id username alias displayName excluded conflicts }
      errors { field code message }
    }
  }
`);
const ConfirmDocument = graphql(`
  mutation DirectoryImportConfirm($input: DirectoryTenantInput!) {
    directoryImportConfirm(input: $input) { job { id } errors { field code message } }
  }
`);
const SyncNowDocument = graphql(`
  mutation DirectorySyncNow($input: DirectoryTenantInput!) {
    directorySyncNow(input: $input) { job { id } errors { field code message } }
  }
`);
const UnlinkDocument = graphql(`
  mutation DirectoryUnlink($input: DirectoryTenantInput!) {
    directoryUnlink(input: $input) { deletedId errors { field code message } }
  }
`);
const ScheduleDocument = graphql(`
  mutation DirectoryLinkSchedule($input: DirectoryLinkScheduleInput!) {
    directoryLinkSchedule(input: $input) {
      directoryLink { id syncIntervalMinutes brakePercent removalGraceDays }
      errors { field code message }
    }
  }
`);
const DecideDocument = graphql(`
  mutation DirectorySyncDecide($input: DirectorySyncDecideInput!) {
    directorySyncDecide(input: $input) { job { id } errors { field code message } }
  }
`);
const SheetLinkDocument = graphql(`
  mutation DirectorySheetLink($input: CredentialsDownloadLinkInput!) {
    credentialsDownloadLink(input: $input) { url errors { field code message } }
  }
`);

type Change = { username?: string; alias?: string | null; displayName?: string; excluded?: boolean };

export default function DirectoryWizard() {
  const tenant = useParams().id!;
  const [params] = useSearchParams();
  const { canEdit } = useSession();
  const paging = usePaging(50);
  const [{ data, error }, refetch] = useQuery({ query: LinkDocument, variables: { tenant, ...paging.vars } });
  const reload = useCallback(() => refetch({ requestPolicy: "network-only" }), [refetch]);
  const [, start] = useMutation(StartDocument);
  const [, discover] = useMutation(DiscoverDocument);
  const [, updatePreview] = useMutation(PreviewUpdateDocument);
  const [, confirm] = useMutation(ConfirmDocument);
  const [, syncNow] = useMutation(SyncNowDocument);
  const [, unlink] = useMutation(UnlinkDocument);
  const [, sheetLink] = useMutation(SheetLinkDocument);
  const [, schedule] = useMutation(ScheduleDocument);
  const [, decide] = useMutation(DecideDocument);
  const [scheduleErrors, setScheduleErrors] = useState<FormErrors>(noErrors);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [messages, setMessages] = useState<string[]>([]);
  const [changes, setChanges] = useState<Record<string, Change>>({});
  const [job, setJob] = useState<{ id: string; label: string } | null>(null);
  const [sheetJob, setSheetJob] = useState<string | null>(null);
  const link = data?.directoryLink ?? null;
  const rows = link?.preview.edges.map((edge) => edge.node) ?? [];

  const onJobEnd = useCallback(
    (finished: FinishedJob) => {
      reload();
      // The import ends by queueing the credentials sheet; follow that job next.
      if (finished.status === "SUCCEEDED" && finished.resultRef && job?.label === "Import") setSheetJob(finished.resultRef);
    },
    [reload, job],
  );
  const onSheetEnd = useCallback(
    async (finished: FinishedJob) => {
      if (finished.status !== "SUCCEEDED") return;
      const payload = (await sheetLink({ input: { job: finished.id } })).data?.credentialsDownloadLink;
      setErrors(mapUserErrors(payload?.errors));
      if (payload?.url) window.location.assign(payload.url);
    },
    [sheetLink],
  );

  const outcome = params.get("directory");
  return (
    <section>
      <h1>Directory link</h1>
      <p><Link to={`/tenants/${encodeURIComponent(tenant)}`}>Back to the tenant</Link></p>
      {outcome === "linked" && <p role="status">The directory's administrator consented: the link is made.</p>}
      {outcome === "error" && <p role="alert">The directory was not linked ({params.get("code") ?? "error"}).</p>}
      <GeneralErrors errors={{ fields: errors.fields, general: [...errors.general, ...messages] }} extra={describeError(error)} />

      {link && (
        <div className="card">
          <dl>
            <dt>Provider</dt><dd>{link.provider === "GOOGLE" ? "Google Workspace" : "Microsoft Entra"}</dd>
            <dt>Status</dt><dd>{link.status.toLowerCase().replace("_", " ")}</dd>
            <dt>Last sync</dt><dd>{formatDate(link.lastSyncedAt)}</dd>
            <dt>Re-synced every</dt><dd>{link.syncIntervalMinutes} minutes</dd>
            {link.lastErrorCode && (<><dt>Last error</dt><dd>{link.lastErrorCode}: {link.lastError}</dd></>)}
          </dl>
        </div>
      )}

      {canEdit && (!link || link.status === "PENDING_CONSENT" || link.status === "CONSENT_REVOKED") && (
        <form className="card" aria-label="Consent" onSubmit={async (event) => {
          event.preventDefault();
          const provider = formValues(event.currentTarget).provider as DirectoryProvider;
          const payload = (await start({ input: { tenant, provider } })).data?.directoryLinkStart;
          setErrors(mapUserErrors(payload?.errors, ["provider"]));
          if (payload?.consentUrl) window.location.assign(payload.consentUrl);
        }}>
          <h2>1. Consent</h2>
          <p>An administrator of the directory signs in at the provider and consents to read-only access; the browser comes back here.</p>
          <fieldset>
            <legend>Directory</legend>
            <label><input type="radio" name="provider" value="GOOGLE" defaultChecked /> Google Workspace</label>{" "}
            <label><input type="radio" name="provider" value="MICROSOFT" /> Microsoft Entra (Teams)</label>
          </fieldset>
          <button type="submit">Go to the provider's consent page</button>
        </form>
      )}
      {canEdit && (!link || link.status === "PENDING_CONSENT" || link.status === "CONSENT_REVOKED") && (
        <ServiceAccountForm tenant={tenant} onLinked={reload} />
      )}

      {canEdit && link && (link.status === "LINKED" || link.status === "ACTIVE") && (
        <form className="card" aria-label="Discover" onSubmit={async (event) => {
          event.preventDefault();
          const values = formValues(event.currentTarget);
          const payload = (await discover({ input: {
            tenant,
            sequentialStart: Number(values.sequentialStart || 1000),
            defaults: {
              countryCode: values["defaults.countryCode"] || null,
              areaCode: values["defaults.areaCode"] || null,
              concurrentCalls: Number(values["defaults.concurrentCalls"] || 2),
              ringTimeout: Number(values["defaults.ringTimeout"] || 20),
              voicemailToEmail: values["defaults.voicemailToEmail"] === "on",
            },
          } })).data?.directoryDiscover;
          setErrors(mapUserErrors(payload?.errors, ["sequentialStart", "defaults.countryCode", "defaults.areaCode",
            "defaults.concurrentCalls", "defaults.ringTimeout"]));
          if (payload?.job) setJob({ id: payload.job.id, label: "Discovery" });
        }}>
          <h2>2. Discover</h2>
          <p>Lists the directory into a preview; nothing is created yet.</p>
          <div className="grid2">
            <Field label="First extension" name="sequentialStart" type="number" min={0} defaultValue={link.sequentialStart ?? 1000} errors={errors} />
            <Field label="Country code" name="defaults.countryCode" placeholder="the tenant's" errors={errors} />
            <Field label="Area code" name="defaults.areaCode" placeholder="the tenant's" errors={errors} />
            <Field label="Concurrent calls" name="defaults.concurrentCalls" type="number" min={1} defaultValue={2} errors={errors} />
            <Field label="Ring timeout (s)" name="defaults.ringTimeout" type="number" min={1} defaultValue={20} errors={errors} />
          </div>
          <div className="field"><label><input type="checkbox" name="defaults.voicemailToEmail" /> Voicemail to e-mail</label></div>
          <button type="submit">Discover users</button>
        </form>
      )}

      {job && <JobProgress key={job.id} id={job.id} label={job.label} onEnd={onJobEnd} />}
      {sheetJob && <JobProgress key={sheetJob} id={sheetJob} label="Credentials sheet" onEnd={onSheetEnd} />}

      {link && rows.length > 0 && (
        <div>
          <h2>3. Preview</h2>
          <p>Change usernames, extensions or names, or leave users out; rows with conflicts must be resolved first.</p>
          <table>
            <caption className="visually-hidden">Directory users to import</caption>
            <thead>
              <tr><th scope="col">User</th><th scope="col">Department</th><th scope="col">Username</th><th scope="col">Extension</th>
                <th scope="col">Name</th><th scope="col">Caller ID</th><th scope="col">Import</th><th scope="col">Conflicts</th></tr>
            </thead>
            <tbody>
              {rows.map((row) => {
                const change = changes[row.id] ?? {};
                const set = (patch: Change) => setChanges((all) => ({ ...all, [row.id]: { ...all[row.id], ...patch } }));
                return (
                  <tr key={row.id}>
                    <td>{row.email}</td>
                    <td>{row.department}</td>
                    <td><input aria-label={`Username of ${row.email}`} disabled={!canEdit} value={change.username ?? row.username} onChange={(e) => set({ username: e.target.value })} /></td>
                    <td><input aria-label={`Extension of ${row.email}`} disabled={!canEdit} size={6} value={change.alias !== undefined ? change.alias ?? "" : row.alias ?? ""} onChange={(e) => set({ alias: e.target.value || null })} /></td>
                    <td><input aria-label={`Name of ${row.email}`} disabled={!canEdit} value={change.displayName ?? row.displayName} onChange={(e) => set({ displayName: e.target.value })} /></td>
                    <td>{row.callerId ?? "—"}</td>
                    <td><input type="checkbox" aria-label={`Import ${row.email}`} disabled={!canEdit} checked={!(change.excluded ?? row.excluded)} onChange={(e) => set({ excluded: !e.target.checked })} /></td>
                    <td>{row.conflicts.join("; ") || "—"}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <Pager pageInfo={link.preview.pageInfo} totalCount={link.preview.totalCount} paging={paging} noun="users" />
          {canEdit && (
            <div className="actions">
              <button type="button" disabled={Object.keys(changes).length === 0} onClick={async () => {
                const ids = Object.keys(changes);
                const current = new Map(rows.map((row) => [row.id, row]));
                const payload = (await updatePreview({ input: { tenant, rows: ids.map((id) => ({
                  id,
                  ...changes[id],
                  // alias and linkSubscriber are always sent (null there means "none"): unchanged, as they are.
                  alias: changes[id].alias !== undefined ? changes[id].alias : current.get(id)?.alias ?? null,
                  linkSubscriber: current.get(id)?.linkSubscriber ?? null,
                })) } })).data?.directoryPreviewUpdate;
                const problems = previewErrorMessages(payload?.errors ?? [], ids.map((id) => current.get(id)?.email ?? id));
                setMessages(problems);
                if (payload && payload.errors.length === 0) {
                  setChanges({});
                  reload();
                }
              }}>
                Save changes
              </button>
              <ConfirmButton label="Import" title="Import the previewed users?" onConfirm={async () => {
                const payload = (await confirm({ input: { tenant } })).data?.directoryImportConfirm;
                setErrors(mapUserErrors(payload?.errors));
                if (payload?.job) setJob({ id: payload.job.id, label: "Import" });
              }}>
                <p>Every user not left out becomes a subscriber; the credentials sheet downloads at the end.</p>
              </ConfirmButton>
            </div>
          )}
        </div>
      )}

      {link && link.heldChanges.length > 0 && (
        <div className="card" role="region" aria-label="Held changes">
          <h2>Changes held by the brake</h2>
          <p>A sync would disable or remove more than {link.brakePercent} % of the synced subscribers:</p>
          <ul>
            {link.heldChanges.map((change) => (
              <li key={`${change.action}-${change.subscriber}`}>{change.action.toLowerCase()} {change.username} ({change.email})</li>
            ))}
          </ul>
          {canEdit && (
            <div className="actions">
              {([true, false] as const).map((apply) => (
                <button key={String(apply)} type="button" onClick={async () => {
                  const payload = (await decide({ input: { tenant, confirm: apply } })).data?.directorySyncDecide;
                  setErrors(mapUserErrors(payload?.errors));
                  if (payload?.job) setJob({ id: payload.job.id, label: apply ? "Applying held changes" : "Dropping held changes" });
                  reload();
                }}>
                  {apply ? "Apply them" : "Drop them"}
                </button>
              ))}
            </div>
          )}
        </div>
      )}

      {canEdit && link && link.status !== "PENDING_CONSENT" && (
        <form className="card" aria-label="Schedule" onSubmit={async (event) => {
          event.preventDefault();
          const values = formValues(event.currentTarget);
          const payload = (await schedule({ input: {
            tenant,
            intervalMinutes: Number(values.intervalMinutes),
            brakePercent: Number(values.brakePercent),
            removalGraceDays: Number(values.removalGraceDays),
          } })).data?.directoryLinkSchedule;
          setScheduleErrors(mapUserErrors(payload?.errors, ["intervalMinutes", "brakePercent", "removalGraceDays"]));
        }}>
          <h2>Schedule</h2>
          <GeneralErrors errors={scheduleErrors} />
          <div className="grid2">
            <Field label="Sync every (minutes)" name="intervalMinutes" type="number" min={1} defaultValue={link.syncIntervalMinutes} errors={scheduleErrors} />
            <Field label="Brake (%)" name="brakePercent" type="number" min={0} max={100} defaultValue={link.brakePercent} errors={scheduleErrors}
              hint="A sync that would disable or remove more than this share waits for a decision." />
            <Field label="Removal grace (days)" name="removalGraceDays" type="number" min={0} defaultValue={link.removalGraceDays} errors={scheduleErrors} />
          </div>
          <button type="submit">Save schedule</button>
        </form>
      )}

      {canEdit && link && link.status !== "PENDING_CONSENT" && (
        <div className="card actions">
          <button type="button" onClick={async () => {
            const payload = (await syncNow({ input: { tenant } })).data?.directorySyncNow;
            setErrors(mapUserErrors(payload?.errors));
            if (payload?.job) setJob({ id: payload.job.id, label: "Sync" });
          }}>Sync now</button>
          <ConfirmButton label="Unlink" title="Remove the directory link?" onConfirm={async () => {
            const payload = (await unlink({ input: { tenant } })).data?.directoryUnlink;
            setErrors(mapUserErrors(payload?.errors));
            reload();
          }}>
            <p>Its subscribers stay, no longer synced.</p>
          </ConfirmButton>
        </div>
      )}
    </section>
  );
}

// Google only: a service account with domain-wide delegation instead of an
// administrator's consent. The key file is read in the browser and sent as text.
export function ServiceAccountForm({ tenant, onLinked }: { tenant: string; onLinked: () => void }) {
  const [state, link] = useMutation(ServiceAccountLinkDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  return (
    <form className="card" aria-label="Service account" onSubmit={async (event) => {
      event.preventDefault();
      const form = event.currentTarget;
      const file = (form.elements.namedItem("keyJson") as HTMLInputElement).files?.[0];
      if (!file) return;
      const keyJson = await fileText(file);
      const payload = (await link({ input: { tenant, keyJson, adminEmail: formValues(form).adminEmail } })).data
        ?.directoryServiceAccountLink;
      setErrors(mapUserErrors(payload?.errors, ["keyJson", "adminEmail"]));
      if (payload?.directoryLink) onLinked();
    }}>
      <h2>1. Or: a Google service account</h2>
      <p>For Google Workspace with domain-wide delegation: the service account's JSON key (stored encrypted) and an administrator of the domain it acts as.</p>
      <GeneralErrors errors={errors} extra={describeError(state.error)} />
      <Field label="Service account key (JSON)" name="keyJson" type="file" accept=".json,application/json" required errors={errors} />
      <Field label="Administrator e-mail" name="adminEmail" type="email" required errors={errors} />
      <button type="submit" disabled={state.fetching}>Link with the service account</button>
    </form>
  );
}
