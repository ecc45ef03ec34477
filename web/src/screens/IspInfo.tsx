// The ISP's information and theme, as given at sign-up. The API has no mutation
// that changes them yet, so this screen only shows them.
import { useQuery } from "urql";
import { graphql } from "../gql";
import { formatDate } from "../ui/format";

const IspsDocument = graphql(`
  query IspInfo {
    isps(first: 10) {
      edges {
        node {
          id
          name
          namespaceLabel
          namespaceDomain
          currency
          status
          createdAt
          address { line1 line2 city region postalCode country }
          contact { name email phone }
          theme { primaryColor secondaryColor logoUrl }
        }
      }
    }
  }
`);

export default function IspInfo() {
  const [{ data, fetching }] = useQuery({ query: IspsDocument });
  const isps = data?.isps.edges.map((edge) => edge.node) ?? [];
  return (
    <section>
      <h1>ISP</h1>
      {fetching && !data && <p role="status">Loading…</p>}
      {isps.map((isp) => (
        <article key={isp.id} className="card">
          <h2>{isp.name}</h2>
          <dl>
            <dt>Namespace</dt>
            <dd>{isp.namespaceDomain}</dd>
            <dt>Currency</dt>
            <dd>{isp.currency}</dd>
            <dt>Status</dt>
            <dd>{isp.status.toLowerCase()}</dd>
            <dt>Signed up</dt>
            <dd>{formatDate(isp.createdAt)}</dd>
            <dt>Contact</dt>
            <dd>{[isp.contact.name, isp.contact.email, isp.contact.phone].filter(Boolean).join(" · ") || "—"}</dd>
            <dt>Address</dt>
            <dd>
              {[isp.address.line1, isp.address.line2, isp.address.postalCode, isp.address.city, isp.address.region,
                isp.address.country].filter(Boolean).join(", ") || "—"}
            </dd>
            <dt>Colours</dt>
            <dd>
              {[isp.theme.primaryColor, isp.theme.secondaryColor].filter(Boolean).map((colour) => (
                <span key={colour} className="swatch" style={{ background: colour! }} aria-label={`colour ${colour}`}>
                  {colour}
                </span>
              ))}
              {!isp.theme.primaryColor && !isp.theme.secondaryColor && "the console's defaults"}
            </dd>
            <dt>Logo</dt>
            <dd>{isp.theme.logoUrl ? <img className="logo-large" src={isp.theme.logoUrl} alt={`${isp.name} logo`} /> : "none"}</dd>
          </dl>
        </article>
      ))}
    </section>
  );
}
