// Sign-up, step 1: the address to send the single-use link to.
import { useState } from "react";
import { Link } from "react-router-dom";
import { useMutation } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { graphql } from "../gql";
import { Field, formValues, GeneralErrors } from "../ui/form";

const IspSignUpDocument = graphql(`
  mutation IspSignUp($input: IspSignUpInput!) {
    ispSignUp(input: $input) { errors { field code message } }
  }
`);

export function SignUp() {
  const [state, signUp] = useMutation(IspSignUpDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [sentTo, setSentTo] = useState<string | null>(null);
  return (
    <main className="narrow" id="main">
      <h1>Sign up your ISP</h1>
      {sentTo ? (
        <p role="status">
          We sent a link to {sentTo}. Open it to finish signing up; it works once and expires in a day.
        </p>
      ) : (
        <form
          onSubmit={async (event) => {
            event.preventDefault();
            const { email } = formValues(event.currentTarget);
            const result = await signUp({ input: { email } });
            const payload = result.data?.ispSignUp;
            const mapped = mapUserErrors(payload?.errors, ["email"]);
            setErrors(mapped);
            if (payload && payload.errors.length === 0) setSentTo(email);
          }}
        >
          <GeneralErrors errors={errors} extra={describeError(state.error)} />
          <Field label="Work e-mail" name="email" type="email" autoComplete="email" required errors={errors} autoFocus />
          <button type="submit" disabled={state.fetching}>
            Send me the link
          </button>
        </form>
      )}
      <p>
        Already have an account? <Link to="/login">Log in</Link>
      </p>
    </main>
  );
}
