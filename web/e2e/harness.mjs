// What the browser tests run against: `wehostvoip serve` on a fresh SQLite database
// (the embedded default) serving the built console, with its e-mail going to the
// project's test SMTP server, and Debian's Chromium driven by playwright-core.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const WEB = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO = resolve(WEB, "..");
const VENV = process.env.WEHOSTVOIP_VENV ?? join(REPO, ".venv");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
// No network beyond the server under test, no background services of the browser.
export const CHROMIUM_ARGS = [
  "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
];

export function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

// The outside world (web/e2e/services.py): SMTP, DNS and Google fakes of tests/.
export async function startServices() {
  const child = spawn(join(VENV, "bin", "python"), [join(WEB, "e2e", "services.py")], { stdio: ["pipe", "pipe", "inherit"] });
  const messages = [];
  const acks = [];
  const waiting = [];
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise((done, fail) => {
    child.once("exit", (code) => fail(new Error(`services.py exited ${code}`)));
    lines.once("line", (line) => done(JSON.parse(line)));
  });
  lines.on("line", (line) => {
    const event = JSON.parse(line);
    if (event.to) messages.push(event);
    else acks.push(event);
    for (const wake of waiting.splice(0)) wake();
  });
  const until = async (found, what, timeoutMs = 20000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = found();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
      await new Promise((wake) => { waiting.push(wake); setTimeout(wake, 250); });
    }
  };
  return {
    smtpPort: ready.smtp_port,
    // Settings (names of core/settings.py) that point the service at the fakes.
    settings: ready.settings,
    googleAuthUri: ready.google,
    waitForMail(to, timeoutMs) {
      return until(() => messages.find((message) => message.to.includes(to.toLowerCase())), `an e-mail to ${to}`, timeoutMs);
    },
    async publishTxt(name, value) {
      const before = acks.length;
      child.stdin.write(`${JSON.stringify({ txt: [name, value] })}\n`);
      await until(() => acks.length > before, `the TXT record ${name}`);
    },
    stop() {
      child.stdin.end();
      child.kill("SIGTERM");
    },
  };
}

export async function startServer({ smtpPort, settings = {} } = {}) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "wehostvoip-e2e-"));
  const base = `http://127.0.0.1:${port}`;
  // Only settings of the test's own making: the developer's environment (a database
  // URL, a broker...) must not leak into the server under test.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("WEHOSTVOIP_")));
  Object.assign(env, {
    WEHOSTVOIP_DATA_DIR: dataDir,
    WEHOSTVOIP_PUBLIC_BASE_URL: base,
    WEHOSTVOIP_CONSOLE_DIR: join(WEB, "dist"),
    WEHOSTVOIP_LOG_LEVEL: "WARNING",
  });
  for (const [name, value] of Object.entries(settings)) env[`WEHOSTVOIP_${name.toUpperCase()}`] = String(value);
  if (smtpPort) {
    Object.assign(env, { WEHOSTVOIP_SMTP_HOST: "127.0.0.1", WEHOSTVOIP_SMTP_PORT: String(smtpPort), WEHOSTVOIP_SMTP_STARTTLS: "false" });
  }
  const child = spawn(join(VENV, "bin", "wehostvoip"), ["serve", "--host", "127.0.0.1", "--port", String(port)], {
    cwd: dataDir,
    env,
    stdio: ["ignore", "inherit", "inherit"],
  });
  const deadline = Date.now() + 90000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wehostvoip serve exited ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("wehostvoip serve did not become ready");
    await new Promise((wake) => setTimeout(wake, 200));
  }
  return {
    base,
    // The project's CLI against the same database (e.g. `admin create --platform`).
    cli(args, input = "") {
      return new Promise((done, fail) => {
        const run = spawn(join(VENV, "bin", "wehostvoip"), args, { cwd: dataDir, env, stdio: ["pipe", "inherit", "inherit"] });
        run.once("error", fail);
        run.once("exit", (code) => (code === 0 ? done() : fail(new Error(`wehostvoip ${args.join(" ")} exited ${code}`))));
        run.stdin.end(input);
      });
    },
    async stop() {
      child.kill("SIGTERM");
      await new Promise((done) => (child.exitCode !== null ? done() : child.once("exit", done)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}
