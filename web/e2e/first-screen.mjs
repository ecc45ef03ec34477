// Time to the first usable screen in Chromium against `wehostvoip serve` on the
// embedded default, for benchmarks/console.py. Each run is a fresh browser context
// (nothing cached). Measured inside the page: milliseconds from navigation start
// until the login form is on screen and the session check (`me`) has answered, which
// is when the user can type. Baseline, in the same run: the time to load the
// server's smallest page (/healthz) the same way. Prints one JSON object.
import { launchChromium, startServer } from "./harness.mjs";

const runs = Number(process.argv[2] ?? 7);
const server = await startServer();
const browser = await launchChromium();
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
try {
  const consoleTimes = [];
  const baselineTimes = [];
  for (let run = 0; run < runs + 1; run += 1) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.base}/healthz`, { waitUntil: "load" });
    const baseline = await page.evaluate(() => performance.getEntriesByType("navigation")[0].loadEventEnd);
    const me = page.waitForResponse((response) => response.url().endsWith("/graphql") && response.request().postData()?.includes('"Me"'));
    await page.goto(`${server.base}/login`);
    await me;
    await page.getByRole("button", { name: "Log in" }).waitFor();
    const ready = await page.evaluate(() => performance.now());
    await context.close();
    if (run === 0) continue; // the first run warms the server (imports, SQLite pages)
    consoleTimes.push(ready);
    baselineTimes.push(baseline);
  }
  console.log(JSON.stringify({ runs, console_ms: median(consoleTimes), baseline_ms: median(baselineTimes), console_all: consoleTimes }));
} finally {
  await browser.close();
  await server.stop();
}
