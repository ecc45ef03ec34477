// A tenant's security groups: the international destinations (countries or E.164
// prefixes) its subscribers may call. International calling is closed without one.
import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { graphql } from "../gql";
import { ConfirmButton } from "../ui/confirm";
import { Field, formValues, GeneralErrors } from "../ui/form";

export const SecurityGroupsDocument = graphql(`
  query SecurityGroups($tenant: ID!) {
    securityGroups(filter: { tenant: $tenant }, first: 50) {
      totalCount
      edges { node { id name description countries prefixes } }
    }
  }
`);
const CreateDocument = graphql(`
  mutation SecurityGroupCreate($input: SecurityGroupCreateInput!) {
    securityGroupCreate(input: $input) { securityGroup { id name } errors { field code message } }
  }
`);
const DeleteDocument = graphql(`
  mutation SecurityGroupDelete($input: SecurityGroupDeleteInput!) {
    securityGroupDelete(input: $input) { deletedId errors { field code message } }
  }
`);

// "GB, fr" -> ["GB", "FR"]; the API checks each one (countries.1, prefixes.0...).
const list = (text: string | undefined, upper = false) =>
  (text ?? "").split(/[\s,]+/).filter(Boolean).map((item) => (upper ? item.toUpperCase() : item));

export function SecurityGroups({ tenantId, canEdit }: { tenantId: string; canEdit: boolean }) {
  const [{ data, error }] = useQuery({ query: SecurityGroupsDocument, variables: { tenant: tenantId } });
  const [state, create] = useMutation(CreateDocument);
  const [, remove] = useMutation(DeleteDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [rowErrors, setRowErrors] = useState<FormErrors>(noErrors);
  return (
    <div>
      <h2>Security groups</h2>
      <p>International calls are closed unless a subscriber's group opens the destination.</p>
      <GeneralErrors errors={rowErrors} extra={describeError(error)} />
      <table>
        <caption className="visually-hidden">Security groups</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Countries</th><th scope="col">Prefixes</th><th scope="col">Description</th>{canEdit && <th scope="col">Actions</th>}</tr></thead>
        <tbody>
          {data?.securityGroups.edges.map(({ node }) => (
            <tr key={node.id}>
              <td>{node.name}</td>
              <td>{node.countries.join(", ") || "—"}</td>
              <td>{node.prefixes.join(", ") || "—"}</td>
              <td>{node.description}</td>
              {canEdit && (
                <td>
                  <ConfirmButton label="Delete" title={`Delete security group ${node.name}?`} onConfirm={async () => {
                    const payload = (await remove({ input: { id: node.id } })).data?.securityGroupDelete;
                    setRowErrors(mapUserErrors(payload?.errors));
                  }}>
                    <p>Its subscribers are left without one: international calls close for them.</p>
                  </ConfirmButton>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {canEdit && (
        <form className="card" aria-label="New security group" onSubmit={async (event) => {
          event.preventDefault();
          const form = event.currentTarget;
          const values = formValues(form);
          const payload = (await create({ input: {
            tenant: tenantId,
            name: values.name,
            description: values.description,
            countries: list(values.countries, true),
            prefixes: list(values.prefixes),
          } })).data?.securityGroupCreate;
          // A bad item is reported as countries.N or prefixes.N: shown at the field as a whole.
          const byField = (payload?.errors ?? []).map((e) => ({ ...e, field: e.field ? e.field.slice(0, 1) : e.field }));
          setErrors(mapUserErrors(byField, ["name", "description", "countries", "prefixes"]));
          if (payload?.securityGroup) form.reset();
        }}>
          <h3>New security group</h3>
          <GeneralErrors errors={errors} extra={describeError(state.error)} />
          <div className="grid2">
            <Field label="Name" name="name" required errors={errors} />
            <Field label="Description" name="description" errors={errors} />
            <Field label="Countries" name="countries" placeholder="GB, FR" errors={errors} hint="ISO codes, separated by commas." />
            <Field label="Prefixes" name="prefixes" placeholder="+4420" errors={errors} hint="E.164 prefixes, separated by commas." />
          </div>
          <button type="submit" disabled={state.fetching}>Create</button>
        </form>
      )}
    </div>
  );
}
