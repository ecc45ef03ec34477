// directoryPreviewUpdate names a row by its index in the changes sent (rows.2.alias);
// the user knows the row by its e-mail.
import type { UserError } from "../api/errors";

export function previewErrorMessages(errors: readonly UserError[], emails: readonly string[]): string[] {
  return errors.map((error) => {
    const [root, index, ...rest] = error.field ?? [];
    if (root === "rows" && index !== undefined && /^\d+$/.test(index)) {
      const who = emails[Number(index)] ?? `row ${Number(index) + 1}`;
      return `${who}${rest.length ? ` (${rest.join(".")})` : ""}: ${error.message}`;
    }
    return error.message;
  });
}
