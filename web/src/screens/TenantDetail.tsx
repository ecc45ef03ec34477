// One tenant: its settings (ISP administrators edit them; deleting it asks for its
// domain typed again), its subscribers and the credentials sheet.
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import { ConfirmButton } from "../ui/confirm";
import { Field, formValues, GeneralErrors, Select } from "../ui/form";
import { none, useCarrierChoices, useDialPlanChoices } from "../ui/options";
import { CredentialsSheet } from "./CredentialsSheet";
import { RoutePreview } from "./RoutePreview";
import { Subscribers } from "./Subscribers";
import { SecurityGroups } from "./SecurityGroups";
import { TenantNumbers } from "./TenantNumbers";

const TenantDocument = graphql(`
  query Tenant($id: ID!) {
    node(id: $id) {
      __typename
      ... on Tenant {
        id
        name
        domain
        status
        defaultCountryCode
        defaultAreaCode
        provisioningUsername
        customerId
        carrierId
        dialPlanId
      }
    }
  }
`);
const TenantUpdateDocument = graphql(`
  mutation TenantUpdate($input: TenantUpdateInput!) {
    tenantUpdate(input: $input) {
      tenant { id name status carrierId dialPlanId defaultCountryCode defaultAreaCode }
      errors { field code message }
    }
  }
`);
const TenantDeleteDocument = graphql(`
  mutation TenantDelete($input: TenantDeleteInput!) {
    tenantDelete(input: $input) { deletedId errors { field code message } }
  }
`);

export default function TenantDetail() {
  const id = useParams().id!;
  const navigate = useNavigate();
  const { canEdit, kind } = useSession();
  const ispAdmin = canEdit && (kind === "ISP" || kind === "PLATFORM");
  const carriers = useCarrierChoices(!ispAdmin);
  const dialPlans = useDialPlanChoices(!ispAdmin);
  const [{ data, fetching, error }] = useQuery({ query: TenantDocument, variables: { id } });
  const [, update] = useMutation(TenantUpdateDocument);
  const [, remove] = useMutation(TenantDeleteDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const tenant = data?.node?.__typename === "Tenant" ? data.node : null;
  if (fetching && !data) return <p role="status">Loading…</p>;
  if (!tenant) return <section><h1>Tenant not found</h1><GeneralErrors errors={noErrors} extra={describeError(error)} /></section>;
  return (
    <section>
      <h1>Tenant {tenant.name}</h1>
      <p>
        SIP domain <strong>{tenant.domain}</strong> · {tenant.status.toLowerCase()} · provisioning user{" "}
        {tenant.provisioningUsername}
      </p>
      <p>
        <Link to={`/tenants/${encodeURIComponent(id)}/directory`}>Directory link (Google Workspace or Microsoft Entra)</Link>
      </p>
      <GeneralErrors errors={errors} />
      {ispAdmin && carriers && dialPlans && (
        <form
          className="card"
          aria-label="Tenant settings"
          onSubmit={async (event) => {
            event.preventDefault();
            const values = formValues(event.currentTarget);
            const payload = (
              await update({
                input: {
                  id,
                  name: values.name,
                  carrier: values.carrier || null,
                  dialPlan: values.dialPlan || null,
                  defaultCountryCode: values.defaultCountryCode,
                  defaultAreaCode: values.defaultAreaCode,
                  status: values.status as "ACTIVE" | "SUSPENDED",
                },
              })
            ).data?.tenantUpdate;
            setErrors(mapUserErrors(payload?.errors, ["name", "carrier", "dialPlan", "defaultCountryCode", "defaultAreaCode", "status"]));
          }}
        >
          <h2>Settings</h2>
          <div className="grid2">
            <Field label="Name" name="name" defaultValue={tenant.name} required errors={errors} />
            <Select label="Status" name="status" defaultValue={tenant.status} errors={errors}
              options={[{ value: "ACTIVE", label: "active" }, { value: "SUSPENDED", label: "suspended" }]} />
            <Select label="Carrier" name="carrier" defaultValue={tenant.carrierId ?? ""} errors={errors} options={[none(), ...carriers]} />
            <Select label="Dial plan" name="dialPlan" defaultValue={tenant.dialPlanId ?? ""} errors={errors} options={[none(), ...dialPlans]} />
            <Field label="Default country code" name="defaultCountryCode" defaultValue={tenant.defaultCountryCode} errors={errors} />
            <Field label="Default area code" name="defaultAreaCode" defaultValue={tenant.defaultAreaCode} errors={errors} />
          </div>
          <div className="actions">
            <button type="submit">Save</button>
            <ConfirmButton
              label="Delete tenant"
              title={`Delete tenant ${tenant.domain}?`}
              typeToConfirm={tenant.domain}
              onConfirm={async (typed) => {
                const payload = (await remove({ input: { id, confirmDomain: typed } })).data?.tenantDelete;
                setErrors(mapUserErrors(payload?.errors));
                if (payload?.deletedId) navigate("/tenants");
              }}
            >
              <p>Its subscribers are deleted at once and its numbers go back to quarantine. There is no undo.</p>
            </ConfirmButton>
          </div>
        </form>
      )}
      <Subscribers tenantId={id} canEdit={canEdit} />
      <TenantNumbers tenantId={id} canEdit={canEdit} />
      <SecurityGroups tenantId={id} canEdit={canEdit} />
      <RoutePreview tenantId={id} />
      {canEdit && <CredentialsSheet tenantId={id} />}
    </section>
  );
}
