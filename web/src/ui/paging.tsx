// Cursor paging over the API's Relay connections, with the list's total.
import { useState } from "react";

export type PageVars = { first?: number; after?: string; last?: number; before?: string };
type PageInfo = { hasNextPage: boolean; hasPreviousPage: boolean; startCursor?: string | null; endCursor?: string | null };

export function usePaging(size = 25) {
  const [vars, setVars] = useState<PageVars>({ first: size });
  return {
    vars,
    reset: () => setVars({ first: size }),
    next: (info: PageInfo) => info.endCursor && setVars({ first: size, after: info.endCursor }),
    previous: (info: PageInfo) => info.startCursor && setVars({ last: size, before: info.startCursor }),
  };
}

export function Pager({
  pageInfo,
  totalCount,
  paging,
  noun,
}: {
  pageInfo?: PageInfo;
  totalCount?: number;
  paging: ReturnType<typeof usePaging>;
  noun: string;
}) {
  if (!pageInfo) return null;
  // After "previous", hasNextPage is not computed by the API (Relay); the cursor we came from says there is one.
  const hasNext = pageInfo.hasNextPage || Boolean(paging.vars.before);
  const hasPrevious = pageInfo.hasPreviousPage || Boolean(paging.vars.after);
  return (
    <nav className="pager" aria-label={`${noun} pages`}>
      <span role="status">
        {totalCount ?? 0} {noun}
      </span>
      <button type="button" disabled={!hasPrevious} onClick={() => paging.previous(pageInfo)}>
        Previous
      </button>
      <button type="button" disabled={!hasNext} onClick={() => paging.next(pageInfo)}>
        Next
      </button>
    </nav>
  );
}
