// One carrier: its details and its gateways in failover order (reordered with the
// Up/Down buttons, which are keyboard operable).
import { useState } from "react";
import { useNavigate, useParams } from "react-router-dom";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import { ConfirmButton } from "../ui/confirm";
import { Field, formValues, GeneralErrors } from "../ui/form";
import { moved } from "../ui/reorder";

const CarrierDocument = graphql(`
  query Carrier($id: ID!) {
    node(id: $id) {
      __typename
      ... on Carrier {
        id
        name
        description
        gateways { id position description socketAddress strip prefix fromUser fromDisplay addPai }
      }
    }
  }
`);
const CarrierUpdateDocument = graphql(`
  mutation CarrierUpdate($input: CarrierUpdateInput!) {
    carrierUpdate(input: $input) { carrier { id name description } errors { field code message } }
  }
`);
const CarrierDeleteDocument = graphql(`
  mutation CarrierDelete($input: CarrierDeleteInput!) {
    carrierDelete(input: $input) { deletedId errors { field code message } }
  }
`);
const GatewayCreateDocument = graphql(`
  mutation GatewayCreate($input: GatewayCreateInput!) {
    gatewayCreate(input: $input) { gateway { id } errors { field code message } }
  }
`);
const GatewayDeleteDocument = graphql(`
  mutation GatewayDelete($input: GatewayDeleteInput!) {
    gatewayDelete(input: $input) { deletedId errors { field code message } }
  }
`);
const GatewaysReorderDocument = graphql(`
  mutation GatewaysReorder($input: GatewaysReorderInput!) {
    gatewaysReorder(input: $input) {
      carrier { id gateways { id position } }
      errors { field code message }
    }
  }
`);

const VendorRatesImportDocument = graphql(`
  mutation VendorRatesImport($input: VendorRatesImportInput!) {
    vendorRatesImport(input: $input) { carrier { id } entries errors { field code message } }
  }
`);
const RateDeckTemplateDocument = graphql(`
  query VendorRatesTemplate { rateDeckTemplate }
`);

const GATEWAY_FIELDS = ["address", "description", "strip", "prefix", "fromUser", "fromDisplay", "addPai"];

