// Every screen has its own URL (deep links); screens behind a login send an
// anonymous visitor to /login and bring them back after.
import { lazy, Suspense, useEffect } from "react";
import { Navigate, Route, Routes, useLocation } from "react-router-dom";
import { RequireLogin, SessionProvider, useSession } from "./auth/session";
import { Layout } from "./Layout";
import { Login } from "./screens/Login";
import { SignUp } from "./screens/SignUp";
import { SignUpComplete } from "./screens/SignUpComplete";
import { InvitationAccept } from "./screens/InvitationAccept";

// The first screen (login) stays small; the rest loads when first visited.
const IspInfo = lazy(() => import("./screens/IspInfo"));
const Customers = lazy(() => import("./screens/Customers"));
const Carriers = lazy(() => import("./screens/Carriers"));
const CarrierDetail = lazy(() => import("./screens/CarrierDetail"));
const Tenants = lazy(() => import("./screens/Tenants"));
const TenantDetail = lazy(() => import("./screens/TenantDetail"));
const Numbers = lazy(() => import("./screens/Numbers"));
const DialPlans = lazy(() => import("./screens/DialPlans"));
const DialPlanDetail = lazy(() => import("./screens/DialPlanDetail"));
const ServicePlans = lazy(() => import("./screens/ServicePlans"));
const ServicePlanDetail = lazy(() => import("./screens/ServicePlanDetail"));
const Administrators = lazy(() => import("./screens/Administrators"));
const Routing = lazy(() => import("./screens/Routing"));
const AuditLog = lazy(() => import("./screens/AuditLog"));
const Domains = lazy(() => import("./screens/Domains"));
const Smbcs = lazy(() => import("./screens/Smbcs"));
const ApiTokens = lazy(() => import("./screens/ApiTokens"));
const DirectoryWizard = lazy(() => import("./screens/DirectoryWizard"));
const CallRecords = lazy(() => import("./screens/CallRecords"));
const CallRecordDetail = lazy(() => import("./screens/CallRecordDetail"));
const Usage = lazy(() => import("./screens/Usage"));
const SipProxies = lazy(() => import("./screens/SipProxies"));

// Dispatched by the API client when a mutation answers UNAUTHENTICATED.
export const SESSION_ENDED = "wehostvoip:session-ended";

// Re-reads `me` on every navigation and when the window regains focus, so a
// session that ended (idle time, absolute expiry, logout elsewhere) sends the user
// to the login, with the way back in ?next=.
function SessionWatch() {
  const { refresh } = useSession();
  const location = useLocation();
  useEffect(() => refresh(), [location.pathname]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    window.addEventListener(SESSION_ENDED, refresh);
    window.addEventListener("focus", refresh);
    return () => {
      window.removeEventListener(SESSION_ENDED, refresh);
      window.removeEventListener("focus", refresh);
    };
  }, [refresh]);
  return null;
}

function Home() {
  const { kind, grant } = useSession();
  const location = useLocation();
  // The directory consent callback comes back to /?directory=linked|error&tenant=<id>.
  const params = new URLSearchParams(location.search);
  const tenant = params.get("tenant");
  if (params.get("directory") && tenant) {
    return <Navigate to={`/tenants/${encodeURIComponent(tenant)}/directory${location.search}`} replace />;
  }
  if (kind === "TENANT" && grant?.tenantId) return <Navigate to={`/tenants/${grant.tenantId}`} replace />;
  if (kind === "CUSTOMER") return <Navigate to="/customers" replace />;
  return <Navigate to="/isp" replace />;
}

export function App() {
  return (
    <SessionProvider>
      <SessionWatch />
      <Routes>
        <Route path="/login" element={<Login />} />
        <Route path="/join" element={<SignUp />} />
        <Route path="/join/complete" element={<SignUpComplete />} />
        <Route path="/join/invitation" element={<InvitationAccept />} />
        {/* The paths the e-mailed links use; where the server answers them itself, it wins. */}
        <Route path="/signup/complete" element={<SignUpComplete />} />
        <Route path="/invitation/accept" element={<InvitationAccept />} />
        <Route
          element={
            <RequireLogin>
              <Layout />
            </RequireLogin>
          }
        >
          <Route index element={<Home />} />
          <Route path="isp" element={<Lazy><IspInfo /></Lazy>} />
          <Route path="customers" element={<Lazy><Customers /></Lazy>} />
          <Route path="carriers" element={<Lazy><Carriers /></Lazy>} />
          <Route path="carriers/:id" element={<Lazy><CarrierDetail /></Lazy>} />
          <Route path="tenants" element={<Lazy><Tenants /></Lazy>} />
          <Route path="tenants/:id" element={<Lazy><TenantDetail /></Lazy>} />
          <Route path="tenants/:id/directory" element={<Lazy><DirectoryWizard /></Lazy>} />
          <Route path="numbers" element={<Lazy><Numbers /></Lazy>} />
          <Route path="dial-plans" element={<Lazy><DialPlans /></Lazy>} />
          <Route path="dial-plans/:id" element={<Lazy><DialPlanDetail /></Lazy>} />
          <Route path="service-plans" element={<Lazy><ServicePlans /></Lazy>} />
          <Route path="service-plans/:id" element={<Lazy><ServicePlanDetail /></Lazy>} />
          <Route path="administrators" element={<Lazy><Administrators /></Lazy>} />
          <Route path="routing" element={<Lazy><Routing /></Lazy>} />
          <Route path="audit" element={<Lazy><AuditLog /></Lazy>} />
          <Route path="domains" element={<Lazy><Domains /></Lazy>} />
          <Route path="smbcs" element={<Lazy><Smbcs /></Lazy>} />
          <Route path="api-tokens" element={<Lazy><ApiTokens /></Lazy>} />
          <Route path="call-records" element={<Lazy><CallRecords /></Lazy>} />
          <Route path="call-records/:id" element={<Lazy><CallRecordDetail /></Lazy>} />
          <Route path="usage" element={<Lazy><Usage /></Lazy>} />
          <Route path="sip-proxies" element={<Lazy><SipProxies /></Lazy>} />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </SessionProvider>
  );
}

function Lazy({ children }: { children: React.ReactNode }) {
  return <Suspense fallback={<p role="status">Loading…</p>}>{children}</Suspense>;
}

function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>There is nothing to see at this address, or it is not yours to see.</p>
    </section>
  );
}
