// Sign-up, step 2 (from the e-mailed link): the first administrator and the ISP,
// with an optional logo sent as a GraphQL multipart upload. Logs the person in.
import { useState } from "react";
import { useNavigate, useSearchParams } from "react-router-dom";
import { useMutation } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import { Field, Fieldset, formValues, GeneralErrors } from "../ui/form";
import { AddressFields, ContactFields, addressInput, contactInput, ADDRESS_FIELDS, CONTACT_FIELDS } from "../ui/address";

const CompleteDocument = graphql(`
  mutation IspSignUpComplete($input: IspSignUpCompleteInput!) {
    ispSignUpComplete(input: $input) {
      isp { id name }
      administrator { id }
      csrfToken
      errors { field code message }
    }
  }
`);

const SHOWN = [
  "password",
  "fullName",
  "isp.name",
  "isp.namespaceLabel",
  "isp.currency",
  "isp.theme.primaryColor",
  "isp.theme.secondaryColor",
  "logo",
  ...ADDRESS_FIELDS.map((field) => `isp.address.${field}`),
  ...CONTACT_FIELDS.map((field) => `isp.contact.${field}`),
];

export function SignUpComplete() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const navigate = useNavigate();
  const session = useSession();
  const [state, complete] = useMutation(CompleteDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  if (!token) {
    return (
      <main className="narrow" id="main">
        <h1>Finish signing up</h1>
        <p role="alert">This page needs the link from the sign-up e-mail.</p>
      </main>
    );
  }
  return (
    <main className="narrow" id="main">
      <h1>Finish signing up</h1>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const form = event.currentTarget;
          const values = formValues(form);
          const logo = (form.elements.namedItem("logo") as HTMLInputElement).files?.[0] ?? null;
          const result = await complete({
            input: {
              token,
              password: values.password,
              fullName: values.fullName,
              logo,
              isp: {
                name: values["isp.name"],
                namespaceLabel: values["isp.namespaceLabel"],
                currency: values["isp.currency"],
                address: addressInput(values, "isp.address"),
                contact: contactInput(values, "isp.contact"),
                theme: {
                  primaryColor: values["isp.theme.primaryColor"] || null,
                  secondaryColor: values["isp.theme.secondaryColor"] || null,
                },
              },
            },
          });
          const payload = result.data?.ispSignUpComplete;
          setErrors(mapUserErrors(payload?.errors, SHOWN));
          if (payload?.isp) {
            session.refresh();
            navigate("/isp", { replace: true });
          }
        }}
      >
        <GeneralErrors errors={errors} extra={describeError(state.error)} />
        <Fieldset legend="You">
          <Field label="Full name" name="fullName" required autoComplete="name" errors={errors} autoFocus />
          <Field label="Password" name="password" type="password" required autoComplete="new-password" errors={errors}
            hint="At least 12 characters; not a common password." />
        </Fieldset>
        <Fieldset legend="Your ISP">
          <Field label="ISP name" name="isp.name" required errors={errors} />
          <Field label="Namespace label" name="isp.namespaceLabel" required errors={errors}
            hint="Your tenants' domains will end in <label>.<platform domain>." />
          <Field label="Currency" name="isp.currency" required defaultValue="USD" maxLength={3} errors={errors}
            hint="ISO 4217 code, e.g. USD or EUR." />
        </Fieldset>
        <Fieldset legend="Contact">
          <ContactFields prefix="isp.contact" errors={errors} />
        </Fieldset>
        <Fieldset legend="Address">
          <AddressFields prefix="isp.address" errors={errors} />
        </Fieldset>
        <Fieldset legend="Theme">
          <Field label="Primary colour" name="isp.theme.primaryColor" placeholder="#RRGGBB" errors={errors} />
          <Field label="Secondary colour" name="isp.theme.secondaryColor" placeholder="#RRGGBB" errors={errors} />
          <Field label="Logo (PNG or JPEG)" name="logo" type="file" accept="image/png,image/jpeg" errors={errors} />
        </Fieldset>
        <button type="submit" disabled={state.fetching}>
          Create my ISP
        </button>
      </form>
    </main>
  );
}
