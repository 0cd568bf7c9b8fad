// The onboarding survey and the personalised feed in Chromium, driven by onboarding_test.go:
// node onboarding.mjs BASE_URL EVENT_POST_IDS (comma-separated)
import { check, step, shot, launch, watch, errors } from "./lib.mjs";

const [base, eventList] = process.argv.slice(2);
const events = eventList.split(",");

// feedOrder is the post ids of the home feed, top first.
async function feedOrder(page) {
  return page.locator("#feed .feed-card").evaluateAll((cards) => cards.map((c) => c.dataset.post));
}

const browser = await launch();
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: "ja-JP" });
  ctx.setDefaultTimeout(15000);
  const a = await ctx.newPage();
  watch(a);

  step("a visitor sees the popular feed");
  await a.goto(base + "/");
  const popular = await feedOrder(a);
  check(popular.length === 5, "five posts in the popular feed, got " + popular.length);
  check(!events.includes(popular[0]) && !events.includes(popular[1]) && !events.includes(popular[2]), "popular posts first: " + popular);

  step("a new member signs up and is sent to the survey");
  await a.goto(base + "/signup");
  await a.fill("#display_name", "新井 春");
  await a.fill("#email", "haru@example.com");
  await a.fill("#password", "correct horse battery");
  await Promise.all([a.waitForURL(base + "/welcome"), a.click("form.form button[type=submit]")]);
  await a.locator("#onboarding-form").waitFor();
  check((await a.locator("h1").innerText()).includes("あなたのことを教えてください"), "the survey's title in Japanese");

  step("before answering, the home feed leads with popular product posts");
  const home = await ctx.newPage();
  watch(home);
  await home.goto(base + "/");
  const before = await feedOrder(home);
  check(before.length === 5, "five posts in the feed, got " + before.length);
  check(!events.includes(before[0]) && !events.includes(before[1]), "no event post first before the survey: " + before);
  await home.close();

  step("the member picks events and answers the rest");
  await a.locator(".ob-choice", { hasText: "イベント・勉強会" }).click();
  await a.locator(".ob-choice", { hasText: "新機能のアイデア" }).click();
  await a.locator(".ob-choice", { hasText: "マーケティング" }).click();
  await a.locator(".ob-scale-step", { hasText: "4" }).click();
  check(await a.locator(".ob-choice input[value=events]").isChecked(), "events is checked");
  await shot(a, "onboarding-ja.png", true);
  await Promise.all([a.waitForURL((u) => u.pathname === "/"), a.click("#onboarding-form button[type=submit]")]);

  step("the home feed now puts the event posts first");
  await a.locator("#feed").waitFor();
  const after = await feedOrder(a);
  check(events.includes(after[0]) && events.includes(after[1]), "event posts first after the survey: " + after);
  check((await a.locator("#feed .feed-card").first().innerText()).includes("「イベント」に興味があるため"), "the first card says why");
  check((await a.locator(".alert-success").innerText()).includes("回答を保存しました"), "the saved notice");
  await shot(a, "feed-ja.png", true);

  step("the member finds their answers in their settings");
  await a.goto(base + "/settings/interests");
  check(await a.locator(".ob-choice input[value=events]").isChecked(), "events still checked in the settings");

  step("staff see the questions and their automatic segments");
  const staffCtx = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: "ja-JP" });
  staffCtx.setDefaultTimeout(15000);
  const st = await staffCtx.newPage();
  watch(st);
  await st.goto(base + "/login");
  await st.fill("#email", "admin@example.com");
  await st.fill("#password", "admin password 1");
  await Promise.all([st.waitForURL((u) => !u.pathname.startsWith("/login")), st.click("form.form button[type=submit]")]);
  await st.goto(base + "/admin");
  await Promise.all([st.waitForURL(base + "/admin/onboarding"), st.click(".sidebar-link[href='/admin/onboarding']")]);
  check((await st.locator("table.table").first().innerText()).includes("自動セグメント"), "the automatic segment is shown");
  await shot(st, "admin-onboarding-ja.png", true);
  await staffCtx.close();

  check(errors.length === 0, "browser errors: " + errors.join(" | "));
  console.log("ok");
} finally {
  await browser.close();
}
