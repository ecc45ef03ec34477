// The frame of every logged-in screen: the ISP's logo and colours, the screens
// this person's role may see, and logout.
import { useEffect, useRef } from "react";
import { NavLink, Outlet, useLocation } from "react-router-dom";
import { useMutation } from "urql";
import { useSession, type Kind } from "./auth/session";
import { graphql } from "./gql";
import { applyTheme } from "./ui/theme";

const LogoutDocument = graphql(`
  mutation Logout {
    logout { errors { field code message } }
  }
`);

const SCREENS: { to: string; label: string; kinds: Kind[] }[] = [
  { to: "/isp", label: "ISP", kinds: ["PLATFORM", "ISP"] },
  { to: "/customers", label: "Customers", kinds: ["PLATFORM", "ISP", "CUSTOMER"] },
  { to: "/carriers", label: "Carriers", kinds: ["PLATFORM", "ISP"] },
  { to: "/tenants", label: "Tenants", kinds: ["PLATFORM", "ISP", "CUSTOMER"] },
  { to: "/numbers", label: "Numbers", kinds: ["PLATFORM", "ISP", "TENANT"] },
  { to: "/dial-plans", label: "Dial plans", kinds: ["PLATFORM", "ISP"] },
  { to: "/service-plans", label: "Service plans", kinds: ["PLATFORM", "ISP"] },
  { to: "/domains", label: "Domains", kinds: ["PLATFORM", "ISP"] },
  { to: "/smbcs", label: "SMBCs", kinds: ["PLATFORM", "ISP", "CUSTOMER"] },
  { to: "/administrators", label: "Administrators", kinds: ["PLATFORM", "ISP", "CUSTOMER", "TENANT"] },
  { to: "/call-records", label: "Call records", kinds: ["PLATFORM", "ISP", "CUSTOMER", "TENANT"] },
  { to: "/usage", label: "Usage", kinds: ["PLATFORM", "ISP", "CUSTOMER"] },
  { to: "/sip-proxies", label: "SIP proxies", kinds: ["PLATFORM"] },
  { to: "/routing", label: "Routing", kinds: ["PLATFORM", "ISP", "CUSTOMER", "TENANT"] },
  { to: "/audit", label: "Audit log", kinds: ["PLATFORM", "ISP"] },
  { to: "/api-tokens", label: "API tokens", kinds: ["PLATFORM", "ISP", "CUSTOMER", "TENANT"] },
];

export function Layout() {
  const session = useSession();
  const [, logout] = useMutation(LogoutDocument);
  const isp = session.grant?.isp ?? null;
  useEffect(() => applyTheme(isp?.theme), [isp?.theme]);
  // After moving to another screen, keyboard and screen-reader users start at its content.
  const main = useRef<HTMLElement>(null);
  const { pathname } = useLocation();
  useEffect(() => main.current?.focus({ preventScroll: true }), [pathname]);
  const screens = SCREENS.filter((screen) => session.kind && screen.kinds.includes(session.kind));
  const tenantHome = session.kind === "TENANT" && session.grant?.tenantId;
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        {isp?.theme.logoUrl ? (
          <img className="logo" src={isp.theme.logoUrl} alt={`${isp.name} logo`} />
        ) : null}
        <span className="brand">{isp?.name ?? "WeHostVoIP"}</span>
        <span className="who">
          {session.me?.email} · {session.grant?.scope.toLowerCase()} {session.grant?.role.toLowerCase()}
        </span>
        <button
          type="button"
          onClick={async () => {
            await logout({});
            // A fresh page: nothing this person saw stays in the client's cache.
            window.location.assign("/login");
          }}
        >
          Log out
        </button>
      </header>
      <nav className="side" aria-label="Screens">
        <ul>
          {tenantHome && (
            <li>
              <NavLink to={`/tenants/${session.grant?.tenantId}`}>My tenant</NavLink>
            </li>
          )}
          {screens.map((screen) => (
            <li key={screen.to}>
              <NavLink to={screen.to}>{screen.label}</NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1} ref={main}>
        <Outlet />
      </main>
    </div>
  );
}
