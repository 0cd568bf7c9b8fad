// Browser flow of the customer 360, driven by e2e_customers_test.go:
//   node customers.mjs BASE_URL SETUP_PATH SEEDED_PROFILE_ID
// An anonymous visitor views two community pages (kizuna.js sends the page views to the tracking
// API on the same origin), signs up, and a staff member then finds the new member by email and
// sees those page views on the 360 timeline. Env as flow.mjs.
import { check, step, shot, part, launch } from "./lib.mjs";

const [base, setupPath, seeded] = process.argv.slice(2);

// visit opens a community page and waits until its tracker has delivered what it queued.
async function visit(page, url, sent) {
  const batch = page.waitForResponse((r) => r.url() === base + "/v1/batch" && r.request().method() === "POST");
  await page.goto(url);
  const res = await batch;
  check(res.status() === 200, "tracking API accepted the batch: " + res.status());
  const body = JSON.parse(res.request().postData());
  for (const ev of body.batch) sent.push(ev);
}

const browser = await launch();
const errors = [];
try {
  const visitorCtx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "ja-JP" });
  visitorCtx.setDefaultTimeout(15000);
  const page = await visitorCtx.newPage();
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));

  step("an anonymous visitor views two community pages");
  const sent = [];
  await visit(page, base + "/", sent);
  await visit(page, base + "/spaces", sent);
  const views = sent.filter((e) => e.type === "page");
  check(views.length === 2, "two page views sent: " + JSON.stringify(sent.map((e) => e.type)));
  check(views[0].anonymousId && views[0].anonymousId === views[1].anonymousId && !views[0].userId, "one anonymous browser");
  check(views[1].properties.path === "/spaces", "the second view is /spaces");
  const aid = views[0].anonymousId;
  const cookies = await visitorCtx.cookies(base);
  check(cookies.some((c) => c.name === "kizuna_aid" && c.value === aid), "the anonymous id is in the kizuna_aid cookie");

  step("the visitor signs up; the first page as a member identifies them once");
  await page.goto(base + "/signup");
  await page.fill("#display_name", "日向 葵");
  await page.fill("#email", "hinata@sample.co.jp");
  await page.fill("#password", "hinata no password");
  const identified = page.waitForResponse((r) => r.url() === base + "/v1/batch" && r.request().postData().includes('"identify"'));
  await Promise.all([page.waitForURL(base + "/?notice=welcome"), page.click("form.form button[type=submit]")]);
  const idBatch = JSON.parse((await identified).request().postData()).batch;
  const identify = idBatch.find((e) => e.type === "identify");
  check(identify.anonymousId === aid && identify.userId, "identify links the browser to the member: " + JSON.stringify(identify));
  const again = [];
  await visit(page, base + "/spaces", again);
  check(!again.some((e) => e.type === "identify"), "no second identify in the same session");
  check(again.every((e) => e.userId === identify.userId), "later page views carry the member id");

  step("staff find the member by email and see the page views from before the sign-up");
  const staffCtx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "ja-JP" });
  staffCtx.setDefaultTimeout(15000);
  const staff = await staffCtx.newPage();
  staff.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  staff.on("pageerror", (e) => errors.push(String(e)));
  await staff.goto(base + setupPath);
  await staff.fill("#display_name", "佐藤 愛子");
  await staff.fill("#email", "aiko@sample.co.jp");
  await staff.fill("#password", "a long admin password");
  await Promise.all([staff.waitForURL(base + "/admin"), staff.click("form.form button[type=submit]")]);
  check(await staff.locator("script[src='/kizuna.js']").count() === 0, "staff pages are not tracked");
  await staff.click(".sidebar-customers");
  await staff.waitForURL(base + "/admin/customers");
  await staff.fill("#customer-q", "ＨＩＮＡＴＡ＠ｓａｍｐｌｅ．ｃｏ．ｊｐ");
  await Promise.all([staff.waitForURL(/\/admin\/customers\?q=/), staff.click(".customer-search button")]);
  const hit = staff.locator("a.customer-link", { hasText: "日向 葵" });
  await hit.waitFor();
  await shot(staff, "admin-customers-ja.png");
  await Promise.all([staff.waitForURL(/\/admin\/customers\/[^?]+$/), hit.click()]);
  // The profile consumer works in the background: reload until the sign-up and views are there.
  let text = "";
  for (let i = 0; i < 40; i++) {
    text = await staff.textContent("#timeline");
    if (text.includes("会員登録") && (text.match(/ページを閲覧/g) || []).length >= 3) break;
    await staff.waitForTimeout(250);
    await staff.reload();
  }
  check(text.includes("会員登録"), "timeline has the sign-up: " + text);
  const before = await staff.locator(".tl-page .tl-url", { hasText: "/spaces" }).count();
  check(before >= 2, "timeline has the /spaces views, before and after signing up: " + before);
  check((await staff.textContent("#identities")).includes(aid), "the browser's anonymous id is one of the member's identities");
  await shot(staff, "admin-customer-member-ja.png", true);

  step("the seeded customer's 360 in Japanese and English");
  await staff.goto(base + "/admin/customers/" + seeded);
  check((await staff.textContent("h1")).includes("山田 太郎"), "seeded customer");
  await shot(staff, "admin-customer-ja.png", true);
  step("the seeded customer's consents: the matrix, the evidence, the provision records");
  const emailRow = staff.locator("#consent-email");
  check(await emailRow.locator("td[data-purpose=marketing] .consent-pill.consent-in").count() === 1, "email marketing is opted in");
  check(await emailRow.locator("td[data-purpose=product_news] .consent-pill.consent-out").count() === 1, "email product news is opted out");
  const evidence = await emailRow.locator("td[data-purpose=marketing] .consent-pill").getAttribute("title");
  check(evidence.includes("signup-2026-04") && evidence.includes("会員登録フォーム"), "the pill's title shows the evidence: " + evidence);
  await staff.locator("#consents details.consent-history summary").click();
  await staff.locator("#consents .consent-log li").first().waitFor();
  check((await staff.textContent("#consents .consent-log")).includes("203.0.113.7"), "the history shows the IP address");
  check((await staff.textContent("#provisions")).includes("Salesforce"), "the provision records are listed");
  await part(staff, "#consents", "admin-customer-consents-ja.png");
  await part(staff, "#provisions", "admin-customer-provisions-ja.png");
  check(await staff.locator("#dsr form#dsr-export").count() === 1 && await staff.locator("#dsr form#dsr-erasure").count() === 1,
    "the data-subject request forms are on the 360");
  await part(staff, "#dsr", "admin-customer-dsr-ja.png");
  await staff.locator("#merges details.confirm summary").click();
  await staff.locator("#merges .confirm-form").waitFor();
  await shot(staff, "admin-customer-unmerge-ja.png");
  await Promise.all([staff.waitForURL(/\/admin\/customers\//), staff.click(".lang-switch button[value=en]")]);
  await staff.waitForFunction(() => document.documentElement.lang === "en");
  await shot(staff, "admin-customer-en.png", true);
  await part(staff, "#consents", "admin-customer-consents-en.png");
  await staff.goto(base + "/admin/customers?q=" + encodeURIComponent("090-1234-5678"));
  await staff.locator("a.customer-link").first().waitFor();
  await shot(staff, "admin-customers-en.png");
  await staff.setViewportSize({ width: 420, height: 900 });
  await staff.goto(base + "/admin/customers/" + seeded);
  await shot(staff, "admin-customer-narrow-en.png");
  await part(staff, "#consents", "admin-customer-consents-narrow-en.png");

  check(errors.length === 0, "no console errors: " + errors.join("\n"));
  console.log("ok");
} finally {
  await browser.close();
}
