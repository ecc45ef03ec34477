// One call record: who called whom and how it ended, the gateways tried, and each
// leg with the rating that priced it (and the ratings re-rating replaced).
import { Link, useParams } from "react-router-dom";
import { useQuery } from "urql";
import { describeError, noErrors } from "../api/errors";
import { graphql } from "../gql";
import { GeneralErrors } from "../ui/form";
import { formatDate } from "../ui/format";
import { lower, seconds } from "../ui/period";

const CallRecordDocument = graphql(`
  query CallRecord($id: ID!) {
    node(id: $id) {
      __typename
      ... on CallRecord {
        id callId fromTag toTag direction state caller callee setupAt answeredAt endedAt durationSeconds sipCode sipReason
        attempts { gateway sipCode sipReason at }
        customer { id name }
        tenant { id name }
        subscriber { id username }
        gateway { id socketAddress }
        legs {
          id side legType direction number answered durationSeconds deck destination ratePerMinute minimumDuration
          increment delay billingSeconds price currency prepaid revision ratedAt cost
          revisions { revision deck ratePerMinute billingSeconds price cost ratedAt replacedAt }
        }
      }
    }
  }
`);

export default function CallRecordDetail() {
  const id = useParams().id!;
  const [{ data, fetching, error }] = useQuery({ query: CallRecordDocument, variables: { id } });
  const record = data?.node?.__typename === "CallRecord" ? data.node : null;
  if (fetching && !data) return <p role="status">Loading…</p>;
  if (!record) {
    return (
      <section>
        <h1>Call record not found</h1>
        <GeneralErrors errors={noErrors} extra={describeError(error)} />
        <p><Link to="/call-records">Back to the call records</Link></p>
      </section>
    );
  }
  const showCost = record.legs.some((leg) => leg.cost != null);
  return (
    <section>
      <h1>Call from {record.caller} to {record.callee}</h1>
      <p><Link to="/call-records">Back to the call records</Link></p>
      <div className="card">
        <dl>
          <dt>Direction</dt><dd>{lower(record.direction)}</dd>
          <dt>State</dt><dd>{lower(record.state)} ({record.sipCode} {record.sipReason})</dd>
          <dt>Set up</dt><dd>{formatDate(record.setupAt)}</dd>
          <dt>Answered</dt><dd>{formatDate(record.answeredAt)}</dd>
          <dt>Ended</dt><dd>{formatDate(record.endedAt)}</dd>
          <dt>Duration</dt><dd>{seconds(record.durationSeconds)}</dd>
          {record.customer && (<><dt>Customer</dt><dd>{record.customer.name}</dd></>)}
          {record.tenant && (<><dt>Tenant</dt><dd><Link to={`/tenants/${encodeURIComponent(record.tenant.id)}`}>{record.tenant.name}</Link></dd></>)}
          {record.subscriber && (<><dt>Subscriber</dt><dd>{record.subscriber.username}</dd></>)}
          {record.gateway && (<><dt>Gateway</dt><dd>{record.gateway.socketAddress}</dd></>)}
          <dt>SIP Call-ID</dt><dd><code>{record.callId}</code></dd>
        </dl>
      </div>
      {record.attempts.length > 0 && (
        <>
          <h2>Attempts</h2>
          <table>
            <thead><tr><th scope="col">Gateway</th><th scope="col">SIP</th><th scope="col">At</th></tr></thead>
            <tbody>
              {record.attempts.map((attempt, index) => (
                <tr key={index}><td>{attempt.gateway ?? "—"}</td><td>{attempt.sipCode} {attempt.sipReason}</td><td>{formatDate(attempt.at)}</td></tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <h2>Legs and rating</h2>
      <table>
        <caption className="visually-hidden">Legs and their rating</caption>
        <thead>
          <tr>
            <th scope="col">Side</th><th scope="col">Type</th><th scope="col">Number</th><th scope="col">Answered</th>
            <th scope="col">Duration</th><th scope="col">Deck</th><th scope="col">Destination</th><th scope="col">Rate / minute</th>
            <th scope="col">Minimum / increment / delay</th><th scope="col">Billed</th><th scope="col">Price</th>
            {showCost && <th scope="col">Cost</th>}<th scope="col">Revision</th>
          </tr>
        </thead>
        <tbody>
          {record.legs.map((leg) => (
            <tr key={leg.id}>
              <td>{leg.side}</td>
              <td>{lower(leg.legType)}</td>
              <td>{leg.number}</td>
              <td>{leg.answered ? "yes" : "no"}</td>
              <td>{seconds(leg.durationSeconds)}</td>
              <td>{lower(leg.deck)}</td>
              <td>{leg.destination || "—"}</td>
              <td>{leg.ratePerMinute}</td>
              <td>{leg.minimumDuration} / {leg.increment} / {leg.delay} s</td>
              <td>{seconds(leg.billingSeconds)}</td>
              <td>{leg.price} {leg.currency}{leg.prepaid ? " (prepaid)" : ""}</td>
              {showCost && <td>{leg.cost ?? "—"}</td>}
              <td>
                {leg.revision}
                {leg.revisions.length > 0 && (
                  <details>
                    <summary>Earlier ratings</summary>
                    <ul>
                      {leg.revisions.map((old) => (
                        <li key={old.revision}>
                          #{old.revision}: {lower(old.deck)}, {old.ratePerMinute}/min, {seconds(old.billingSeconds)}, {old.price}
                          {old.cost != null && ` (cost ${old.cost})`}; replaced {formatDate(old.replacedAt)}
                        </li>
                      ))}
                    </ul>
                  </details>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {record.legs.length === 0 && <p className="empty">Not rated yet.</p>}
    </section>
  );
}
