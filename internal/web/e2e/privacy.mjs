// The member's privacy centre, driven by e2e_privacy_test.go:
//   node privacy.mjs BASE_URL EMAIL PASSWORD ANONYMOUS_ID
// A member logs in (the browser's tracker cookie set to ANONYMOUS_ID first), opens the privacy
// centre from the account menu, opts out of email marketing, downloads their data, and deletes
// their account; the farewell page clears the site's data from the browser. Staff then see the
// erasure completed. KIZUNA_SCREENSHOTS=DIR writes the privacy centre's screenshots.
import fs from "node:fs";
import { check, step, shot, part, launch, watch, errors } from "./lib.mjs";

const [base, email, password, aid] = process.argv.slice(2);

const browser = await launch();
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "ja-JP", acceptDownloads: true });
  ctx.setDefaultTimeout(15000);
  await ctx.addCookies([{ name: "kizuna_aid", value: aid, url: base }]);
  const page = await ctx.newPage();
  watch(page);

  step("the member logs in and opens the privacy centre from the account menu");
  await page.goto(base + "/login");
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.click("form.form button[type=submit]")]);
  await page.click("summary.who");
  await Promise.all([page.waitForURL(base + "/settings/privacy"), page.click(".menu-list a.menu-privacy")]);
  check((await page.textContent("h1")).includes("プライバシーセンター"), "the privacy centre in Japanese");
  const marketing = page.locator("input[name='c.email.marketing']");
  check(await marketing.isChecked(), "email marketing is on (opted in at sign-up)");
  check(await page.locator("input[name='c.email.product_news']").isChecked(), "product news is on");
  check(await page.locator("#pc-line").count() === 1 && await page.locator("#pc-sms").count() === 1, "LINE and SMS rows for the linked LINE account and phone");
  check((await page.textContent("#identities")).includes("LINE"), "the LINE account is listed");
  check((await page.textContent("#provisions")).includes("Salesforce"), "the provision record is listed");
  check((await page.inputValue("input[name=text_version]")) === "privacy-centre-2026-05:ja", "the wording's version is in the form");
  await shot(page, "privacy-centre-ja.png", true);

  step("the member opts out of email marketing");
  await marketing.uncheck();
  await Promise.all([page.waitForURL(/notice=saved/), page.click("#save-consents")]);
  check(!(await page.locator("input[name='c.email.marketing']").isChecked()), "email marketing is off after saving");
  check(await page.locator("input[name='c.email.product_news']").isChecked(), "product news stays on");
  check((await page.textContent(".alert-success")).includes("保存しました"), "the saved notice");
  await part(page, "#consents", "privacy-consents-ja.png");

  step("the member downloads their data");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-data")]);
  check(/^kizuna-data-\d{8}-\d{6}\.zip$/.test(download.suggestedFilename()), "the archive's name: " + download.suggestedFilename());
  const file = await download.path();
  const bytes = fs.readFileSync(file);
  check(bytes.length > 1000 && bytes.subarray(0, 2).toString() === "PK", "a zip archive of " + bytes.length + " bytes");
  const text = bytes.toString("latin1");
  for (const name of ["json/account.json", "csv/posts.csv", "json/consents.json", "json/direct_messages.json", "json/events.json", "manifest.json"]) {
    check(text.includes(name), "the archive holds " + name);
  }

  step("the privacy centre in English");
  await Promise.all([page.waitForURL(/\/settings\/privacy/), page.click(".lang-switch button[value=en]")]);
  await page.waitForFunction(() => document.documentElement.lang === "en");
  check((await page.textContent("h1")).includes("Privacy centre"), "the privacy centre in English");
  await shot(page, "privacy-centre-en.png", true);
  await Promise.all([page.waitForURL(/\/settings\/privacy/), page.click(".lang-switch button[value=ja]")]);
  await page.waitForFunction(() => document.documentElement.lang === "ja");

  step("the privacy centre on a phone");
  await page.setViewportSize({ width: 400, height: 860 });
  await page.goto(base + "/settings/privacy");
  await shot(page, "privacy-centre-mobile-ja.png");
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(base + "/settings/privacy");

  step("the member deletes the account");
  await page.click("#delete summary");
  await page.locator("#delete-account").waitFor();
  await page.check("#delete-understand");
  await page.fill("#confirm_email", "someone-else@example.com");
  const before = errors.length;
  await page.click("#delete-account");
  await page.locator("#delete .alert-error").waitFor();
  // The form comes back with 422, which the browser logs: expected here.
  errors.splice(before, errors.length - before, ...errors.slice(before).filter((e) => !e.includes("422")));
  check(page.url() === base + "/settings/privacy/delete", "a wrong address keeps the member on the form");
  await page.check("#delete-understand");
  await page.fill("#confirm_email", email);
  await part(page, "#delete", "privacy-delete-ja.png");
  await page.click("#delete-account");
  await page.locator(".pc-goodbye h1").waitFor();
  check((await page.textContent(".pc-goodbye h1")).includes("アカウントを削除しました"), "the farewell page");
  const cookies = await ctx.cookies(base);
  check(!cookies.some((c) => c.name === "kizuna_session" || c.name === "kizuna_aid"), "the session and tracker cookies are gone: " + JSON.stringify(cookies));
  const stored = await page.evaluate(() => Object.keys(localStorage));
  check(!stored.some((k) => k.startsWith("kizuna_")), "the tracker's storage is gone: " + stored);
  check(await page.locator("script[src='/kizuna.js']").count() === 0, "the farewell page tracks nothing");
  await shot(page, "privacy-goodbye-ja.png");
  await page.goto(base + "/settings/privacy");
  check(page.url().startsWith(base + "/login"), "logged out: " + page.url());

  step("staff see the erasure completed");
  const staffCtx = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: "ja-JP" });
  staffCtx.setDefaultTimeout(15000);
  const staff = await staffCtx.newPage();
  watch(staff);
  await staff.goto(base + "/login");
  await staff.fill("#email", "admin@example.com");
  await staff.fill("#password", "admin password 1");
  await Promise.all([staff.waitForURL((u) => !u.pathname.startsWith("/login")), staff.click("form.form button[type=submit]")]);
  await staff.goto(base + "/admin/privacy?tab=all");
  let done = false;
  for (let i = 0; i < 60 && !done; i++) {
    done = (await staff.textContent("#requests tbody")).includes("消去済み");
    if (!done) { await staff.waitForTimeout(250); await staff.reload(); }
  }
  check(done, "the erasure is completed on the requests page");
  await shot(staff, "admin-privacy-ja.png");

  check(errors.length === 0, "no console errors: " + errors.join("\n"));
  console.log("ok");
} finally {
  await browser.close();
}
