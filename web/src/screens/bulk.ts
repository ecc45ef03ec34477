// Bulk subscriber creation from pasted lines: "username, e-mail, display name, extension".
import type { UserError } from "../api/errors";

export type BulkRow = { username: string; email: string | null; displayName: string | null; alias: string | null };

export function parseBulkLines(text: string): BulkRow[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const [username = "", email = "", displayName = "", alias = ""] = line.split(",").map((cell) => cell.trim());
      return { username, email: email || null, displayName: displayName || null, alias: alias || null };
    });
}

// The API names a row by its index (subscribers.3.username); the user knows it as line 4.
export function bulkErrorMessages(errors: readonly UserError[]): string[] {
  return errors.map((error) => {
    const [root, index, ...rest] = error.field ?? [];
    if (root === "subscribers" && index !== undefined && /^\d+$/.test(index)) {
      const field = rest.length ? ` (${rest.join(".")})` : "";
      return `Line ${Number(index) + 1}${field}: ${error.message}`;
    }
    return error.message;
  });
}
