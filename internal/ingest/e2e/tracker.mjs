// Browser run of kizuna.js, driven by tracker_test.go: node tracker.mjs SITE_URL API_URL
// Env: KIZUNA_E2E_MODULES (node_modules holding playwright-core), CHROMIUM (browser binary).
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.KIZUNA_E2E_MODULES, "noop.js"));
const { chromium } = require("playwright-core");

const [site, api] = process.argv.slice(2);

function check(cond, msg) {
  if (!cond) throw new Error("check failed: " + msg);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
    "--no-first-run", "--disable-component-update", "--disable-sync"],
});
try {
  const ctx = await browser.newContext({ locale: "ja-JP" });
  ctx.setDefaultTimeout(20000);
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const preflights = [];
  const batches = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(api + "/v1/")) return;
    if (r.method() === "OPTIONS") preflights.push(r.url());
    if (r.method() === "POST") {
      batches.push(r.postDataJSON());
      console.log("batch: " + r.headers()["content-type"] + " " + r.postData().length + " bytes");
    }
  });
  const ok = (r) => r.url() === api + "/v1/batch" && r.status() === 200;

  console.log("step: page one — page, track, identify, track; one flush after 1 s");
  let sent = page.waitForResponse(ok);
  await page.goto(site + "/one");
  await sent;
  const user = await page.evaluate(() => kizuna.user());
  console.log("user: " + JSON.stringify(user));
  check(user.userId === "u-1" && user.anonymousId, "identify stores the user id");
  const cookie = (await ctx.cookies(site)).find((c) => c.name === "kizuna_aid");
  check(cookie && cookie.value === user.anonymousId && cookie.sameSite === "Lax", "kizuna_aid cookie: " + JSON.stringify(cookie));
  check(cookie.expires - Date.now() / 1000 > 360 * 86400, "the cookie lasts a year");
  check(batches.length === 1 && batches[0].batch.length === 4, "one batch of four: " + JSON.stringify(batches.map((b) => b.batch.length)));
  check(batches[0].writeKey && batches[0].sentAt, "writeKey and sentAt in the body");
  check(await page.evaluate(() => localStorage.getItem("kizuna_queue")) === null, "nothing left queued after the flush");

  console.log("step: page two — stub calls before an async load; the first batch gets 503 and is retried");
  let failed = 0;
  await page.route(api + "/v1/batch", async (route) => {
    if (failed++ === 0) {
      await route.fulfill({ status: 503, headers: { "Access-Control-Allow-Origin": "*" }, body: "down" });
      return;
    }
    await route.continue();
  });
  sent = page.waitForResponse(ok, { timeout: 30000 });
  await page.goto(site + "/two");
  await sent;
  check(failed === 2, "one 503, then one retry: " + failed);
  check(batches[1].batch.map((e) => e.messageId).join() === batches[2].batch.map((e) => e.messageId).join(), "the retry resends the same events");
  check(preflights.length === 0, "text/plain needs no CORS preflight: " + preflights.join());
  check(errors.length === 0, "page errors: " + errors.join("; "));

  console.log("step: reset");
  await page.evaluate(() => kizuna.reset());
  const after = await page.evaluate(() => kizuna.user());
  check(after.userId === null && after.anonymousId !== user.anonymousId, "reset clears both ids: " + JSON.stringify(after));
  await page.unroute(api + "/v1/batch");

  console.log("step: a 4xx is never retried");
  let rejected = 0;
  await page.route(api + "/v1/batch", async (route) => {
    rejected++;
    await route.fulfill({ status: 400, headers: { "Access-Control-Allow-Origin": "*" }, body: "{}" });
  });
  await page.evaluate(() => { kizuna.track("Rejected"); return kizuna.flush(); });
  await page.waitForTimeout(2500);
  check(rejected === 1, "one request for a 400: " + rejected);
  check(await page.evaluate(() => localStorage.getItem("kizuna_queue")) === null, "a 400 leaves the queue");

  console.log("step: unsent events survive a reload in localStorage");
  await page.unroute(api + "/v1/batch");
  let aborted = 0;
  await page.route(api + "/v1/batch", (route) => { aborted++; return route.abort(); });
  await page.evaluate(() => { navigator.sendBeacon = () => false; kizuna.track("Offline"); return kizuna.flush(); });
  check(aborted === 1, "the network error: " + aborted);
  const stored = JSON.parse(await page.evaluate(() => localStorage.getItem("kizuna_queue")) || "[]");
  check(stored.length === 1 && stored[0].event === "Offline", "stored: " + JSON.stringify(stored));
  await page.unroute(api + "/v1/batch");
  sent = page.waitForResponse(ok);
  await page.goto(site + "/three");
  await sent;
  check(batches[batches.length - 1].batch.map((e) => e.event).join() === "Offline", "the next page sends what was stored");
  await page.waitForFunction(() => localStorage.getItem("kizuna_queue") === null);

  console.log("step: sendBeacon as the page goes away");
  // The page is gone before the 1 s flush: only the beacon can carry Leaving, which the Go test
  // looks for in the event log.
  await page.evaluate(() => kizuna.track("Leaving"));
  await page.goto("about:blank");
  await page.waitForTimeout(500);
  console.log("ok");
} finally {
  await browser.close();
}
