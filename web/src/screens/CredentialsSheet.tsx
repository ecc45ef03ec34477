// The tenant's credentials sheet: an export job followed live, then a one-time,
// five-minute download link for this administrator.
import { useCallback, useState } from "react";
import { useMutation } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { graphql } from "../gql";
import { GeneralErrors } from "../ui/form";
import { JobProgress, type FinishedJob } from "../ui/job";

const ExportDocument = graphql(`
  mutation TenantCredentialsExport($input: TenantCredentialsExportInput!) {
    tenantCredentialsExport(input: $input) { job { id status } errors { field code message } }
  }
`);
const LinkDocument = graphql(`
  mutation CredentialsDownloadLink($input: CredentialsDownloadLinkInput!) {
    credentialsDownloadLink(input: $input) { url expiresAt errors { field code message } }
  }
`);

export function CredentialsSheet({ tenantId }: { tenantId: string }) {
  const [exportState, exportSheet] = useMutation(ExportDocument);
  const [, link] = useMutation(LinkDocument);
  const [jobId, setJobId] = useState<string | null>(null);
  const [format, setFormat] = useState<"XLSX" | "CSV">("XLSX");
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [url, setUrl] = useState<string | null>(null);
  const onEnd = useCallback(
    async (job: FinishedJob) => {
      if (job.status !== "SUCCEEDED") return;
      const payload = (await link({ input: { job: job.id } })).data?.credentialsDownloadLink;
      setErrors(mapUserErrors(payload?.errors));
      if (payload?.url) {
        setUrl(payload.url);
        window.location.assign(payload.url);
      }
    },
    [link],
  );
  return (
    <div className="card">
      <h2>Credentials sheet</h2>
      <p>Username, extension, SIP domain, SIP password and SMBC of each subscriber. Creating it is audited.</p>
      <GeneralErrors errors={errors} extra={describeError(exportState.error)} />
      <div className="actions">
        <label>
          Format{" "}
          <select value={format} onChange={(e) => setFormat(e.target.value as "XLSX" | "CSV")}>
            <option value="XLSX">Excel (XLSX)</option>
            <option value="CSV">CSV</option>
          </select>
        </label>
        <button
          type="button"
          disabled={exportState.fetching}
          onClick={async () => {
            setUrl(null);
            const payload = (await exportSheet({ input: { tenant: tenantId, format } })).data?.tenantCredentialsExport;
            setErrors(mapUserErrors(payload?.errors));
            if (payload?.job) setJobId(payload.job.id);
          }}
        >
          Download credentials sheet
        </button>
      </div>
      {jobId && <JobProgress key={jobId} id={jobId} label="Credentials sheet" onEnd={onEnd} />}
      {url && <p role="status">The download has started. The link works once, for five minutes.</p>}
    </div>
  );
}
