// End to end in a real browser: an ISP signs up from the e-mailed link and sets up a
// carrier, numbers, a dial plan, a customer, a tenant and its subscribers, downloads
// the credentials sheet; a tenant viewer cannot edit; call records (empty: the filters
// and the empty state), a customer's usage (zeros), its CSV export and re-rating, vendor
// rates, a subscriber's password reset and PIN; a platform operator's SIP proxy in
// Routing; a second ISP never sees the first one's objects. Screenshots of each main screen go to e2e/artifacts/.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { launchChromium, startServer, startServices, WEB } from "./harness.mjs";

const ARTIFACTS = join(WEB, "e2e", "artifacts");
const PASSWORD = "tangerine-orbit-4417-lake";
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

const results = [];
let shot = 0;

async function step(name, page, body) {
  const started = Date.now();
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}\n${error.stack ?? error}`);
    if (page) await page.screenshot({ path: join(ARTIFACTS, `failed-${name.replace(/\W+/g, "-")}.png`), fullPage: true }).catch(() => {});
    throw error;
  }
}

async function screenshot(page, name) {
  shot += 1;
  await page.screenshot({ path: join(ARTIFACTS, `${String(shot).padStart(2, "0")}-${name}.png`), fullPage: true });
}

// CI runs this beside two test suites on two cores: waits are generous.
async function newContext(browser, options) {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(60000);
  return context;
}

// Every screen's queries are paid from the viewer's query budget, which refills over
// time; a long run of screens (each save reads every list on screen again) can spend
// it. Before the steps that read a lot, wait until the budget has refilled to `points`.
async function budgetBack(page, points) {
  const deadline = Date.now() + 90000;
  for (;;) {
    const remaining = await page.evaluate(async () => {
      const csrf = document.cookie.match(/(?:^|; )whv_csrf=([^;]*)/)?.[1] ?? "";
      const response = await fetch("/graphql", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": decodeURIComponent(csrf) },
        body: JSON.stringify({ query: "{ me { id } }" }),
      });
      return (await response.json()).extensions?.cost?.remaining ?? 0;
    });
    if (remaining >= points) return;
    if (Date.now() > deadline) throw new Error(`the query budget stayed at ${remaining}`);
    await new Promise((wake) => setTimeout(wake, 1000));
  }
}

function tokenOf(message) {
  const link = message.links.find((url) => url.includes("token="));
  assert.ok(link, `a link with a token in ${JSON.stringify(message.links)}`);
  return new URL(link).searchParams.get("token");
}

async function signUp(page, base, mailbox, { email, name, label, colour }) {
  await page.goto(`${base}/join`);
  await page.getByLabel("Work e-mail").fill(email);
  await page.getByRole("button", { name: "Send me the link" }).click();
  await page.getByText(`We sent a link to ${email}`).waitFor();
  const token = tokenOf(await mailbox.waitFor(email));
  await page.goto(`${base}/join/complete?token=${encodeURIComponent(token)}`);
  await page.getByLabel("Full name").fill(`${name} Admin`);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByLabel("ISP name").fill(name);
  await page.getByLabel("Namespace label").fill(label);
  await page.getByLabel("Primary colour").fill(colour);
  await page.getByLabel("Logo (PNG or JPEG)").setInputFiles({ name: "logo.png", mimeType: "image/png", buffer: PNG });
  await page.getByRole("button", { name: "Create my ISP" }).click();
  await page.waitForURL(`${base}/isp`);
  await page.getByRole("heading", { name }).waitFor();
}

async function main() {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  const services = await startServices();
  const mailbox = { waitFor: services.waitForMail };
  const server = await startServer({ smtpPort: services.smtpPort, settings: services.settings });
  const browser = await launchChromium();
  const { base } = server;
  const external = [];
  try {
    const alpha = await newContext(browser, { acceptDownloads: true, viewport: { width: 1366, height: 768 } });
    const page = await alpha.newPage();
    // No request may leave the server under test (fonts, icons, trackers...).
    alpha.on("request", (request) => {
      const url = new URL(request.url());
      // The Google fake stands for the provider's consent page, which the user is sent to.
      if (request.url().startsWith(new URL(services.googleAuthUri).origin)) return;
      if (!["127.0.0.1", ""].includes(url.hostname) && !url.protocol.startsWith("data")) external.push(request.url());
    });
    let tenantUrl = "";

    await step("an ISP signs up from the e-mailed link, with its logo and colour", page, async () => {
      await signUp(page, base, mailbox, { email: "owner@alpha.example.com", name: "Alpha Telecom", label: "alpha", colour: "#aa3300" });
      const primary = await page.evaluate(() => document.documentElement.style.getPropertyValue("--primary"));
      assert.equal(primary, "#aa3300");
      const logo = page.getByRole("img", { name: "Alpha Telecom logo" }).first();
      await logo.waitFor();
      assert.ok(await logo.evaluate((img) => img.complete && img.naturalWidth > 0), "the logo loads");
      await screenshot(page, "isp");
    });

    await step("a carrier with a gateway; a host name is refused at its field", page, async () => {
      await page.getByRole("link", { name: "Carriers" }).click();
      await page.getByRole("button", { name: "New carrier" }).click();
      await page.getByLabel("Name").fill("Carrier One");
      await page.getByRole("button", { name: "Create" }).click();
      await page.getByRole("link", { name: "Carrier One" }).click();
      await page.getByRole("heading", { name: "Carrier Carrier One" }).waitFor();
      const address = page.getByLabel("Address");
      await address.fill("gw.example.com");
      await page.getByRole("button", { name: "Add gateway" }).click();
      await page.locator('input[name="address"][aria-invalid="true"]').waitFor();
      await address.fill("192.0.2.10:5060");
      await page.getByRole("button", { name: "Add gateway" }).click();
      await page.getByRole("cell", { name: "192.0.2.10:5060", exact: true }).waitFor();
      await address.fill("192.0.2.11");
      await page.getByRole("button", { name: "Add gateway" }).click();
      await page.getByRole("cell", { name: "192.0.2.11:5060", exact: true }).waitFor();
      await page.getByRole("button", { name: "Move 192.0.2.11:5060 up" }).click();
      await page.locator("tbody tr").first().getByText("192.0.2.11:5060").waitFor();
      await screenshot(page, "carrier");
    });

    await step("numbers: a range, totals and filters", page, async () => {
      await page.getByRole("link", { name: "Numbers" }).click();
      await page.getByRole("button", { name: "Add a range" }).click();
      await page.getByLabel("First number").fill("+12125550100");
      await page.getByLabel("Last number").fill("+12125550129");
      await page.getByRole("button", { name: "Add all" }).click();
      await page.getByText("30 numbers added.").waitFor();
      await page.getByRole("button", { name: "Close" }).click();
      await page.getByRole("status").filter({ hasText: "30 numbers" }).waitFor();
      assert.equal(await page.locator("tbody tr").count(), 25, "one page of 25");
      await page.getByRole("button", { name: "Next" }).click();
      await page.getByRole("cell", { name: "+12125550129", exact: true }).waitFor();
      await page.getByLabel("Starts with").fill("+1212555010");
      await page.getByRole("status").filter({ hasText: /^10 numbers$/ }).waitFor();
      await screenshot(page, "numbers");
    });

    await step("numbers: a CSV import followed live", page, async () => {
      await page.getByLabel("Starts with").fill("");
      await page.getByRole("button", { name: "Import CSV" }).click();
      const csv = "e164,source,type,price,vendor_price,voice,sms\n+13125550100,acct,LOCAL,1.50,0.25,true,false\n+13125550101,acct,LOCAL,1.50,0.25,true,false\n";
      await page.getByLabel("CSV file").setInputFiles({ name: "numbers.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
      await page.getByRole("button", { name: "Import", exact: true }).click();
      await page.getByText(/Import: succeeded/).waitFor({ timeout: 30000 });
      await page.getByRole("button", { name: "Close" }).click();
      await page.getByRole("status").filter({ hasText: "32 numbers" }).waitFor();
    });

    await step("a dial plan with a rule and a live simulation", page, async () => {
      await page.getByRole("link", { name: "Dial plans" }).click();
      await page.getByRole("button", { name: "New dial plan" }).click();
      await page.getByLabel("Name").fill("US local");
      await page.getByRole("button", { name: "Create" }).click();
      await page.getByRole("link", { name: "US local" }).click();
      await page.getByLabel("Description").fill("7 digits");
      await page.getByLabel("Match expression").fill("^([2-9][0-9]{6})$");
      await page.getByLabel("Substitution expression").fill("^([2-9][0-9]{6})$");
      await page.getByLabel("Replacement").fill("+_CC__AC_\\1");
      await page.getByRole("button", { name: "Add rule" }).click();
      await page.getByRole("cell", { name: "7 digits", exact: true }).waitFor();
      await page.getByLabel("Dialled number").fill("5550123");
      await page.getByLabel("Caller's area code").fill("212");
      await page.getByTestId("simulation-result").filter({ hasText: "+12125550123" }).waitFor();
      await screenshot(page, "dial-plan");
    });

    await step("a service plan with a service rate and an imported rate deck", page, async () => {
      await page.getByRole("link", { name: "Service plans" }).click();
      await page.getByRole("button", { name: "New service plan" }).click();
      await page.getByLabel("Name").fill("Business");
      await page.getByLabel("Monthly price per subscriber").fill("4.50");
      await page.getByRole("button", { name: "Create" }).click();
      await page.getByRole("link", { name: "Business" }).click();
      await page.getByRole("heading", { name: "Service plan Business" }).waitFor();
      const rate = page.locator("form[aria-label='New service rate']");
      await rate.getByLabel("Rate per minute").fill("0.0200");
      await rate.getByRole("button", { name: "Add rate" }).click();
      await page.getByRole("cell", { name: "0.0200", exact: true }).waitFor();
      const deck = "prefix,rate_per_minute,description\n+44,0.0150,United Kingdom\n+4420,0.0100,London\n";
      const form = page.locator("form[aria-label='Import the rate deck']");
      await form.getByLabel("CSV file").setInputFiles({ name: "deck.csv", mimeType: "text/csv", buffer: Buffer.from(deck) });
      await form.getByRole("button", { name: "Import" }).click();
      await page.getByText(/Rate deck import: succeeded/).waitFor({ timeout: 30000 });
      await page.getByRole("cell", { name: "London", exact: true }).waitFor();
      await page.getByRole("status").filter({ hasText: /^2 rates$/ }).waitFor();
      await screenshot(page, "service-plan");
    });

    await step("a customer; a bad limit shows at its field", page, async () => {
      await page.getByRole("link", { name: "Customers" }).click();
      await page.getByRole("button", { name: "New customer" }).click();
      await page.getByLabel("Name", { exact: true }).fill("Acme Corp");
      await page.getByLabel("Max subscribers").fill("0");
      // The browser's own min check would stop the form; the API's answer is what is tested.
      await page.locator("form[aria-label='New customer']").evaluate((form) => form.setAttribute("novalidate", ""));
      await page.getByRole("button", { name: "Save" }).click();
      await page.locator('input[name="maxSubscribers"][aria-invalid="true"]').waitFor();
      await page.getByLabel("Max subscribers").fill("50");
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByRole("cell", { name: "Acme Corp", exact: true }).waitFor();
      await screenshot(page, "customers");
    });

    await step("a tenant on the carrier and dial plan", page, async () => {
      await page.getByRole("link", { name: "Tenants" }).click();
      await page.getByRole("button", { name: "New tenant" }).click();
      const form = page.locator("form[aria-label='New tenant']");
      await form.getByLabel("Name").fill("Acme");
      await form.getByLabel("Domain").fill("acme");
      await form.getByLabel("Customer").selectOption({ label: "Acme Corp" });
      await form.getByLabel("Carrier").selectOption({ label: "Carrier One" });
      await form.getByLabel("Dial plan").selectOption({ label: "US local" });
      await form.getByLabel("Default country code").fill("1");
      await form.getByLabel("Default area code").fill("212");
      await page.getByRole("button", { name: "Create" }).click();
      await page.getByText("Softphone provisioning credentials, shown this once").waitFor();
      await page.getByRole("link", { name: "Open the tenant" }).click();
      await page.getByRole("heading", { name: "Tenant Acme" }).waitFor();
      tenantUrl = page.url();
      await screenshot(page, "tenants");
    });

    await step("subscribers in bulk, a password revealed, the credentials sheet downloaded", page, async () => {
      await page.getByRole("button", { name: "Bulk create" }).click();
      await page.getByLabel(/One subscriber a line/).fill("alice, alice@acme.example.com, Alice, 201\nbob, bob@acme.example.com, Bob, 201");
      await page.getByRole("button", { name: "Create all" }).click();
      await page.getByText(/^Line 2/).waitFor();
      await page.getByLabel(/One subscriber a line/).fill("alice, alice@acme.example.com, Alice, 201\nbob, bob@acme.example.com, Bob, 202");
      await page.getByRole("button", { name: "Create all" }).click();
      await page.getByText("2 subscribers created").waitFor();
      await page.getByRole("button", { name: "Close" }).click();
      await page.getByRole("status").filter({ hasText: "2 subscribers" }).waitFor();
      await page.getByRole("button", { name: "Edit alice" }).click();
      const edit = page.locator("form[aria-label='Edit alice']");
      await edit.getByLabel("Forward always to").fill("+442071234567");
      await edit.getByRole("button", { name: "Save" }).click();
      await edit.locator('input[name="forwardUnconditional"][aria-invalid="true"]').waitFor();
      await edit.getByLabel("Forward always to").fill("202");
      await edit.getByRole("button", { name: "Save" }).click();
      await edit.waitFor({ state: "detached" });
      await page.getByRole("button", { name: "Reveal the SIP password of alice" }).click();
      const revealed = await page.getByLabel("SIP password of alice").textContent();
      assert.ok(revealed && revealed.length >= 12, "a SIP password is shown");
      const [download] = await Promise.all([
        page.waitForEvent("download", { timeout: 30000 }),
        page.getByRole("button", { name: "Download credentials sheet" }).click(),
      ]);
      const path = join(ARTIFACTS, download.suggestedFilename());
      await download.saveAs(path);
      assert.match(download.suggestedFilename(), /\.xlsx$/);
      assert.ok(statSync(path).size > 1000, "the sheet has content");
      await screenshot(page, "tenant");
    });

    await step("a security group opens a country for a subscriber", page, async () => {
      const form = page.locator("form[aria-label='New security group']");
      await form.getByLabel("Name").fill("UK");
      await form.getByLabel("Countries").fill("GB, QQ");
      await form.getByRole("button", { name: "Create" }).click();
      await form.locator('input[name="countries"][aria-invalid="true"]').waitFor();
      await form.getByLabel("Countries").fill("GB");
      await form.getByRole("button", { name: "Create" }).click();
      await page.getByRole("cell", { name: "UK", exact: true }).waitFor();
      await page.getByRole("button", { name: "Edit bob" }).click();
      const edit = page.locator("form[aria-label='Edit bob']");
      await edit.getByLabel("Security group").selectOption({ label: "UK" });
      await edit.getByRole("button", { name: "Save" }).click();
      await edit.waitFor({ state: "detached" });
      await page.reload();
      await page.getByRole("button", { name: "Edit bob" }).click();
      const again = page.locator("form[aria-label='Edit bob']").getByLabel("Security group");
      assert.equal(await again.evaluate((select) => select.selectedOptions[0].textContent), "UK");
      await page.locator("form[aria-label='Edit bob']").getByRole("button", { name: "Close" }).click();
    });

    await step("the route preview: what the carrier's gateway receives when bob dials London", page, async () => {
      const preview = page.locator("[aria-label='Route preview']");
      const caller = preview.getByLabel("Caller");
      await caller.selectOption(await caller.locator("option", { hasText: /^bob\b/ }).getAttribute("value"));
      await preview.getByLabel("Dials").fill("+442079460000");
      await preview.getByTestId("route-preview-outcome").filter({ hasText: "Goes out through the tenant's carrier" }).waitFor();
      await preview.getByRole("table", { name: "Gateways, in failover order" }).waitFor();
      await screenshot(page, "route-preview");
    });

    await step("a number assigned to the tenant rings a subscriber", page, async () => {
      await page.getByRole("link", { name: "Numbers" }).click();
      await page.getByLabel("Assign +12125550100 to").selectOption({ label: "acme.alpha.wehostvoip.localhost" });
      await page.locator("tr", { hasText: "+12125550100" }).getByRole("cell", { name: "assigned", exact: true }).waitFor();
      await page.goto(tenantUrl);
      await page.getByLabel("Where +12125550100 rings").selectOption({ label: "alice (201)" });
      await page.waitForTimeout(300);
      await page.reload();
      await page.getByRole("heading", { name: "Tenant Acme" }).waitFor();
      const rings = page.getByLabel("Where +12125550100 rings");
      await rings.locator("option", { hasText: "alice (201)" }).waitFor({ state: "attached" });
      assert.equal(await rings.evaluate((select) => select.selectedOptions[0].textContent), "alice (201)");
    });

    await step("a tenant viewer is invited, accepts in the console and cannot edit", page, async () => {
      await page.getByRole("link", { name: "Administrators" }).click();
      const form = page.locator("form[aria-label='Invite']");
      await form.getByLabel("E-mail").fill("viewer@acme.example.com");
      await form.getByLabel("Role").selectOption("VIEWER");
      await form.getByLabel("Where").selectOption({ label: "tenant acme.alpha.wehostvoip.localhost" });
      await page.getByRole("button", { name: "Send invitation" }).click();
      await page.getByText("Invitation sent to viewer@acme.example.com").waitFor();
      await screenshot(page, "administrators");
      const token = tokenOf(await mailbox.waitFor("viewer@acme.example.com"));
      const viewerContext = await newContext(browser, { viewport: { width: 1366, height: 768 } });
      const viewer = await viewerContext.newPage();
      await viewer.goto(`${base}/join/invitation?token=${encodeURIComponent(token)}`);
      await viewer.getByLabel("Full name").fill("Vera Viewer");
      await viewer.getByLabel("Password").fill(PASSWORD);
      await viewer.getByRole("button", { name: "Accept" }).click();
      await viewer.getByRole("heading", { name: "Tenant Acme" }).waitFor();
      await viewer.getByRole("cell", { name: "alice", exact: true }).waitFor();
      for (const control of ["New subscriber", "Bulk create", "Delete tenant", "Download credentials sheet"]) {
        assert.equal(await viewer.getByRole("button", { name: control }).count(), 0, `no ${control} for a viewer`);
      }
      assert.equal(await viewer.getByRole("button", { name: /Reveal the SIP password/ }).count(), 0);
      await viewer.getByRole("cell", { name: "alice (201)", exact: true }).waitFor();
      assert.equal(await viewer.getByLabel("Where +12125550100 rings").count(), 0);
      await screenshot(viewer, "tenant-viewer");
      await viewerContext.close();
    });

    await step("an ISP viewer sees the ISP's screens without edit controls", page, async () => {
      await page.getByRole("link", { name: "Administrators" }).click();
      const form = page.locator("form[aria-label='Invite']");
      await form.getByLabel("E-mail").fill("auditor@alpha.example.com");
      await form.getByLabel("Role").selectOption("VIEWER");
      await page.getByRole("button", { name: "Send invitation" }).click();
      await page.getByText("Invitation sent to auditor@alpha.example.com").waitFor();
      const token = tokenOf(await mailbox.waitFor("auditor@alpha.example.com"));
      const context = await newContext(browser, { viewport: { width: 1366, height: 768 } });
      const viewer = await context.newPage();
      await viewer.goto(`${base}/join/invitation?token=${encodeURIComponent(token)}`);
      await viewer.getByLabel("Full name").fill("Ada Auditor");
      await viewer.getByLabel("Password").fill(PASSWORD);
      await viewer.getByRole("button", { name: "Accept" }).click();
      await viewer.getByRole("heading", { name: "Alpha Telecom" }).waitFor();
      const screens = [["/customers", "Acme Corp"], ["/carriers", "Carrier One"], ["/numbers", "+12125550101"],
        ["/dial-plans", "US local"], ["/service-plans", "Business"], [tenantUrl.slice(base.length), "alice"]];
      for (const [path, seen] of screens) {
        await viewer.goto(`${base}${path}`);
        await viewer.getByRole("cell", { name: seen, exact: true }).first().waitFor();
        const buttons = await viewer.locator("main button").allTextContents();
        const edits = buttons.filter((text) => /^(New|Add|Import|Delete|Edit|Save|Bulk|Reveal|Reset|Re-rate|Release|Download)/.test(text));
        assert.deepEqual(edits, [], `no edit control on ${path}`);
      }
      await screenshot(viewer, "isp-viewer");
      await context.close();
    });

    await step("a session that ended goes to the login and comes back where it was", page, async () => {
      // Logging out in another tab ends the session on the server; this tab learns it
      // at its next move inside the console.
      await page.goto(`${base}/customers`);
      await page.getByRole("heading", { name: "Customers" }).waitFor();
      const other = await alpha.newPage();
      await other.goto(`${base}/isp`);
      await other.getByRole("button", { name: "Log out" }).click();
      await other.waitForURL(`${base}/login`);
      await other.close();
      await page.getByRole("link", { name: "Numbers" }).click();
      await page.waitForURL(/\/login\?next=%2Fnumbers/);
      await page.getByLabel("E-mail").fill("owner@alpha.example.com");
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL(`${base}/numbers`);
      // A deep link with a query string survives the round trip too.
      await alpha.clearCookies();
      await page.goto(`${base}/numbers?x=1`);
      await page.waitForURL(/\/login\?next=/);
      await page.getByLabel("E-mail").fill("owner@alpha.example.com");
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL(`${base}/numbers?x=1`);
      await page.getByRole("heading", { name: "Numbers" }).waitFor();
    });

    await step("routing status and the audit log", page, async () => {
      await page.getByRole("link", { name: "Routing" }).click();
      // An ISP learns whether its own changes are live; generations are the operators'.
      await page.getByText(/Every change is live|Changes are being exported|not in step/).waitFor();
      assert.equal(await page.getByText("Generation").count(), 0);
      await screenshot(page, "routing");
      await page.getByRole("link", { name: "Audit log" }).click();
      await page.getByRole("cell", { name: "owner@alpha.example.com", exact: true }).first().waitFor();
      await screenshot(page, "audit");
    });

    await step("call records: the empty state, and the filters work", page, async () => {
      await page.getByRole("link", { name: "Call records" }).click();
      await page.getByRole("heading", { name: "Call records" }).waitFor();
      await page.getByText("No calls yet.").waitFor();
      await page.getByRole("status").filter({ hasText: /^0 calls$/ }).waitFor();
      const filters = page.getByRole("search", { name: "Call record filters" });
      await filters.getByLabel("Customer").selectOption({ label: "Acme Corp" });
      await filters.getByLabel("Direction").selectOption("INBOUND");
      await filters.getByLabel("Answered").selectOption("yes");
      await filters.getByLabel("From").fill("2026-01-01");
      await filters.getByLabel("Number").fill("+44");
      await page.getByText("No call matches these filters.").waitFor();
      await screenshot(page, "call-records");
      await filters.getByRole("button", { name: "Clear filters" }).click();
      await page.getByText("No calls yet.").waitFor();
    });

    await step("usage: a customer's period answers zeros; its CSV export downloads; re-rating is confirmed", page, async () => {
      await page.getByRole("link", { name: "Usage" }).click();
      const period = page.locator("form[aria-label='Usage period']");
      await period.getByLabel("Customer").selectOption({ label: "Acme Corp" });
      // A period that ends before it starts is refused at "To".
      await period.getByLabel("From").fill("2026-06-30");
      await period.getByLabel("To (included)").fill("2026-06-01");
      await period.getByRole("button", { name: "Show usage" }).click();
      await period.locator('input[name="to"][aria-invalid="true"]').waitFor();
      const today = new Date().toISOString().slice(0, 10);
      await period.getByLabel("From").fill(`${today.slice(0, 8)}01`);
      await period.getByLabel("To (included)").fill(today);
      await period.getByRole("button", { name: "Show usage" }).click();
      await page.getByTestId("usage-calls").filter({ hasText: "0 (0 answered)" }).waitFor();
      await page.getByText("No rated calls in this period.").waitFor();
      await screenshot(page, "usage");
      await page.getByRole("button", { name: "Export CSV" }).click();
      await page.getByText(/Call records export: succeeded/).waitFor({ timeout: 60000 });
      const [download] = await Promise.all([
        page.waitForEvent("download", { timeout: 30000 }),
        page.getByRole("button", { name: "Download CSV" }).click(),
      ]);
      const path = join(ARTIFACTS, download.suggestedFilename());
      await download.saveAs(path);
      assert.match(download.suggestedFilename(), /\.csv$/);
      assert.match(readFileSync(path, "utf8"), /^\uFEFF?[a-z_]+,/, "the CSV starts with its header");
      await page.getByRole("button", { name: "Re-rate the period" }).click();
      await page.getByRole("heading", { name: "Rate this period's calls again?" }).waitFor();
      await page.getByRole("dialog").getByRole("button", { name: "Re-rate the period" }).click();
      await page.getByText(/^0 legs rated again, 0 changed/).waitFor();
    });

    await step("vendor rates imported on the carrier", page, async () => {
      await page.getByRole("link", { name: "Carriers" }).click();
      await page.getByRole("link", { name: "Carrier One" }).click();
      const form = page.locator("form[aria-label='Import vendor rates']");
      const rates = "prefix,rate_per_minute,description\n+44,0.0080,United Kingdom\n+1,0.0040,North America\n";
      await form.getByLabel("Vendor rates CSV").setInputFiles({ name: "vendor.csv", mimeType: "text/csv", buffer: Buffer.from(rates) });
      await form.getByRole("button", { name: "Import vendor rates" }).click();
      await page.getByText("2 vendor rates imported.").waitFor();
      await screenshot(page, "vendor-rates");
    });

    await step("a subscriber's SIP password reset and PIN set", page, async () => {
      await page.goto(tenantUrl);
      await page.getByRole("button", { name: "Reset password" }).last().click();
      await page.getByRole("dialog").getByRole("button", { name: "Reset password" }).click();
      const password = await page.getByLabel(/^SIP password of /).last().textContent();
      assert.ok(password && password.length >= 12, "a new SIP password is shown");
      await page.getByRole("button", { name: "Edit alice" }).click();
      const edit = page.locator("form[aria-label='Edit alice']");
      await edit.getByLabel("New facility PIN").fill("4417");
      await edit.getByRole("button", { name: "Save" }).click();
      await edit.waitFor({ state: "detached" });
      await page.getByRole("button", { name: "Edit alice" }).click();
      await page.locator("form[aria-label='Edit alice']").getByText("A PIN is set; leave blank to keep it.").waitFor();
      await page.locator("form[aria-label='Edit alice']").getByRole("button", { name: "Close" }).click();
    });

    await step("a platform operator adds a SIP proxy and sees it in Routing", page, async () => {
      await server.cli(["admin", "create", "--platform", "--email", "ops@platform.example.com", "--name", "Ops", "--password-stdin"], `${PASSWORD}\n`);
      const context = await newContext(browser, { viewport: { width: 1366, height: 768 } });
      const ops = await context.newPage();
      await ops.goto(`${base}/login`);
      await ops.getByLabel("E-mail").fill("ops@platform.example.com");
      await ops.getByLabel("Password").fill(PASSWORD);
      await ops.getByRole("button", { name: "Log in" }).click();
      await ops.getByRole("link", { name: "SIP proxies" }).click();
      await ops.getByText("No proxy yet.").waitFor();
      await ops.getByRole("button", { name: "New proxy" }).click();
      const form = ops.locator("form[aria-label='New proxy']");
      await form.getByLabel("Name").fill("edge-1");
      await form.getByLabel("Database URL").fill("mysql://kamailio@db/kamailio");
      await form.getByLabel("JSON-RPC URL").fill("http://127.0.0.1:9/RPC");
      await form.getByRole("button", { name: "Create" }).click();
      await form.locator('input[name="databaseUrl"][aria-invalid="true"]').waitFor();
      await form.getByLabel("Database URL").fill("postgres://kamailio:secret@127.0.0.1:9/kamailio");
      await form.getByRole("button", { name: "Create" }).click();
      await ops.getByRole("cell", { name: "edge-1", exact: true }).waitFor();
      assert.equal(await ops.getByText("secret").count(), 0, "the database password is not shown");
      await screenshot(ops, "sip-proxies");
      await ops.getByRole("navigation", { name: "Screens" }).getByRole("link", { name: "Routing" }).click();
      await ops.getByRole("table", { name: "Proxies" }).getByRole("cell", { name: "edge-1", exact: true }).waitFor();
      await screenshot(ops, "routing-proxies");
      await context.close();
    });

    await step("a domain to verify shows its TXT record; an SMBC", page, async () => {
      await budgetBack(page, 20000);
      await page.getByRole("link", { name: "Domains" }).click();
      await page.getByRole("textbox", { name: "Domain" }).fill("acme.example.com");
      await page.getByRole("button", { name: "Add domain" }).click();
      await page.getByRole("cell", { name: "acme.example.com", exact: true }).waitFor();
      await page.getByText("_wehostvoip-challenge.acme.example.com").waitFor();
      await screenshot(page, "domains");
      await page.getByRole("link", { name: "SMBCs" }).click();
      await page.getByLabel("Name").fill("SBC one");
      await page.getByLabel("Address").fill("192.0.2.50:5060");
      await page.getByRole("button", { name: "Create" }).click();
      await page.getByRole("cell", { name: "SBC one", exact: true }).waitFor();
      await screenshot(page, "smbcs");
    });

    await step("a tenant on a verified domain links its Google directory with the wizard", page, async () => {
      await page.getByRole("link", { name: "Domains" }).click();
      const name = await page.locator("tr", { hasText: "acme.example.com" }).locator("code").first().textContent();
      const value = await page.locator("tr", { hasText: "acme.example.com" }).locator("code").nth(1).textContent();
      await services.publishTxt(name, value);
      await page.getByRole("button", { name: "Check now" }).click();
      await page.getByRole("cell", { name: /^verified since/ }).waitFor();

      await page.getByRole("link", { name: "Tenants" }).click();
      await page.getByRole("button", { name: "New tenant" }).click();
      const form = page.locator("form[aria-label='New tenant']");
      await form.getByLabel("Name").fill("Acme Google");
      await form.getByLabel("Domain").fill("acme.example.com");
      await form.getByLabel("Customer").selectOption({ label: "Acme Corp" });
      await form.getByLabel("Default country code").fill("1");
      await page.getByRole("button", { name: "Create" }).click();
      await page.getByRole("link", { name: "Open the tenant" }).click();
      await page.getByRole("link", { name: /^Directory link/ }).click();

      // A Google service account is the other way in; a key that is not one is refused at its field.
      const account = page.locator("form[aria-label='Service account']");
      await account.getByLabel("Service account key (JSON)").setInputFiles({ name: "key.json", mimeType: "application/json", buffer: Buffer.from("{}") });
      await account.getByLabel("Administrator e-mail").fill("it@acme.example.com");
      await account.getByRole("button", { name: "Link with the service account" }).click();
      await account.locator('input[name="keyJson"][aria-invalid="true"]').waitFor();

      await page.getByRole("button", { name: "Go to the provider's consent page" }).click();
      // The fake consents at once and sends the browser back through our callback.
      await page.getByText("The directory's administrator consented").waitFor({ timeout: 30000 });
      await page.getByText("linked", { exact: true }).waitFor();

      await page.getByLabel("First extension").fill("300");
      await page.getByRole("button", { name: "Discover users" }).click();
      await page.getByText(/Discovery: succeeded/).waitFor({ timeout: 60000 });
      await page.getByRole("cell", { name: "cyd@acme.example.com", exact: true }).waitFor();
      await page.getByLabel("Extension of ben@acme.example.com").fill("310");
      await page.getByLabel("Import cyd@acme.example.com").uncheck();
      await page.getByRole("button", { name: "Save changes" }).click();
      await page.getByRole("button", { name: "Save changes" }).and(page.locator(":disabled")).waitFor();
      // What the preview shows once read back from the API.
      await page.waitForFunction(() => {
        const input = (label) => document.querySelector(`input[aria-label="${label}"]`);
        return input("Extension of ben@acme.example.com")?.value === "310" && input("Import cyd@acme.example.com")?.checked === false;
      }, null, { timeout: 10000 });
      await screenshot(page, "directory-preview");

      await page.getByRole("button", { name: "Import" }).click();
      const [download] = await Promise.all([
        page.waitForEvent("download", { timeout: 90000 }),
        page.getByRole("dialog").getByRole("button", { name: "Import" }).click(),
      ]);
      assert.match(download.suggestedFilename(), /\.xlsx$/);
      await page.getByText(/Import: succeeded/).waitFor();
      await screenshot(page, "directory-imported");

      await page.getByRole("link", { name: "Back to the tenant" }).click();
      await page.getByRole("status").filter({ hasText: /^2 subscribers$/ }).waitFor();
      await page.getByRole("cell", { name: "310", exact: true }).waitFor();
      await page.getByRole("cell", { name: "google", exact: true }).first().waitFor();
    });

    await step("an API token works as a bearer credential until it is revoked", page, async () => {
      await page.getByRole("link", { name: "API tokens" }).click();
      await page.locator("form[aria-label='New API token']").getByLabel("Name", { exact: true }).fill("billing export");
      await page.getByRole("button", { name: "Create token" }).click();
      const token = (await page.getByLabel("Secret of the new token").textContent()).trim();
      const me = async () => {
        const response = await fetch(`${base}/graphql`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: "{ me { email } }" }),
        });
        const body = await response.json();
        return response.status === 401 ? body.errors?.[0]?.extensions?.code : body.data?.me;
      };
      assert.deepEqual(await me(), { email: "owner@alpha.example.com" });
      await page.getByRole("button", { name: "Revoke" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
      await page.getByText(/^revoked /).waitFor();
      // A refused token is an HTTP 401, not an anonymous request.
      assert.equal(await me(), "UNAUTHENTICATED");
    });

    await step("a second ISP never sees the first one's objects", page, async () => {
      const beta = await newContext(browser, { viewport: { width: 1366, height: 768 } });
      const other = await beta.newPage();
      await signUp(other, base, mailbox, { email: "owner@beta.example.net", name: "Beta Net", label: "beta", colour: "#006644" });
      for (const [path, noun] of [["/customers", "customers"], ["/carriers", "carriers"], ["/tenants", "tenants"], ["/numbers", "numbers"], ["/dial-plans", "dial plans"], ["/domains", "domains"], ["/smbcs", "SMBCs"], ["/service-plans", "service plans"]]) {
        await other.goto(`${base}${path}`);
        await other.getByRole("status").filter({ hasText: new RegExp(`^0 ${noun}$`) }).waitFor();
      }
      await other.goto(tenantUrl);
      await other.getByRole("heading", { name: "Tenant not found" }).waitFor();
      assert.equal(await other.getByText("Acme").count(), 0);
      await screenshot(other, "second-isp");
      await beta.close();
    });

    await step("deleting the tenant asks for its domain typed again", page, async () => {
      await page.goto(tenantUrl);
      await page.getByRole("button", { name: "Delete tenant" }).click();
      const dialog = page.getByRole("dialog");
      const typed = dialog.getByLabel("Type acme.alpha.wehostvoip.localhost to confirm");
      await typed.fill("acme");
      assert.equal(await dialog.getByRole("button", { name: "Delete tenant" }).isDisabled(), true);
      await typed.fill("acme.alpha.wehostvoip.localhost");
      await dialog.getByRole("button", { name: "Delete tenant" }).click();
      await page.waitForURL(`${base}/tenants`);
      await page.getByRole("status").filter({ hasText: /^1 tenants$/ }).waitFor();
      await page.getByRole("cell", { name: "acme.example.com", exact: true }).waitFor();
      assert.equal(await page.getByRole("cell", { name: "acme.alpha.wehostvoip.localhost", exact: true }).count(), 0);
    });

    await step("no request left the server under test", null, async () => {
      assert.deepEqual(external, []);
    });
  } finally {
    await browser.close();
    await server.stop();
    services.stop();
  }
}

main()
  .catch(() => {
    process.exitCode = 1;
  })
  .finally(() => {
    const passed = results.filter((result) => result.ok).length;
    console.log(`e2e: ${passed} passed, ${results.length - passed} failed`);
    if (results.length === 0 || passed !== results.length) process.exitCode = 1;
  });
