// The call records, usage, vendor rates, SIP proxies, subscriber credentials and
// service-account screens against the real client over a fake API.
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router-dom";
import { renderWithApi, type Sent } from "../test/api";
import CallRecordDetail from "./CallRecordDetail";
import CallRecords, { callRecordFilter, NO_FILTERS } from "./CallRecords";
import { VendorRatesImport } from "./CarrierDetail";
import { ServiceAccountForm } from "./DirectoryWizard";
import { proxyStatus } from "./Routing";
import SipProxies from "./SipProxies";
import { Subscribers } from "./Subscribers";
import Usage from "./Usage";

const pageInfo = { __typename: "PageInfo", hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null };
const connection = (typename: string, nodes: unknown[] = []) => ({
  __typename: typename,
  totalCount: nodes.length,
  pageInfo,
  edges: nodes.map((node) => ({ __typename: typename.replace("Connection", "Edge"), node })),
});
const grant = (scope: string, role: string) => ({ __typename: "RoleGrant", id: `G-${scope}-${role}`, scope, role, tenantId: scope === "TENANT" ? "T1" : null, isp: null });
const admin = (scope: string, role = "ADMIN") => ({
  __typename: "Administrator", id: "A1", email: "owner@alpha.example.com", fullName: "Owner", grants: [grant(scope, role)],
});
const userError = (field: string[] | null, message: string, code = "INVALID") => ({ __typename: "UserError", field, code, message });
const lastSent = (sent: Sent[], operation: string) => sent.filter((request) => request.operationName === operation).at(-1);

describe("callRecordFilter", () => {
  it("turns the form's days into the API's [from, to) with the to-day included, and blanks into nulls", () => {
    expect(callRecordFilter({ ...NO_FILTERS, from: "2026-11-01", to: "2026-11-30", answered: "no", direction: "INBOUND", number: " +44 " }))
      .toEqual({
        startedAfter: "2026-11-01T00:00:00Z", startedBefore: "2026-12-01T00:00:00Z", customer: null, tenant: null,
        direction: "INBOUND", legType: null, answered: false, state: null, number: "+44",
      });
    expect(callRecordFilter(NO_FILTERS)).toMatchObject({ startedAfter: null, startedBefore: null, answered: null, number: null });
  });
});

