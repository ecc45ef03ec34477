// Live progress of a background job over the jobProgress subscription
// (graphql-transport-ws); calls onEnd once with the finished job.
import { useEffect, useRef } from "react";
import { useSubscription } from "urql";
import { graphql } from "../gql";
import type { JobProgressSubscription } from "../gql/graphql";

const JobProgressDocument = graphql(`
  subscription JobProgress($id: ID!) {
    jobProgress(id: $id) {
      id
      kind
      status
      progress { done total }
      errorCode
      resultRef
      errors { message }
    }
  }
`);

export type FinishedJob = JobProgressSubscription["jobProgress"];
const ENDED = ["SUCCEEDED", "FAILED", "CANCELLED", "NEEDS_CONFIRMATION"];

export function JobProgress({ id, label, onEnd }: { id: string; label: string; onEnd?: (job: FinishedJob) => void }) {
  const [{ data, error }] = useSubscription({ query: JobProgressDocument, variables: { id } });
  const job = data?.jobProgress;
  const reported = useRef(false);
  useEffect(() => {
    if (job && ENDED.includes(job.status) && !reported.current) {
      reported.current = true;
      onEnd?.(job);
    }
  }, [job, onEnd]);
  const total = job?.progress.total ?? undefined;
  return (
    <div className="card" aria-live="polite">
      <p>
        {label}: <strong>{job ? job.status.toLowerCase().replace("_", " ") : "queued"}</strong>
        {job?.progress.total != null && ` (${job.progress.done} of ${job.progress.total})`}
      </p>
      {!job || job.status === "RUNNING" || job.status === "QUEUED" ? (
        <progress aria-label={`${label} progress`} value={job?.progress.done} max={total} />
      ) : null}
      {job?.status === "FAILED" && (
        <div role="alert" className="errors">
          <p>Failed{job.errorCode ? ` (${job.errorCode})` : ""}.</p>
          {job.errors.slice(-1).map((entry, index) => (
            <pre key={index}>{entry.message}</pre>
          ))}
        </div>
      )}
      {error && <p role="alert">Progress is not available: {error.message}</p>}
    </div>
  );
}
