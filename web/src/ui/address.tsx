// The API's PostalAddress and Contact, as form fields and back as inputs.
import type { FormErrors } from "../api/errors";
import { Field } from "./form";

export const ADDRESS_FIELDS = ["line1", "line2", "city", "region", "postalCode", "country"] as const;
export const CONTACT_FIELDS = ["name", "email", "phone"] as const;

type Address = Partial<Record<(typeof ADDRESS_FIELDS)[number], string>>;
type Contact = Partial<Record<(typeof CONTACT_FIELDS)[number], string>>;

const ADDRESS_LABELS = { line1: "Address line 1", line2: "Address line 2", city: "City", region: "Region",
  postalCode: "Postal code", country: "Country (ISO code)" };
const CONTACT_LABELS = { name: "Contact name", email: "Contact e-mail", phone: "Contact phone (+E.164)" };

export function AddressFields({ prefix, errors, value }: { prefix: string; errors: FormErrors; value?: Address }) {
  return (
    <>
      {ADDRESS_FIELDS.map((field) => (
        <Field key={field} label={ADDRESS_LABELS[field]} name={`${prefix}.${field}`} defaultValue={value?.[field] ?? ""}
          maxLength={field === "country" ? 2 : undefined} errors={errors} />
      ))}
    </>
  );
}

export function ContactFields({ prefix, errors, value }: { prefix: string; errors: FormErrors; value?: Contact }) {
  return (
    <>
      {CONTACT_FIELDS.map((field) => (
        <Field key={field} label={CONTACT_LABELS[field]} name={`${prefix}.${field}`} defaultValue={value?.[field] ?? ""}
          type={field === "email" ? "email" : field === "phone" ? "tel" : "text"} errors={errors} />
      ))}
    </>
  );
}

export function addressInput(values: Record<string, string>, prefix: string) {
  return Object.fromEntries(ADDRESS_FIELDS.map((field) => [field, values[`${prefix}.${field}`] ?? ""])) as Required<Address>;
}

export function contactInput(values: Record<string, string>, prefix: string) {
  return Object.fromEntries(CONTACT_FIELDS.map((field) => [field, values[`${prefix}.${field}`] ?? ""])) as Required<Contact>;
}