describe("Call records", () => {
  const answer = (records: unknown[] = []) => (operation: string) => {
    switch (operation) {
      case "Me": return { me: admin("ISP") };
      case "CustomerChoices": return { customers: { __typename: "CustomerConnection", edges: [{ __typename: "CustomerEdge", node: { __typename: "Customer", id: "C1", name: "Acme Corp" } }] } };
      case "TenantChoices": return { tenants: { __typename: "TenantConnection", edges: [] } };
      default: return { callRecords: connection("CallRecordConnection", records) };
    }
  };

  it("shows the empty state and sends each filter to the API", async () => {
    const { sent } = renderWithApi(<CallRecords />, answer());
    expect(await screen.findByText("No calls yet.")).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("0 calls");

    await userEvent.selectOptions(await screen.findByLabelText("Customer"), "C1");
    await userEvent.selectOptions(screen.getByLabelText("Direction"), "INBOUND");
    await userEvent.selectOptions(screen.getByLabelText("Answered"), "yes");
    fireEvent.change(screen.getByLabelText("From"), { target: { value: "2026-11-01" } });
    fireEvent.change(screen.getByLabelText("To (included)"), { target: { value: "2026-11-30" } });
    await userEvent.type(screen.getByLabelText("Number"), "+44");
    await waitFor(() => expect(lastSent(sent, "CallRecords")?.variables.filter).toMatchObject({
      customer: "C1", direction: "INBOUND", answered: true, number: "+44",
      startedAfter: "2026-11-01T00:00:00Z", startedBefore: "2026-12-01T00:00:00Z",
    }));
    expect(await screen.findByText("No call matches these filters.")).toBeInTheDocument();

    await userEvent.click(screen.getByRole("button", { name: "Clear filters" }));
    await waitFor(() => expect(lastSent(sent, "CallRecords")?.variables.filter).toMatchObject({ customer: null, direction: null, number: null }));
  });

  it("lists a call with a link to its legs", async () => {
    const record = {
      __typename: "CallRecord", id: "R1", direction: "OUTBOUND", state: "COMPLETED", caller: "+12125550100", callee: "+442071234567",
      setupAt: "2026-11-02T10:00:00Z", durationSeconds: 65, sipCode: 200, sipReason: "OK", tenant: { __typename: "Tenant", id: "T1", name: "Acme" },
    };
    renderWithApi(<CallRecords />, answer([record]));
    expect(await screen.findByRole("cell", { name: "+442071234567" })).toBeInTheDocument();
    expect(screen.getByRole("cell", { name: "1 min 5 s" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: /2026/ })).toHaveAttribute("href", "/call-records/R1");
    expect(screen.getByRole("status")).toHaveTextContent("1 calls");
  });

  it("shows a record's legs, their rating and earlier ratings", async () => {
    const leg = {
      __typename: "CallLeg", id: "L1", side: "B", legType: "PSTN", direction: "OUTBOUND", number: "+442071234567", answered: true,
      durationSeconds: 65, deck: "RATE_DECK", destination: "+44 United Kingdom", ratePerMinute: "0.0150", minimumDuration: 60,
      increment: 6, delay: 0, billingSeconds: 66, price: "0.0165", currency: "USD", prepaid: false, revision: 2,
      ratedAt: "2026-11-03T00:00:00Z", cost: "0.0100",
      revisions: [{ __typename: "CallLegRevision", revision: 1, deck: "SERVICE_DECK", ratePerMinute: "0.0200", billingSeconds: 66,
        price: "0.0220", cost: null, ratedAt: "2026-11-02T10:02:00Z", replacedAt: "2026-11-03T00:00:00Z" }],
    };
    renderWithApi(
      <Routes><Route path="/call-records/:id" element={<CallRecordDetail />} /></Routes>,
      (operation) => operation === "Me" ? { me: admin("ISP") } : {
        node: {
          __typename: "CallRecord", id: "R1", callId: "abc@host", fromTag: "f", toTag: "t", direction: "OUTBOUND", state: "COMPLETED",
          caller: "+12125550100", callee: "+442071234567", setupAt: "2026-11-02T10:00:00Z", answeredAt: "2026-11-02T10:00:05Z",
          endedAt: "2026-11-02T10:01:10Z", durationSeconds: 65, sipCode: 200, sipReason: "OK",
          attempts: [{ __typename: "CallAttempt", gateway: "192.0.2.10:5060", sipCode: 200, sipReason: "OK", at: "2026-11-02T10:00:01Z" }],
          customer: { __typename: "Customer", id: "C1", name: "Acme Corp" }, tenant: { __typename: "Tenant", id: "T1", name: "Acme" },
          subscriber: { __typename: "Subscriber", id: "S1", username: "alice" }, gateway: { __typename: "Gateway", id: "GW1", socketAddress: "192.0.2.10:5060" },
          legs: [leg],
        },
      },
      "/call-records/R1",
    );
    expect(await screen.findByRole("heading", { name: "Call from +12125550100 to +442071234567" })).toBeInTheDocument();
    const legs = screen.getByRole("table", { name: "Legs and their rating" });
    expect(within(legs).getByRole("cell", { name: "+44 United Kingdom" })).toBeInTheDocument();
    expect(within(legs).getByRole("cell", { name: "0.0165 USD" })).toBeInTheDocument();
    expect(within(legs).getByRole("cell", { name: "0.0100" })).toBeInTheDocument();
    expect(within(legs).getByText(/#1: service deck, 0.0200\/min/)).toBeInTheDocument();
  });
});

describe("Usage", () => {
  const zeros = {
    __typename: "UsageSummary", start: "2026-11-01T00:00:00Z", end: "2026-12-01T00:00:00Z", currency: "USD", calls: 0, answeredCalls: 0,
    billedSeconds: 0, billedMinutes: "0.00", usageCharges: "0.00", charges: [], subscribers: 2, dids: 1, subscriberCharges: "9.00",
    didCharges: "1.00", monthlyCharges: "10.00", totalCharges: "10.00", usageCost: "0.00", didCost: "0.50", totalCost: "0.50",
    margin: "9.50", customer: { __typename: "Customer", id: "C1", name: "Acme Corp" },
  };
  const answer = (me: unknown, summary: () => unknown, rerate?: unknown) => (operation: string) => {
    switch (operation) {
      case "Me": return { me };
      case "CustomerChoices": return { customers: { __typename: "CustomerConnection", edges: [{ __typename: "CustomerEdge", node: { __typename: "Customer", id: "C1", name: "Acme Corp" } }] } };
      case "UsageSummary": return summary();
      default: return { callRecordsRerate: rerate };
    }
  };
  const period = async (from: string, to: string) => {
    fireEvent.change(await screen.findByLabelText("From"), { target: { value: from } });
    fireEvent.change(screen.getByLabelText("To (included)"), { target: { value: to } });
    await userEvent.click(screen.getByRole("button", { name: "Show usage" }));
  };

  it("shows a period that ends before it starts at To, then a summary of zeros", async () => {
    let invalid = true;
    const { sent } = renderWithApi(<Usage />, answer(admin("ISP"), () => invalid
      ? { data: null, errors: [{ message: "the period must end after it starts", extensions: { code: "INVALID" } }] }
      : { usageSummary: zeros }));
    await screen.findByRole("combobox", { name: "Customer" });
    await period("2026-11-30", "2026-11-01");
    const to = screen.getByLabelText("To (included)");
    await waitFor(() => expect(to).toHaveAttribute("aria-invalid", "true"));
    expect(to).toHaveAccessibleDescription(/the period must end after it starts/);

    invalid = false;
    await period("2026-11-01", "2026-11-30");
    expect(await screen.findByTestId("usage-calls")).toHaveTextContent("0 (0 answered)");
    expect(screen.getByTestId("usage-total")).toHaveTextContent("10.00 USD");
    expect(screen.getByText("No rated calls in this period.")).toBeInTheDocument();
    expect(lastSent(sent, "UsageSummary")?.variables).toEqual({ customer: "C1", from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z" });
    expect(screen.getByRole("button", { name: "Export CSV" })).toBeInTheDocument();
  });

  it("re-rates after confirmation and shows the API's error at its field", async () => {
    const { sent } = renderWithApi(<Usage />, answer(admin("ISP"), () => ({ usageSummary: zeros }), {
      __typename: "CallRecordsReratePayload", legs: 0, changed: 0, previousTotal: null, newTotal: null,
      errors: [userError(["to"], "ask for at most 93 days at a time")],
    }));
    await screen.findByRole("combobox", { name: "Customer" });
    await period("2026-11-01", "2026-11-30");
    await userEvent.click(await screen.findByRole("button", { name: "Re-rate the period" }));
    expect(screen.getByRole("heading", { name: "Rate this period's calls again?" })).toBeInTheDocument();
    await userEvent.click(screen.getAllByRole("button", { name: "Re-rate the period" }).at(-1)!);
    const to = screen.getByLabelText("To (included)");
    await waitFor(() => expect(to).toHaveAccessibleDescription(/ask for at most 93 days at a time/));
    expect(lastSent(sent, "CallRecordsRerate")?.variables.input).toEqual({ customer: "C1", from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z" });
  });

  it("offers a viewer the export but not re-rating", async () => {
    renderWithApi(<Usage />, answer(admin("ISP", "VIEWER"), () => ({ usageSummary: zeros })));
    await screen.findByRole("combobox", { name: "Customer" });
    await period("2026-11-01", "2026-11-30");
    expect(await screen.findByRole("button", { name: "Export CSV" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Re-rate the period" })).toBeNull();
  });
});

describe("Vendor rates import", () => {
  it("uploads the CSV for the carrier and shows a bad file at its field", async () => {
    let errors = [userError(["file"], "line 2: not a rate")];
    const { sent } = renderWithApi(<VendorRatesImport carrier="K1" />, (operation) => {
      if (operation === "Me") return { me: admin("ISP") };
      if (operation === "VendorRatesTemplate") return { rateDeckTemplate: "prefix,rate_per_minute,description\n" };
      const payload = { __typename: "VendorRatesImportPayload", carrier: errors.length ? null : { __typename: "Carrier", id: "K1" }, entries: errors.length ? 0 : 2, errors };
      return { vendorRatesImport: payload };
    });
    const input = screen.getByLabelText("Vendor rates CSV");
    // jsdom's own "required" check does not see files chosen by user-event.
    screen.getByRole("form", { name: "Import vendor rates" }).setAttribute("novalidate", "");
    await userEvent.upload(input, new File(["prefix,rate_per_minute\n+44,abc\n"], "rates.csv", { type: "text/csv" }));
    await userEvent.click(screen.getByRole("button", { name: "Import vendor rates" }));
    await waitFor(() => expect(input).toHaveAccessibleDescription("line 2: not a rate"));
    const request = lastSent(sent, "VendorRatesImport")!;
    expect(request.variables.input).toMatchObject({ carrier: "K1" });
    expect(request.files.map((file) => file.name)).toEqual(["rates.csv"]);

    errors = [];
    await userEvent.upload(input, new File(["prefix,rate_per_minute\n+44,0.01\n+33,0.02\n"], "rates.csv", { type: "text/csv" }));
    await userEvent.click(screen.getByRole("button", { name: "Import vendor rates" }));
    expect(await screen.findByText("2 vendor rates imported.")).toBeInTheDocument();
  });
});

describe("SIP proxies", () => {
  const proxy = {
    __typename: "SipProxy", id: "P1", name: "edge-1", database: "postgres://kam@db:5432/kamailio", rpcUrl: "http://10.0.0.5:5080/RPC",
    enabled: true, appliedGeneration: 7, lastSuccessAt: "2026-12-01T00:00:00Z", lastError: null, lastErrorAt: null,
  };
  const answer = (me: unknown, created: unknown) => (operation: string) => {
    if (operation === "Me") return { me };
    if (operation === "SipProxies") return { sipProxies: connection("SipProxyConnection", [proxy]) };
    return { sipProxyCreate: created };
  };

  it("shows each UserError of a new proxy at its field", async () => {
    const { sent } = renderWithApi(<SipProxies />, answer(admin("PLATFORM"), {
      __typename: "SipProxyPayload", sipProxy: null,
      errors: [userError(["databaseUrl"], "a postgres:// URL with a host and a database name is needed"),
        userError(["rpcUrl"], "an http:// or https:// URL of the proxy's JSON-RPC endpoint")],
    }));
    await userEvent.click(await screen.findByRole("button", { name: "New proxy" }));
    const form = screen.getByRole("form", { name: "New proxy" });
    await userEvent.type(within(form).getByLabelText("Name"), "edge-2");
    await userEvent.type(within(form).getByLabelText("Database URL"), "mysql://x");
    await userEvent.type(within(form).getByLabelText("JSON-RPC URL"), "ftp://x");
    form.setAttribute("novalidate", "");
    await userEvent.click(within(form).getByRole("button", { name: "Create" }));
    await waitFor(() => expect(within(form).getByLabelText("Database URL")).toHaveAttribute("aria-invalid", "true"));
    expect(within(form).getByLabelText("Database URL")).toHaveAccessibleDescription(/a postgres:\/\/ URL/);
    expect(within(form).getByLabelText("JSON-RPC URL")).toHaveAccessibleDescription(/JSON-RPC endpoint/);
    expect(lastSent(sent, "SipProxyCreate")?.variables.input).toEqual({ name: "edge-2", databaseUrl: "mysql://x", rpcUrl: "ftp://x", enabled: true });
  });

  it("shows a viewer the proxies without edit controls", async () => {
    renderWithApi(<SipProxies />, answer(admin("PLATFORM", "VIEWER"), null));
    expect(await screen.findByRole("cell", { name: "edge-1" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /New|Edit|Delete/ })).toBeNull();
  });

  it("says how far each proxy is", () => {
    expect(proxyStatus(proxy, 7)).toBe("in step");
    expect(proxyStatus(proxy, 9)).toBe("2 behind");
    expect(proxyStatus({ ...proxy, lastError: "timeout", lastErrorAt: "2026-12-02T00:00:00Z" }, 9)).toBe("failing, 2 behind");
    expect(proxyStatus({ ...proxy, enabled: false }, 9)).toBe("disabled");
  });
});

describe("Subscriber credentials", () => {
  const subscriber = {
    __typename: "Subscriber", id: "S1", tenantId: "T1", securityGroupId: null, username: "alice", displayName: "Alice",
    email: "alice@acme.example.com", alias: "201", callerId: null, hasPin: true, status: "ACTIVE", source: "MANUAL", concurrentCalls: 2,
    ringTimeout: 20, voicemailToEmail: false, forwardUnconditional: null, forwardBusy: null, forwardNoAnswer: null,
  };
  const answer = (pinErrors: unknown[]) => (operation: string) => {
    switch (operation) {
      case "Me": return { me: admin("TENANT") };
      case "Subscribers": return { subscribers: connection("SubscriberConnection", [subscriber]) };
      case "SecurityGroups": return { securityGroups: { __typename: "SecurityGroupConnection", totalCount: 0, edges: [] } };
      case "SubscriberSipPasswordReset":
        return { subscriberSipPasswordReset: { __typename: "SubscriberSipPasswordResetPayload", subscriber: { __typename: "Subscriber", id: "S1" }, sipPassword: "new-secret-0123456789", errors: [] } };
      default:
        return { subscriberUpdate: { __typename: "SubscriberUpdatePayload", subscriber: pinErrors.length ? null : subscriber, warnings: [], errors: pinErrors } };
    }
  };

  it("resets the SIP password after confirmation and shows the new one", async () => {
    const { sent } = renderWithApi(<Subscribers tenantId="T1" canEdit />, answer([]));
    await userEvent.click(await screen.findByRole("button", { name: "Reset password" }));
    await userEvent.click(screen.getAllByRole("button", { name: "Reset password" }).at(-1)!);
    expect(await screen.findByLabelText("SIP password of alice")).toHaveTextContent("new-secret-0123456789");
    expect(lastSent(sent, "SubscriberSipPasswordReset")?.variables).toEqual({ input: { id: "S1" } });
  });

  it("sets a new PIN, shows a bad one at its field, and leaves a blank PIN out", async () => {
    const { sent } = renderWithApi(<Subscribers tenantId="T1" canEdit />, answer([userError(["pin"], "4 to 8 digits")]));
    await userEvent.click(await screen.findByRole("button", { name: "Edit alice" }));
    const form = await screen.findByRole("form", { name: "Edit alice" });
    const pin = within(form).getByLabelText("New facility PIN");
    expect(pin).toHaveAccessibleDescription(/A PIN is set/);
    await userEvent.type(pin, "12");
    await userEvent.click(within(form).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(pin).toHaveAttribute("aria-invalid", "true"));
    expect(pin).toHaveAccessibleDescription(/4 to 8 digits/);
    expect(lastSent(sent, "SubscriberUpdate")?.variables.input).toMatchObject({ id: "S1", pin: "12" });

    await userEvent.clear(pin);
    await userEvent.click(within(form).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(sent.filter((request) => request.operationName === "SubscriberUpdate")).toHaveLength(2));
    expect(lastSent(sent, "SubscriberUpdate")?.variables.input).not.toHaveProperty("pin");

    await userEvent.click(within(form).getByLabelText("Remove the PIN"));
    await userEvent.click(within(form).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(sent.filter((request) => request.operationName === "SubscriberUpdate")).toHaveLength(3));
    expect(lastSent(sent, "SubscriberUpdate")?.variables.input).toMatchObject({ pin: null });
  });
});

describe("Google service account link", () => {
  it("sends the key file's text and shows the API's errors at their fields", async () => {
    const { sent } = renderWithApi(<ServiceAccountForm tenant="T1" onLinked={() => undefined} />, (operation) =>
      operation === "Me" ? { me: admin("TENANT") } : {
        directoryServiceAccountLink: { __typename: "DirectoryLinkPayload", directoryLink: null,
          errors: [userError(["adminEmail"], "not an administrator of acme.example.com")] },
      });
    screen.getByRole("form", { name: "Service account" }).setAttribute("novalidate", "");
    await userEvent.upload(screen.getByLabelText("Service account key (JSON)"), new File(['{"type":"service_account"}'], "key.json", { type: "application/json" }));
    await userEvent.type(screen.getByLabelText("Administrator e-mail"), "it@acme.example.com");
    await userEvent.click(screen.getByRole("button", { name: "Link with the service account" }));
    const email = screen.getByLabelText("Administrator e-mail");
    await waitFor(() => expect(email).toHaveAccessibleDescription("not an administrator of acme.example.com"));
    expect(lastSent(sent, "DirectoryServiceAccountLink")?.variables.input).toEqual({
      tenant: "T1", keyJson: '{"type":"service_account"}', adminEmail: "it@acme.example.com",
    });
  });
});
