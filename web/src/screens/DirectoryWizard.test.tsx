// The directory wizard's preview step against the real client over a fake API.
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router-dom";
import { renderWithApi } from "../test/api";
import DirectoryWizard from "./DirectoryWizard";

const tenantAdmin = {
  __typename: "Administrator",
  id: "A1",
  email: "admin@acme.example.com",
  fullName: "Admin",
  grants: [{ __typename: "RoleGrant", id: "G1", scope: "TENANT", role: "ADMIN", tenantId: "T1", isp: null }],
};

const row = (id: string, email: string, alias: string, conflicts: string[] = []) => ({
  __typename: "DirectoryPreviewRow",
  id,
  email,
  displayName: email.split("@")[0],
  department: "Sales",
  username: email.split("@")[0],
  alias,
  callerId: null,
  excluded: false,
  conflicts,
  linkSubscriber: null,
});

function answer(me: unknown, updateErrors: unknown[]) {
  return (operation: string) => {
    if (operation === "Me") return { me };
    if (operation === "DirectoryLink") {
      return {
        directoryLink: {
          __typename: "DirectoryLink",
          id: "L1",
          provider: "GOOGLE",
          status: "LINKED",
          sequentialStart: 1000,
          lastSyncedAt: null,
          lastErrorCode: null,
          lastError: null,
          syncIntervalMinutes: 60,
          brakePercent: 10,
          removalGraceDays: 30,
          heldChanges: [],
          preview: {
            __typename: "DirectoryPreviewRowConnection",
            totalCount: 2,
            pageInfo: { __typename: "PageInfo", hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
            edges: [
              { __typename: "DirectoryPreviewRowEdge", node: row("R1", "ann@acme.example.com", "1000") },
              { __typename: "DirectoryPreviewRowEdge", node: row("R2", "ben@acme.example.com", "1001", ["extension 1001 is in use"]) },
            ],
          },
        },
      };
    }
    return { directoryPreviewUpdate: { __typename: "DirectoryPreviewUpdatePayload", rows: [], errors: updateErrors } };
  };
}

function renderWizard(me: unknown, updateErrors: unknown[] = []) {
  return renderWithApi(
    <Routes>
      <Route path="/tenants/:id/directory" element={<DirectoryWizard />} />
    </Routes>,
    answer(me, updateErrors),
    "/tenants/T1/directory",
  );
}

describe("DirectoryWizard preview", () => {
  it("sends only the edited rows, and names a refused row by its user's e-mail", async () => {
    const { sent } = renderWizard(tenantAdmin, [
      { __typename: "UserError", field: ["rows", "0", "alias"], code: "ALREADY_EXISTS", message: "extension 1000 is taken" },
    ]);
    expect(await screen.findByText("extension 1001 is in use")).toBeInTheDocument();
    const alias = screen.getByLabelText("Extension of ben@acme.example.com");
    await userEvent.clear(alias);
    await userEvent.type(alias, "1000");
    await userEvent.click(screen.getByLabelText("Import ann@acme.example.com"));
    await userEvent.click(screen.getByRole("button", { name: "Save changes" }));

    await waitFor(() => expect(sent.some((request) => request.operationName === "DirectoryPreviewUpdate")).toBe(true));
    const update = sent.find((request) => request.operationName === "DirectoryPreviewUpdate")!;
    expect(update.variables.input).toEqual({
      tenant: "T1",
      rows: [
        { id: "R2", alias: "1000", linkSubscriber: null },
        { id: "R1", excluded: true, alias: "1000", linkSubscriber: null },
      ],
    });
    const alert = await screen.findByText("ben@acme.example.com (alias): extension 1000 is taken");
    expect(within(alert.closest("[role=alert]")!).getByText(/ben@acme/)).toBeInTheDocument();
  });

  it("shows a viewer the preview without edit controls", async () => {
    const viewer = { ...tenantAdmin, grants: [{ ...tenantAdmin.grants[0], role: "VIEWER" }] };
    renderWizard(viewer);
    expect(await screen.findByText("ann@acme.example.com")).toBeInTheDocument();
    expect(screen.getByLabelText("Extension of ann@acme.example.com")).toBeDisabled();
    expect(screen.queryByRole("button", { name: "Save changes" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Import" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Discover users" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Save schedule" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Sync now" })).toBeNull();
  });
});
