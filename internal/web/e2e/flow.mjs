// Browser flow of the web shell, driven by e2e_test.go: node flow.mjs BASE_URL SETUP_PATH
// Env: KIZUNA_E2E_MODULES (node_modules holding playwright-core), CHROMIUM (browser binary),
// KIZUNA_SCREENSHOTS (optional directory for PNGs).
import path from "node:path";
import { check, step, shot, launch, shots } from "./lib.mjs";

const [base, setupPath] = process.argv.slice(2);

async function htmlLang(page) {
  return page.evaluate(() => document.documentElement.lang);
}

const browser = await launch();
const errors = [];
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "ja-JP" });
  ctx.setDefaultTimeout(15000);
  const page = await ctx.newPage();
  // Any CSP violation or script error fails the flow.
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));

  step("set-up link creates the first administrator");
  await page.goto(base + setupPath);
  check(await htmlLang(page) === "ja", "set-up page in Japanese");
  await page.fill("#display_name", "佐藤 愛子");
  await page.fill("#email", "aiko@example.com");
  await page.fill("#password", "a long admin password");
  await Promise.all([page.waitForURL(base + "/admin"), page.click("form.form button[type=submit]")]);
  const nav = await page.locator(".sidebar-link").allTextContents();
  check(nav.length === 14, "sidebar has fourteen sections (customers, segments, scores, data requests, tracking sources, log-in providers, moderation, spaces, badges and surveys too), got " + JSON.stringify(nav));

  step("create an API key through htmx and revoke it");
  await page.click(".sidebar-api_keys");
  await page.waitForURL(base + "/admin/api-keys");
  await page.fill("#key-name", "BI エクスポート");
  await page.check("input[name=scopes][value=read]");
  await page.click("#key-form button[type=submit]");
  const secret = page.locator("#new-key-value");
  await secret.waitFor();
  const raw = (await secret.textContent()).trim();
  check(raw.startsWith("kzn_") && raw.length > 20, "raw key shown: " + raw);
  check(page.url() === base + "/admin/api-keys", "htmx kept the page: " + page.url());
  const row = page.locator("#key-rows tr", { hasText: "BI エクスポート" });
  await row.waitFor();
  check((await row.textContent()).includes(raw.slice(0, 10)), "row shows the key's prefix");

  page.once("dialog", (d) => d.accept());
  await row.locator("button", { hasText: "失効させる" }).click();
  await page.locator("#key-rows tr.is-revoked", { hasText: "BI エクスポート" }).waitFor();

  await page.fill("#key-name", "CRM 連携");
  await page.check("input[name=scopes][value=read]");
  await page.check("input[name=scopes][value=write]");
  await page.click("#key-form button[type=submit]");
  await page.locator(".secret-panel", { hasText: "CRM 連携" }).waitFor();
  await page.locator("#key-rows tr", { hasText: "CRM 連携" }).waitFor();
  // Full page: the secret panel, the form and both keys (one revoked) do not fit in 800px.
  await shot(page, "admin-api-keys-ja.png", true);

  step("create a tracking source through htmx");
  await page.click(".sidebar-sources");
  await page.waitForURL(base + "/admin/sources");
  await page.fill("#source-name", "コーポレートサイト");
  await page.click("#source-form button[type=submit]");
  const writeKey = page.locator("#new-write-key");
  await writeKey.waitFor();
  const wk = (await writeKey.textContent()).trim();
  check(wk.length > 20, "write key shown: " + wk);
  check((await page.textContent("#new-source-snippet")).includes("curl -u " + wk + ":"), "example uses the write key");
  await page.locator("#source-rows tr", { hasText: "コーポレートサイト" }).waitFor();
  await shot(page, "admin-sources-ja.png", true);

  step("audit log");
  await page.click(".sidebar-audit");
  await page.waitForURL(base + "/admin/audit");
  check((await page.textContent("main")).includes("API キーを失効"), "audit shows the revocation");
  await shot(page, "admin-audit-ja.png");
  await page.click(".sidebar-overview");
  await page.waitForURL(base + "/admin");
  check((await page.textContent(".stat-grid")).includes("1"), "overview counts");
  await shot(page, "admin-overview-ja.png");

  step("switch to English");
  await Promise.all([page.waitForURL(base + "/admin"), page.click(".lang-switch button[value=en]")]);
  await page.waitForFunction(() => document.documentElement.lang === "en");
  check((await page.textContent("h1")).includes("Welcome, 佐藤 愛子"), "English heading");
  check((await page.textContent(".sidebar")).includes("Audit log"), "English sidebar");

  step("log out");
  await page.click("details.menu summary");
  await Promise.all([page.waitForURL(base + "/"), page.click("form[action='/logout'] button")]);
  check(await page.locator("a[href='/signup']").count() > 0, "landing offers sign-up");
  check(await htmlLang(page) === "en", "still English after log-out");
  await shot(page, "home-en.png");
  await page.goto(base + "/login");
  await shot(page, "login-en.png");

  step("back to Japanese, sign up a member");
  await Promise.all([page.waitForURL(base + "/login"), page.click(".lang-switch button[value=ja]")]);
  await page.waitForFunction(() => document.documentElement.lang === "ja");
  await page.goto(base + "/");
  await shot(page, "home-ja.png");
  await page.goto(base + "/signup");
  await shot(page, "signup-ja.png");
  await page.fill("#display_name", "山田 花子");
  await page.fill("#email", "hanako@example.com");
  await page.fill("#password", "hanako no password");
  await Promise.all([page.waitForURL(base + "/?notice=welcome"), page.click("form.form button[type=submit]")]);
  const banner = page.locator("#verify-banner");
  await banner.waitFor();
  check((await banner.textContent()).includes("メールアドレスを確認してください"), "verification banner");
  check((await page.textContent(".feed-head")).includes("山田 花子"), "welcome names the member");
  await banner.locator("button").click();
  await page.locator("#verify-banner .banner-note").waitFor();
  await shot(page, "home-member-ja.png");

  step("mobile home page");
  if (shots) {
    const mobile = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "ja-JP", deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const mp = await mobile.newPage();
    await mp.goto(base + "/");
    check(await htmlLang(mp) === "ja", "mobile home in Japanese");
    await mp.evaluate(() => document.fonts.ready);
    await mp.screenshot({ path: path.join(shots, "home-mobile-ja.png") });
    console.log("screenshot: home-mobile-ja.png");
    await mobile.close();
  }
  check(errors.length === 0, "browser errors: " + errors.join(" | "));
  console.log("ok");
} finally {
  await browser.close();
}
