import { useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { useMutation } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { safeNext, useSession } from "../auth/session";
import { graphql } from "../gql";
import { Field, formValues, GeneralErrors } from "../ui/form";

const LoginDocument = graphql(`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      administrator { id }
      csrfToken
      errors { field code message }
    }
  }
`);

export function Login() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const session = useSession();
  const [state, login] = useMutation(LoginDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const next = safeNext(params.get("next"));
  return (
    <main className="narrow" id="main">
      <h1>Log in</h1>
      {params.get("next") && !session.me && (
        <p role="status">Your session has ended or you are not logged in. Log in to continue.</p>
      )}
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const values = formValues(event.currentTarget);
          const result = await login({ input: { email: values.email, password: values.password } });
          const payload = result.data?.login;
          setErrors(mapUserErrors(payload?.errors, ["email", "password"]));
          if (payload?.administrator) {
            session.refresh();
            navigate(next, { replace: true });
          }
        }}
      >
        <GeneralErrors errors={errors} extra={describeError(state.error)} />
        <Field label="E-mail" name="email" type="email" autoComplete="username" required errors={errors} autoFocus />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required errors={errors} />
        <button type="submit" disabled={state.fetching}>
          Log in
        </button>
      </form>
      <p>
        New ISP? <Link to="/join">Sign up</Link>
      </p>
    </main>
  );
}
