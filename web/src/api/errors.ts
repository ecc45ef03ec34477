// UserErrors (field path, code, message) mapped onto the form that sent the input.
import type { CombinedError } from "urql";

export type UserError = { field?: readonly string[] | null; code: string; message: string };

export type FormErrors = {
  // By field path joined with dots, e.g. "contact.email" or "subscribers.3.username".
  fields: Record<string, string>;
  // Errors about the input as a whole, or about a field the form does not show.
  general: string[];
};

export const noErrors: FormErrors = { fields: {}, general: [] };

export function mapUserErrors(
  errors: readonly UserError[] | null | undefined,
  shownFields: readonly string[] = [],
): FormErrors {
  const result: FormErrors = { fields: {}, general: [] };
  for (const error of errors ?? []) {
    const path = (error.field ?? []).join(".");
    if (path && (shownFields.length === 0 || shownFields.includes(path))) {
      // The first error of a field is the one to fix first.
      result.fields[path] ??= error.message;
    } else {
      result.general.push(path ? `${path}: ${error.message}` : error.message);
    }
  }
  return result;
}

// A transport or GraphQL error (not a user mistake) as one readable line.
export function describeError(error: CombinedError | undefined): string | null {
  if (!error) return null;
  if (error.networkError) return "The server could not be reached. Try again.";
  const first = error.graphQLErrors[0];
  if (!first) return error.message;
  const code = first.extensions?.code;
  if (code === "CSRF_CHECK_FAILED") return "Your session changed in another window. Reload the page.";
  if (code === "QUERY_BUDGET_EXCEEDED") return "Too many requests; wait a few seconds and try again.";
  const requestId = first.extensions?.requestId;
  return requestId ? `${first.message} (request ${String(requestId)})` : first.message;
}

export function hasErrors(errors: FormErrors): boolean {
  return errors.general.length > 0 || Object.keys(errors.fields).length > 0;
}
