import { bulkErrorMessages, parseBulkLines } from "../screens/bulk";
import { csrfToken } from "./csrf";
import { hasUnauthenticated } from "./client";
import { mapUserErrors } from "./errors";

describe("mapUserErrors", () => {
  it("puts each error at its field, by dotted path, and the rest in general", () => {
    const errors = mapUserErrors(
      [
        { field: ["isp", "contact", "phone"], code: "INVALID", message: "not E.164" },
        { field: null, code: "NOT_PERMITTED", message: "not yours" },
        { field: ["password"], code: "WEAK_PASSWORD", message: "too short" },
        { field: ["password"], code: "WEAK_PASSWORD", message: "too common" },
      ],
      ["isp.contact.phone", "password"],
    );
    expect(errors.fields).toEqual({ "isp.contact.phone": "not E.164", password: "too short" });
    expect(errors.general).toEqual(["not yours"]);
  });

  it("names a field the form does not show in the general errors, so nothing is lost", () => {
    const errors = mapUserErrors([{ field: ["isp", "status"], code: "INVALID", message: "bad" }], ["name"]);
    expect(errors.fields).toEqual({});
    expect(errors.general).toEqual(["isp.status: bad"]);
  });
});

describe("bulk subscriber lines", () => {
  it("reads username, e-mail, display name and extension, skipping blanks and comments", () => {
    expect(parseBulkLines("# header\nalice, a@x.example, Alice, 201\n\nbob,,,\n")).toEqual([
      { username: "alice", email: "a@x.example", displayName: "Alice", alias: "201" },
      { username: "bob", email: null, displayName: null, alias: null },
    ]);
  });

  it("names the API's row index as the user's line number", () => {
    expect(
      bulkErrorMessages([
        { field: ["subscribers", "1", "alias"], code: "ALREADY_EXISTS", message: "taken" },
        { field: ["tenant"], code: "NOT_FOUND", message: "no such tenant" },
      ]),
    ).toEqual(["Line 2 (alias): taken", "no such tenant"]);
  });
});

describe("session plumbing", () => {
  it("reads the CSRF token from the whv_csrf cookie", () => {
    expect(csrfToken("a=1; whv_csrf=abc%3D%3D; b=2")).toBe("abc==");
    expect(csrfToken("a=1")).toBeNull();
  });

  it("sees an UNAUTHENTICATED user error in any mutation payload", () => {
    expect(hasUnauthenticated({ customerCreate: { errors: [{ code: "UNAUTHENTICATED" }] } })).toBe(true);
    expect(hasUnauthenticated({ customerCreate: { errors: [{ code: "INVALID" }] } })).toBe(false);
    expect(hasUnauthenticated({ me: null })).toBe(false);
  });
});
