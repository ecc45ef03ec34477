// Forms against the real client over a fake API: each UserError shows at its field.
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router-dom";
import { renderWithApi } from "../test/api";
import { ConfirmButton } from "../ui/confirm";
import Customers from "./Customers";
import { Login } from "./Login";

const emptyConnection = (typename: string) => ({
  __typename: typename,
  totalCount: 0,
  pageInfo: { __typename: "PageInfo", hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
  edges: [],
});

const ispAdmin = {
  __typename: "Administrator",
  id: "A1",
  email: "owner@alpha.example.com",
  fullName: "Owner",
  grants: [{ __typename: "RoleGrant", id: "G1", scope: "ISP", role: "ADMIN", tenantId: null, isp: null }],
};

describe("Login", () => {
  beforeEach(() => {
    document.cookie = "whv_csrf=token-123";
  });

  it("shows the API's INVALID_CREDENTIALS at the password, and sends the CSRF header", async () => {
    const { sent } = renderWithApi(<Login />, (operation) =>
      operation === "Me"
        ? { me: null }
        : {
            login: {
              __typename: "LoginPayload",
              administrator: null,
              csrfToken: null,
              errors: [{ __typename: "UserError", field: ["password"], code: "INVALID_CREDENTIALS", message: "wrong e-mail or password" }],
            },
          },
    );
    await userEvent.type(screen.getByLabelText("E-mail"), "owner@alpha.example.com");
    await userEvent.type(screen.getByLabelText("Password"), "not the password");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));

    const password = screen.getByLabelText("Password");
    await waitFor(() => expect(password).toHaveAttribute("aria-invalid", "true"));
    expect(password).toHaveAccessibleDescription("wrong e-mail or password");
    expect(screen.getByLabelText("E-mail")).not.toHaveAttribute("aria-invalid");
    const login = sent.find((request) => request.operationName === "Login")!;
    expect(login.variables).toEqual({ input: { email: "owner@alpha.example.com", password: "not the password" } });
    expect(login.headers.get("X-CSRF-Token")).toBe("token-123");
  });

  it("returns to the page asked for after logging in", async () => {
    let loggedIn = false;
    renderWithApi(
      <Routes>
        <Route path="/login" element={<Login />} />
        <Route path="/numbers" element={<p>numbers screen</p>} />
      </Routes>,
      (operation) => {
        if (operation === "Me") return { me: loggedIn ? ispAdmin : null };
        loggedIn = true;
        return { login: { __typename: "LoginPayload", administrator: { __typename: "Administrator", id: "A1" }, csrfToken: "t", errors: [] } };
      },
      "/login?next=%2Fnumbers",
    );
    await userEvent.type(screen.getByLabelText("E-mail"), "owner@alpha.example.com");
    await userEvent.type(screen.getByLabelText("Password"), "tangerine-orbit-4417-lake");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByText("numbers screen")).toBeInTheDocument();
  });
});

describe("Customers", () => {
  it("maps nested contact errors to their fields and keeps the form open", async () => {
    const { sent } = renderWithApi(<Customers />, (operation) => {
      switch (operation) {
        case "Me":
          return { me: ispAdmin };
        case "Customers":
          return { customers: emptyConnection("CustomerConnection") };
        case "ServicePlanChoices":
          return { servicePlans: { __typename: "ServicePlanConnection", edges: [] } };
        default:
          return {
            customerCreate: {
              __typename: "CustomerPayload",
              customer: null,
              errors: [
                { __typename: "UserError", field: ["contact", "email"], code: "INVALID", message: "not a valid e-mail address" },
                { __typename: "UserError", field: ["maxSubscribers"], code: "INVALID", message: "at least 1" },
              ],
            },
          };
      }
    });
    await userEvent.click(await screen.findByRole("button", { name: "New customer" }));
    await userEvent.type(screen.getByLabelText("Name"), "Acme Corp");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));

    await waitFor(() => expect(screen.getByLabelText("Contact e-mail")).toHaveAttribute("aria-invalid", "true"));
    expect(screen.getByLabelText("Contact e-mail")).toHaveAccessibleDescription("not a valid e-mail address");
    expect(screen.getByLabelText("Max subscribers")).toHaveAccessibleDescription("at least 1");
    expect(screen.getByRole("form", { name: "New customer" })).toBeInTheDocument();
    const create = sent.find((request) => request.operationName === "CustomerCreate")!;
    expect(create.variables.input).toMatchObject({ name: "Acme Corp", maxSubscribers: 10, status: "ACTIVE", servicePlan: null });
  });

  it("shows a viewer no edit control", async () => {
    const viewer = { ...ispAdmin, grants: [{ ...ispAdmin.grants[0], role: "VIEWER" }] };
    renderWithApi(<Customers />, (operation) =>
      operation === "Me" ? { me: viewer } : { customers: emptyConnection("CustomerConnection") },
    );
    expect(await screen.findByText("0 customers")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "New customer" })).toBeNull();
  });
});

describe("query budget", () => {
  it("asks again once the API says enough budget is back", async () => {
    let customersAsked = 0;
    renderWithApi(<Customers />, (operation) => {
      if (operation === "Me") return { me: ispAdmin };
      customersAsked += 1;
      if (customersAsked === 1) {
        return {
          data: null,
          errors: [{ message: "Query budget exceeded", extensions: { code: "QUERY_BUDGET_EXCEEDED", retryAfterSeconds: 0.05 } }],
        };
      }
      return { customers: { ...emptyConnection("CustomerConnection"), totalCount: 7 } };
    });
    expect(await screen.findByText(/Too many requests/)).toBeInTheDocument();
    expect(await screen.findByText("7 customers")).toBeInTheDocument();
    expect(customersAsked).toBe(2);
  });
});

describe("ConfirmButton", () => {
  it("confirms only once the word is typed again", async () => {
    const confirmed: string[] = [];
    renderWithApi(
      <ConfirmButton label="Delete tenant" title="Delete tenant acme?" typeToConfirm="acme.alpha.example" onConfirm={(typed) => { confirmed.push(typed); }} />,
      () => ({ me: null }),
    );
    await userEvent.click(screen.getByRole("button", { name: "Delete tenant" }));
    const confirm = screen.getAllByRole("button", { name: "Delete tenant" }).at(-1)!;
    expect(confirm).toBeDisabled();
    await userEvent.type(screen.getByLabelText("Type acme.alpha.example to confirm"), "acme.alpha.exampl");
    expect(confirm).toBeDisabled();
    await userEvent.type(screen.getByLabelText("Type acme.alpha.example to confirm"), "e");
    expect(confirm).toBeEnabled();
    await userEvent.click(confirm);
    expect(confirmed).toEqual(["acme.alpha.example"]);
  });

  it("inside another form, confirms without submitting that form", async () => {
    const confirmed: string[] = [];
    const outer: string[] = [];
    renderWithApi(
      <form aria-label="Settings" onSubmit={(event) => { event.preventDefault(); outer.push("submitted"); }}>
        <button type="submit">Save</button>
        <ConfirmButton label="Delete tenant" title="Delete?" typeToConfirm="acme" onConfirm={(typed) => { confirmed.push(typed); }} />
      </form>,
      () => ({ me: null }),
    );
    await userEvent.click(screen.getByRole("button", { name: "Delete tenant" }));
    await userEvent.type(screen.getByLabelText("Type acme to confirm"), "acme");
    await userEvent.click(screen.getAllByRole("button", { name: "Delete tenant" }).at(-1)!);
    expect(confirmed).toEqual(["acme"]);
    expect(outer).toEqual([]);
  });
});
