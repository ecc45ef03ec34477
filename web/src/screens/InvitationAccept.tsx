// Accepting an invitation (from the e-mailed link): a new person chooses a name and
// password; someone with an account only confirms. Logs the person in.
import { useState } from "react";
import { useNavigate, useSearchParams } from "react-router-dom";
import { useMutation } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import { Field, formValues, GeneralErrors } from "../ui/form";

const AcceptDocument = graphql(`
  mutation InvitationAccept($input: InvitationAcceptInput!) {
    invitationAccept(input: $input) {
      administrator { id }
      csrfToken
      errors { field code message }
    }
  }
`);

export function InvitationAccept() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const navigate = useNavigate();
  const session = useSession();
  const [state, accept] = useMutation(AcceptDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  return (
    <main className="narrow" id="main">
      <h1>Accept the invitation</h1>
      {!token ? (
        <p role="alert">This page needs the link from the invitation e-mail.</p>
      ) : (
        <form
          onSubmit={async (event) => {
            event.preventDefault();
            const values = formValues(event.currentTarget);
            const result = await accept({
              input: { token, password: values.password || null, fullName: values.fullName || null },
            });
            const payload = result.data?.invitationAccept;
            setErrors(mapUserErrors(payload?.errors, ["password", "fullName"]));
            if (payload?.administrator) {
              session.refresh();
              navigate("/", { replace: true });
            }
          }}
        >
          <p>If you already have an account with this address, leave both fields empty.</p>
          <GeneralErrors errors={errors} extra={describeError(state.error)} />
          <Field label="Full name" name="fullName" autoComplete="name" errors={errors} autoFocus />
          <Field label="Password" name="password" type="password" autoComplete="new-password" errors={errors} />
          <button type="submit" disabled={state.fetching}>
            Accept
          </button>
        </form>
      )}
    </main>
  );
}
