// Browser flow of the segment builder, driven by e2e_segments_test.go:
//   node segments.mjs BASE_URL SETUP_PATH SEGMENT_WITH_HISTORY CUSTOMER_ID
// Staff build a segment through the form: the live count follows each change, a condition and a
// group are added, the segment is saved, and its page draws the size chart. Env as flow.mjs.
import { check, step, shot, part, launch, watch, errors } from "./lib.mjs";

const [base, setupPath, historyID, customerID] = process.argv.slice(2);

const browser = await launch();
try {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 }, locale: "ja-JP" });
  ctx.setDefaultTimeout(15000);
  const page = await ctx.newPage();
  watch(page);

  step("the administrator signs in and opens the segments");
  await page.goto(base + setupPath);
  await page.fill("#display_name", "佐藤 愛子");
  await page.fill("#email", "aiko@sample.co.jp");
  await page.fill("#password", "a long admin password");
  await Promise.all([page.waitForURL(base + "/admin"), page.click("form.form button[type=submit]")]);
  await Promise.all([page.waitForURL(base + "/admin/segments"), page.click(".sidebar-segments")]);
  check((await page.textContent(".segment-table")).includes("エンタープライズ顧客"), "the seeded segment is listed");

  step("a new segment: the live count follows the conditions");
  await Promise.all([page.waitForURL(base + "/admin/segments/new"), page.click("#segment-new")]);
  // The empty first condition is not a definition yet: the preview says what to fix.
  await page.locator(".segment-preview-error").waitFor();
  await page.fill("#segment-name", "配信できる Pro 顧客");
  await page.fill("#c1-f-trait", "plan");
  await page.selectOption("#c1-f-op", "eq");
  await page.fill("#c1-f-value", "pro");
  await page.waitForFunction(() => document.querySelector("#preview-count")?.textContent.trim() === "9");
  check((await page.textContent(".segment-sample")).includes("佐藤 花子"), "the sample lists a pro customer by name");

  step("a 'not' group of two conditions: the count follows");
  await page.click("button[value='group:0']");
  await page.locator("select[name='c2.kind']").waitFor();
  await page.check("input[name='c2.not']");
  await page.fill("#c3-f-trait", "company");
  await page.fill("#c3-f-value", "株式会社サンプル1");
  await page.selectOption("select[name='c2.add']", "consent");
  await page.click("button[value='add:2']");
  await page.locator("#c4-f-consent-channel").waitFor();
  await page.selectOption("#c4-f-consent-status", "opted_out");
  await page.selectOption("#c1-f-op", "in");
  await page.fill("#c1-f-value", "pro, enterprise");
  await page.waitForFunction(() => document.querySelector("#preview-count")?.textContent.trim() === "14");
  await shot(page, "admin-segment-builder-ja.png", true);

  step("a bad value is shown beside its row, and the form keeps everything");
  await page.selectOption("#c1-f-op", "gt");
  await page.waitForFunction(() => document.querySelector(".segment-preview-error") !== null);
  check((await page.textContent(".segment-preview-error")).includes("definition.all[0].value"), "the preview names the path");
  const before = errors.length;
  await page.click("#segment-save");
  await page.locator("#row-1.has-error .seg-error").waitFor();
  // The browser logs the 422 answer that carries the form back; that one is expected.
  check(errors.length === before + 1 && errors[before].includes("422"), "only the 422 is logged: " + errors.slice(before).join("\n"));
  errors.splice(before, 1);
  check((await page.textContent("#row-1 .seg-error")).includes("definition.all[0].value"), "saving shows the error beside its row");
  check(await page.inputValue("#c3-f-value") === "株式会社サンプル1", "the form keeps what was typed");
  await part(page, ".segment-rules", "admin-segment-error-ja.png");
  await page.selectOption("#c1-f-op", "in");
  await page.waitForFunction(() => document.querySelector("#preview-count")?.textContent.trim() === "14");

  step("the builder in English");
  await Promise.all([page.waitForURL(base + "/admin/segments/new"), page.click(".lang-switch button[value=en]")]);
  await page.waitForFunction(() => document.documentElement.lang === "en");
  await page.fill("#segment-name", "Reachable pro customers");
  await page.fill("#c1-f-trait", "plan");
  await page.fill("#c1-f-value", "pro");
  await page.waitForFunction(() => document.querySelector("#preview-count")?.textContent.trim() === "9");
  await page.selectOption("select[name='c0.add']", "computed");
  await page.click("button[value='add:0']");
  await page.locator("#c2-f-computed").waitFor();
  await page.locator("details.segment-json summary").click();
  await page.waitForFunction(() => document.querySelector("#preview-count")?.textContent.trim() === "9");
  check((await page.inputValue("#segment-json")).includes('"computed": "last_seen"'), "the advanced JSON follows the form's rows: " + await page.inputValue("#segment-json"));
  await page.fill("#c1-f-value", "enterprise");
  await page.waitForFunction(() => document.querySelector("#segment-json").value.includes('"value": "enterprise"'));
  await page.fill("#c1-f-value", "pro");
  await page.waitForFunction(() => document.querySelector("#segment-json").value.includes('"value": "pro"'));
  await shot(page, "admin-segment-builder-en.png", true);

  step("JSON typed and not applied, then a row changed: the row, the latest change, decides");
  await page.fill("#segment-json", JSON.stringify({ trait: "plan", op: "eq", value: "free" }));
  await page.fill("#c1-f-value", "enterprise");
  await page.waitForFunction(() => document.querySelector("#segment-json").value.includes('"value": "enterprise"'));
  check(await page.inputValue("#c1-f-value") === "enterprise", "the row keeps its change");
  await page.fill("#c1-f-value", "pro");
  await page.waitForFunction(() => document.querySelector("#preview-count")?.textContent.trim() === "9");

  step("a condition the form cannot show stays as JSON");
  await page.fill("#segment-json", JSON.stringify({ all: [{ trait: "plan", op: "eq", value: "pro" },
    { not: { churn_risk: { op: "gte", value: 70 } } }] }, null, 2));
  await page.click("button[value=json]");
  await page.locator("textarea[name='c2.json']").waitFor();
  check((await page.inputValue("textarea[name='c2.json']")).includes('"churn_risk"'), "the unknown node is kept as written");
  check(await page.isChecked("input[name='c2.not']"), "its 'not' is a toggle of the row");
  await page.locator("#segment-preview .segment-preview-error").waitFor();
  await part(page, ".segment-rules", "admin-segment-json-row-en.png");

  step("back in Japanese: build and save the segment");
  await page.goto(base + "/admin/segments/new");
  await page.click(".lang-switch button[value=ja]");
  await page.waitForFunction(() => document.documentElement.lang === "ja");
  await page.fill("#segment-name", "配信できる Pro 顧客");
  await page.fill("#c1-f-trait", "plan");
  await page.fill("#c1-f-value", "pro");
  await page.selectOption("select[name='c0.add']", "consent");
  await page.click("button[value='add:0']");
  await page.locator("#c2-f-consent-status").waitFor();
  await page.check("input[name='c2.not']");
  await page.selectOption("#c2-f-consent-status", "opted_out");
  await page.selectOption("select[name='c0.add']", "open_tickets");
  await page.click("button[value='add:0']");
  await page.locator("#c3-f-open_tickets-value").waitFor();
  await page.selectOption("#c3-f-open_tickets-op", "lt");
  await page.fill("#c3-f-open_tickets-value", "3");
  await page.selectOption("#c1-f-op", "eq");
  // Nobody opted out and nobody has 3 open tickets: the 9 pro customers, narrowed to 6 by company.
  await page.selectOption("select[name='c0.add']", "trait");
  await page.click("button[value='add:0']");
  await page.locator("#c4-f-trait").waitFor();
  await page.fill("#c4-f-trait", "company");
  await page.selectOption("#c4-f-op", "in");
  await page.fill("#c4-f-value", "株式会社サンプル2, 株式会社サンプル3, 株式会社サンプル4");
  await page.waitForFunction(() => document.querySelector("#preview-count")?.textContent.trim() === "6");
  await Promise.all([page.waitForURL(/\/admin\/segments\/[0-9A-Z]+\?notice=created$/), page.click("#segment-save")]);
  check((await page.textContent("#segment-count")).trim() === "6", "the saved segment has 6 members");
  const words = await page.textContent(".seg-desc");
  check(words.includes("plan が pro に等しい") && words.includes("該当しない") && words.includes("未解決チケット数が 3 より小さい"), "the definition in words: " + words);
  await page.locator("#segment-chart canvas").waitFor();
  await shot(page, "admin-segment-new-ja.png", true);

  step("a segment with sixty days of history: the chart");
  await page.goto(base + "/admin/segments/" + historyID);
  await page.locator("#segment-chart canvas").waitFor();
  check(await page.locator("#segment-chart .u-legend").count() === 1, "uPlot drew the chart with its legend");
  await shot(page, "admin-segment-ja.png", true);
  await part(page, ".segment-chart-card", "admin-segment-chart-ja.png");
  await Promise.all([page.waitForURL(/\/admin\/segments\//), page.click(".lang-switch button[value=en]")]);
  await page.waitForFunction(() => document.documentElement.lang === "en");
  await page.locator("#segment-chart canvas").waitFor();
  await shot(page, "admin-segment-en.png", true);

  step("the list and the customer 360's segments");
  await page.goto(base + "/admin/segments");
  await shot(page, "admin-segments-en.png");
  await page.click(".lang-switch button[value=ja]");
  await page.waitForFunction(() => document.documentElement.lang === "ja");
  await shot(page, "admin-segments-ja.png");
  await page.goto(base + "/admin/customers/" + customerID);
  check((await page.textContent("#segments")).includes("エンタープライズ顧客"), "the 360 lists the customer's segment");
  await part(page, "#segments", "admin-customer-segments-ja.png");

  step("on a phone");
  await page.setViewportSize({ width: 420, height: 900 });
  await page.goto(base + "/admin/segments/" + historyID + "/edit");
  await page.waitForFunction(() => document.querySelector("#preview-count")?.textContent.trim() === "9");
  check(await page.locator(".segment-preview-btn").isHidden(), "with JavaScript the preview button is hidden: the count follows the form");
  await shot(page, "admin-segment-edit-narrow-ja.png", true);

  check(errors.length === 0, "no console errors: " + errors.join("\n"));
  console.log("ok");
} finally {
  await browser.close();
}
