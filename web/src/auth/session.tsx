// Who is logged in, in which scope, and whether they may change things there.
import { createContext, useContext, type ReactNode } from "react";
import { Navigate, useLocation } from "react-router-dom";
import { useQuery } from "urql";
import { graphql } from "../gql";
import type { MeQuery } from "../gql/graphql";

export const MeDocument = graphql(`
  query Me {
    me {
      id
      email
      fullName
      grants {
        id
        scope
        role
        tenantId
        isp {
          id
          name
          namespaceLabel
          namespaceDomain
          currency
          theme { primaryColor secondaryColor logoUrl }
        }
      }
    }
  }
`);

export type Me = NonNullable<MeQuery["me"]>;
export type Grant = Me["grants"][number];
export type Kind = "PLATFORM" | "ISP" | "CUSTOMER" | "TENANT";

export type Session = {
  me: Me | null;
  loading: boolean;
  // The widest scope the person works in decides which screens the console shows.
  kind: Kind | null;
  // ADMIN at that scope; a VIEWER sees every screen of it without edit controls.
  canEdit: boolean;
  grant: Grant | null;
  refresh: () => void;
};

const ORDER: Kind[] = ["PLATFORM", "ISP", "CUSTOMER", "TENANT"];

export function sessionFrom(me: Me | null): Pick<Session, "kind" | "canEdit" | "grant"> {
  if (!me || me.grants.length === 0) return { kind: null, canEdit: false, grant: null };
  const grants = [...me.grants].sort(
    (a, b) =>
      ORDER.indexOf(a.scope) - ORDER.indexOf(b.scope) ||
      (a.role === "ADMIN" ? -1 : 1) - (b.role === "ADMIN" ? -1 : 1),
  );
  const grant = grants[0];
  return { kind: grant.scope, canEdit: grant.role === "ADMIN", grant };
}

const SessionContext = createContext<Session>({
  me: null,
  loading: true,
  kind: null,
  canEdit: false,
  grant: null,
  refresh: () => undefined,
});

export function SessionProvider({ children }: { children: ReactNode }) {
  const [{ data, fetching }, reexecute] = useQuery({ query: MeDocument, requestPolicy: "network-only" });
  const me = data?.me ?? null;
  const value: Session = {
    me,
    // While `me` is being (re)read and nobody is known yet, the answer is not in: just
    // after login or sign-up the previous answer (null) must not send the user away.
    loading: fetching && !me,
    ...sessionFrom(me),
    refresh: () => reexecute({ requestPolicy: "network-only" }),
  };
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export const useSession = (): Session => useContext(SessionContext);

// Screens behind a login: anonymous visitors go to /login and come back here after.
export function RequireLogin({ children }: { children: ReactNode }) {
  const session = useSession();
  const location = useLocation();
  if (session.loading) return <p role="status">Loading…</p>;
  if (!session.me) {
    const next = location.pathname + location.search;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return <>{children}</>;
}

// A safe place to return to after logging in: only paths of this console.
export function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}
