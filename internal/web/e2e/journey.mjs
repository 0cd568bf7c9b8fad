// A member's whole journey with their data, driven by e2e_journey_test.go:
//   node journey.mjs BASE_URL EMAIL
// A visitor signs up with Google (a real OIDC provider on loopback), sees the permission screen
// and opts in to email offers, links LINE and opts in to LINE messages; in the privacy centre the
// member finds both opt-ins, opts out of email marketing, downloads their data and deletes the
// account. Env as flow.mjs.
import fs from "node:fs";
import { check, step, launch } from "./lib.mjs";

const [base, email] = process.argv.slice(2);

const browser = await launch();
const errors = [];
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "ja-JP", acceptDownloads: true });
  ctx.setDefaultTimeout(15000);
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));

  step("sign up with Google, through the permission screen, opting in to email offers");
  await page.goto(base + "/signup");
  await Promise.all([page.waitForURL(base + "/social/permission"), page.click(".btn-google")]);
  check((await page.textContent(".permission-list")).includes(email), "the permission screen says what is read");
  await page.check("input[value='email:marketing']");
  await Promise.all([page.waitForURL(base + "/?notice=welcome"), page.click(".permission-form button[type=submit]")]);

  step("link LINE, opting in to LINE messages");
  await page.goto(base + "/settings/connections");
  await Promise.all([page.waitForURL(base + "/social/permission"), page.click("#connection-line a.btn")]);
  await page.check("input[value='line:marketing']");
  await Promise.all([page.waitForURL(/\/settings\/connections\?notice=linked/), page.click(".permission-form button[type=submit]")]);
  check(await page.locator(".connection.is-linked").count() === 2, "Google and LINE are linked");

  step("the privacy centre shows both opt-ins; the member opts out of email marketing");
  await page.goto(base + "/settings/privacy");
  const marketing = page.locator("input[name='c.email.marketing']");
  check(await marketing.isChecked(), "email marketing is on, as chosen on the permission screen");
  check(await page.locator("input[name='c.line.marketing']").isChecked(), "LINE marketing is on, as chosen when linking LINE");
  await marketing.uncheck();
  await Promise.all([page.waitForURL(/notice=saved/), page.click("#save-consents")]);
  check(!(await page.locator("input[name='c.email.marketing']").isChecked()), "email marketing is off after saving");
  check(await page.locator("input[name='c.line.marketing']").isChecked(), "LINE marketing stays on");

  step("the member downloads their data");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-data")]);
  const bytes = fs.readFileSync(await download.path());
  check(bytes.subarray(0, 2).toString() === "PK", "a zip archive");
  const listing = bytes.toString("latin1");
  for (const name of ["json/account.json", "json/consents.json", "json/linked_accounts.json"]) {
    check(listing.includes(name), "the archive holds " + name);
  }

  step("the member deletes the account");
  await page.click("#delete summary");
  await page.check("#delete-understand");
  await page.fill("#confirm_email", email);
  await page.click("#delete-account");
  await page.locator(".pc-goodbye h1").waitFor();

  check(errors.length === 0, "no console errors: " + errors.join("\n"));
  console.log("ok");
} finally {
  await browser.close();
}