export default function CarrierDetail() {
  const id = useParams().id!;
  const navigate = useNavigate();
  const { canEdit } = useSession();
  const [{ data, fetching, error }, refetch] = useQuery({ query: CarrierDocument, variables: { id } });
  const [, update] = useMutation(CarrierUpdateDocument);
  const [, remove] = useMutation(CarrierDeleteDocument);
  const [, createGateway] = useMutation(GatewayCreateDocument);
  const [, deleteGateway] = useMutation(GatewayDeleteDocument);
  const [, reorder] = useMutation(GatewaysReorderDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [gatewayErrors, setGatewayErrors] = useState<FormErrors>(noErrors);
  const carrier = data?.node?.__typename === "Carrier" ? data.node : null;
  if (fetching && !data) return <p role="status">Loading…</p>;
  if (!carrier) return <section><h1>Carrier not found</h1><GeneralErrors errors={noErrors} extra={describeError(error)} /></section>;
  const gateways = [...carrier.gateways].sort((a, b) => a.position - b.position);
  return (
    <section>
      <h1>Carrier {carrier.name}</h1>
      <GeneralErrors errors={errors} />
      {canEdit ? (
        <form
          className="card"
          aria-label="Carrier details"
          onSubmit={async (event) => {
            event.preventDefault();
            const values = formValues(event.currentTarget);
            const payload = (await update({ input: { id, name: values.name, description: values.description } })).data?.carrierUpdate;
            setErrors(mapUserErrors(payload?.errors, ["name", "description"]));
          }}
        >
          <Field label="Name" name="name" defaultValue={carrier.name} required errors={errors} />
          <Field label="Description" name="description" defaultValue={carrier.description} errors={errors} />
          <div className="actions">
            <button type="submit">Save</button>
            <ConfirmButton
              label="Delete carrier"
              title={`Delete carrier ${carrier.name}?`}
              onConfirm={async () => {
                const payload = (await remove({ input: { id } })).data?.carrierDelete;
                setErrors(mapUserErrors(payload?.errors));
                if (payload?.deletedId) navigate("/carriers");
              }}
            >
              <p>A carrier that tenants still use cannot be deleted.</p>
            </ConfirmButton>
          </div>
        </form>
      ) : (
        <p>{carrier.description}</p>
      )}
      <h2>Gateways</h2>
      <p>Calls go to the first gateway; the next one is the failover.</p>
      <table>
        <thead>
          <tr>
            <th scope="col">#</th><th scope="col">Address</th><th scope="col">Description</th><th scope="col">Strip</th>
            <th scope="col">Prefix</th><th scope="col">From</th><th scope="col">PAI</th>{canEdit && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {gateways.map((gateway, index) => (
            <tr key={gateway.id}>
              <td>{index + 1}</td>
              <td>{gateway.socketAddress}</td>
              <td>{gateway.description}</td>
              <td>{gateway.strip}</td>
              <td>{gateway.prefix}</td>
              <td>{[gateway.fromDisplay, gateway.fromUser].filter(Boolean).join(" ")}</td>
              <td>{gateway.addPai ? "yes" : "no"}</td>
              {canEdit && (
                <td className="actions">
                  {([-1, 1] as const).map((delta) => (
                    <button
                      key={delta}
                      type="button"
                      disabled={index + delta < 0 || index + delta >= gateways.length}
                      aria-label={`Move ${gateway.socketAddress} ${delta < 0 ? "up" : "down"}`}
                      onClick={async () => {
                        const order = moved(gateways, index, delta).map((item) => item.id);
                        const payload = (await reorder({ input: { carrier: id, gateways: order } })).data?.gatewaysReorder;
                        setGatewayErrors(mapUserErrors(payload?.errors));
                        refetch({ requestPolicy: "network-only" });
                      }}
                    >
                      {delta < 0 ? "Up" : "Down"}
                    </button>
                  ))}
                  <ConfirmButton
                    label="Delete"
                    title={`Delete gateway ${gateway.socketAddress}?`}
                    onConfirm={async () => {
                      const payload = (await deleteGateway({ input: { id: gateway.id } })).data?.gatewayDelete;
                      setGatewayErrors(mapUserErrors(payload?.errors));
                      refetch({ requestPolicy: "network-only" });
                    }}
                  />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {canEdit && (
        <form
          className="card"
          aria-label="New gateway"
          onSubmit={async (event) => {
            event.preventDefault();
            const form = event.currentTarget;
            const values = formValues(form);
            const payload = (
              await createGateway({
                input: {
                  carrier: id,
                  address: values.address,
                  description: values.description,
                  strip: Number(values.strip || 0),
                  prefix: values.prefix,
                  fromUser: values.fromUser,
                  fromDisplay: values.fromDisplay,
                  addPai: values.addPai === "on",
                },
              })
            ).data?.gatewayCreate;
            setGatewayErrors(mapUserErrors(payload?.errors, GATEWAY_FIELDS));
            if (payload?.gateway) {
              form.reset();
              refetch({ requestPolicy: "network-only" });
            }
          }}
        >
          <h3>Add a gateway</h3>
          <GeneralErrors errors={gatewayErrors} />
          <div className="grid2">
            <Field label="Address" name="address" required placeholder="192.0.2.10:5060" errors={gatewayErrors}
              hint="IPv4 or IPv6 with an optional port; host names are refused." />
            <Field label="Description" name="description" errors={gatewayErrors} />
            <Field label="Strip digits" name="strip" type="number" min={0} max={15} defaultValue={0} errors={gatewayErrors} />
            <Field label="Prefix" name="prefix" errors={gatewayErrors} />
            <Field label="From user" name="fromUser" errors={gatewayErrors} />
            <Field label="From display" name="fromDisplay" errors={gatewayErrors} />
          </div>
          <div className="field">
            <label>
              <input type="checkbox" name="addPai" /> Add P-Asserted-Identity
            </label>
          </div>
          <button type="submit">Add gateway</button>
        </form>
      )}
      {canEdit && <VendorRatesImport carrier={id} />}
    </section>
  );
}

// What the carrier charges the ISP per minute by destination prefix, from a CSV
// shaped like the rate deck template; it replaces the carrier's vendor rates whole.
export function VendorRatesImport({ carrier }: { carrier: string }) {
  const [{ data }] = useQuery({ query: RateDeckTemplateDocument, requestPolicy: "cache-first" });
  const [state, importRates] = useMutation(VendorRatesImportDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [imported, setImported] = useState<number | null>(null);
  const template = data?.rateDeckTemplate ? `data:text/csv;charset=utf-8,${encodeURIComponent(data.rateDeckTemplate)}` : undefined;
  return (
    <form
      className="card"
      aria-label="Import vendor rates"
      onSubmit={async (event) => {
        event.preventDefault();
        const form = event.currentTarget;
        const file = (form.elements.namedItem("file") as HTMLInputElement).files?.[0];
        if (!file) return;
        setImported(null);
        const payload = (await importRates({ input: { carrier, file } })).data?.vendorRatesImport;
        setErrors(mapUserErrors(payload?.errors, ["file"]));
        if (payload && payload.errors.length === 0) {
          setImported(payload.entries);
          form.reset();
        }
      }}
    >
      <h2>Vendor rates</h2>
      <p>
        What this carrier charges per minute by destination prefix; calls rated from then on know their cost.
        A file replaces the carrier's vendor rates whole. {template && <a href={template} download="vendor-rates.csv">Template</a>}
      </p>
      <GeneralErrors errors={errors} extra={describeError(state.error)} />
      <Field label="Vendor rates CSV" name="file" type="file" accept=".csv,text/csv" required errors={errors} />
      <button type="submit" disabled={state.fetching}>Import vendor rates</button>
      {imported !== null && <p role="status">{imported} vendor rates imported.</p>}
    </form>
  );
}
