// Community browser flow, driven by e2e_test.go: node community.mjs BASE_URL IDEA_ID EVENT_ID
// Two members in two browser contexts: a question answered and accepted, an idea voted through
// htmx, a direct message, and markup typed into every form never running (no dialog ever opens).
import path from "node:path";
import { check, step, shot, launch, watch, errors, shots } from "./lib.mjs";

const [base, ideaID, eventID] = process.argv.slice(2);
const payload = "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))";

async function signUp(page, name, email) {
  await page.goto(base + "/signup");
  await page.fill("#display_name", name);
  await page.fill("#email", email);
  await page.fill("#password", "a long enough password");
  await Promise.all([page.waitForURL(base + "/?notice=welcome"), page.click("form.form button[type=submit]")]);
}

const browser = await launch();
try {
  const ctxA = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: "ja-JP" });
  const ctxB = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: "ja-JP" });
  ctxA.setDefaultTimeout(15000);
  ctxB.setDefaultTimeout(15000);
  const a = await ctxA.newPage();
  const b = await ctxB.newPage();
  watch(a);
  watch(b);

  step("member A signs up and asks a question");
  await signUp(a, "田中 美咲", "misaki@example.com");
  await a.click(".main-link[href='/spaces']");
  await a.click(".space-card h2 a[href='/s/guide']");
  await a.waitForURL(base + "/s/guide");
  await a.click(".space-head-actions a.btn-primary");
  await a.waitForURL(base + "/s/guide/new");
  await a.check("input[name=kind][value=question]");
  await a.fill("#title", "CSV 取り込みで文字化けします");
  await a.fill("#body", "Excel で保存した **CSV** を取り込むと、日本語の列が文字化けします。\n\n- 件数: 約 3,000 行\n- 形式: Shift_JIS");
  await a.fill("#tags", "csv、取り込み");
  await Promise.all([a.waitForURL(/\/posts\/[^/]+$/), a.click("form.form button[type=submit]")]);
  const questionURL = a.url();
  check((await a.textContent(".post-title")).includes("文字化け"), "question shown");

  step("markup typed into the compose form stays text");
  await a.goto(base + "/s/guide/new");
  await a.fill("#title", "<img src=x onerror=alert(1)>");
  await a.fill("#body", payload);
  await Promise.all([a.waitForURL(/\/posts\/[^/]+$/), a.click("form.form button[type=submit]")]);
  check((await a.locator(".prose img[onerror], .prose script, a[href^='javascript:']").count()) === 0, "no executable markup in the post");

  step("member B signs up and answers");
  await signUp(b, "Ken Suzuki", "ken@example.com");
  await b.goto(questionURL);
  await b.fill("#reply-body", "文字コードを **UTF-8** にして保存し直すと直ります。\n\n`ファイル > 名前を付けて保存 > CSV UTF-8` を選んでください。");
  await Promise.all([b.waitForURL(/#c-/), b.click(".reply-box button[type=submit]")]);
  await b.fill("#reply-body", payload);
  await Promise.all([b.waitForURL(/#c-/), b.click(".reply-box button[type=submit]")]);
  check((await b.locator(".comment").count()) === 2, "two replies");

  step("A accepts the answer and the question is solved");
  await a.goto(questionURL);
  check((await a.locator("#notif-count").textContent()).trim().startsWith("2"), "A has two unread notifications");
  await Promise.all([a.waitForURL(/notice=accepted/), a.locator(".comment").first().locator(".accept-btn").click()]);
  await a.locator(".accepted-box").waitFor();
  check((await a.textContent(".topic-badges")).includes("解決済み"), "solved badge");

  step("A reacts to the answer through htmx; the same button takes it back");
  const like = a.locator(".comment").first().locator("form.reactions button[value=like]");
  await like.click();
  await a.waitForFunction(() => document.querySelector(".comment form.reactions button[value=like]").getAttribute("aria-pressed") === "true");
  check((await like.textContent()).includes("1"), "one like");
  check(a.url().endsWith("notice=accepted#answer") || a.url().includes("notice=accepted"), "htmx kept the page");
  await like.click();
  await a.waitForFunction(() => document.querySelector(".comment form.reactions button[value=like]").getAttribute("aria-pressed") === "false");
  await like.click();
  await a.waitForFunction(() => document.querySelector(".comment form.reactions button[value=like]").getAttribute("aria-pressed") === "true");
  await a.locator(".comment").first().locator("form.reactions button[value=clap]").click();
  await a.waitForFunction(() => document.querySelector(".comment form.reactions button[value=clap]").getAttribute("aria-pressed") === "true");
  await shot(a, "post-solved-ja.png", true);

  step("B opens the report page from a reply's link and goes back");
  await b.goto(questionURL);
  await Promise.all([b.waitForURL(/\/report\?kind=post/), b.click(".post-foot .report-at a")]);
  check((await b.textContent("h1")).includes("モデレーターに通報"), "report page in Japanese");
  await Promise.all([b.waitForURL(questionURL), b.click(".report-page a.btn-secondary")]);

  step("B sees the acceptance in the inbox");
  await b.click("a.icon-link[href='/notifications']");
  await b.waitForURL(base + "/notifications");
  check((await b.textContent(".inbox")).includes("ベストアンサー"), "answer accepted notification");
  await shot(b, "notifications-ja.png");

  step("vote on an idea through htmx");
  await a.goto(base + "/posts/" + ideaID);
  const before = Number((await a.textContent(".vote-count")).trim());
  await a.click(".vote-btn");
  await a.waitForFunction((n) => Number(document.querySelector(".vote-count").textContent.trim()) === n + 1, before);
  check(a.url() === base + "/posts/" + ideaID, "htmx kept the page");
  check(await a.getAttribute(".vote-btn", "aria-pressed") === "true", "vote pressed");

  step("RSVP going to an event through htmx");
  await a.click(".main-link[href='/events']");
  await a.waitForURL(base + "/events");
  check((await a.locator(".event-card").count()) >= 3, "upcoming events listed");
  await a.setViewportSize({ width: 1280, height: 800 });
  await shot(a, "events-ja.png");
  await a.click(`.event-card a.topic-title[href='/events/${eventID}']`);
  await a.waitForURL(base + "/events/" + eventID);
  check((await a.locator(".join-url").count()) === 0, "no join link before going");
  await a.click(".rsvp-going");
  await a.locator(".rsvp-state.is-going").waitFor();
  check(a.url() === base + "/events/" + eventID, "htmx kept the page");
  check((await a.textContent(".rsvp-counts .rsvp-n")).trim().startsWith("4"), "four going");
  check((await a.textContent(".rsvp-message")).includes("参加登録しました"), "RSVP message");
  await shot(a, "event-ja.png");
  await a.setViewportSize({ width: 1280, height: 860 });

  step("idea board, space page and search");
  await a.goto(base + "/ideas");
  await shot(a, "ideas-ja.png");
  await a.goto(base + "/s/guide");
  await shot(a, "space-ja.png");
  await a.fill("#header-q", "文字化け");
  await Promise.all([a.waitForURL(/\/search\?q=/), a.press("#header-q", "Enter")]);
  check((await a.locator(".hit mark").count()) > 0, "highlighted Japanese hit");
  await shot(a, "search-ja.png");

  step("A messages B from B's profile");
  await a.goto(questionURL);
  await Promise.all([a.waitForURL(/\/members\//), a.locator(".comment .byline > a").first().click()]);
  await Promise.all([a.waitForURL(/\/messages\/to\//), a.click(".profile-actions a.btn-primary")]);
  await a.fill("#dm-body", "ありがとうございました！ **助かりました**。");
  await Promise.all([a.waitForURL(/\/messages\/[^/]+#latest$/), a.click(".composer button")]);
  await a.fill("#dm-body", payload);
  await Promise.all([a.waitForURL(/#latest$/), a.click(".composer button")]);
  const thread = a.url().replace(/#latest$/, "");
  await b.goto(thread);
  await b.fill("#dm-body", "どういたしまして。また何かあればどうぞ。");
  await Promise.all([b.waitForURL(/#latest$/), b.click(".composer button")]);
  check((await b.locator(".bubble-row").count()) === 3, "three messages");
  check((await b.locator(".bubble img[onerror], .bubble script, .bubble a[href^='javascript:']").count()) === 0, "no executable markup in messages");
  await a.goto(thread);
  await shot(a, "dm-ja.png");

  step("A writes a profile bio; typed markup in it stays text");
  await a.click("summary.who");
  await Promise.all([a.waitForURL(base + "/settings/profile"), a.click(".menu-list a[href='/settings/profile']")]);
  await a.fill("#bio", "カスタマーサクセス担当の田中です。\n\n- **CSV 取り込み**と Slack 連携が得意です\n- 東京ユーザー会によく参加しています\n\nお気軽にメッセージください！");
  await Promise.all([a.waitForURL(/notice=saved/), a.click("form.form button[type=submit]")]);
  await shot(a, "settings-profile-ja.png");
  await a.fill("#bio", payload);
  await Promise.all([a.waitForURL(/notice=saved/), a.click("form.form button[type=submit]")]);
  await a.click(".form-actions a.btn-ghost");
  await a.waitForURL(/\/members\//);
  const profileURL = a.url();
  check((await a.textContent(".profile-bio")).includes("<script>alert(1)</script>"), "bio markup shown as text");
  await b.goto(profileURL);
  check((await b.locator(".profile-bio img[onerror], .profile-bio script, .profile-bio a[href^='javascript:']").count()) === 0, "no executable markup in the bio");

  step("the question in English, logged out");
  const en = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: "en-US" });
  const e = await en.newPage();
  watch(e);
  await e.goto(questionURL);
  check(await e.evaluate(() => document.documentElement.lang) === "en", "English page");
  check((await e.textContent(".topic-badges")).includes("Solved"), "English solved badge");
  await shot(e, "post-en.png");
  await en.close();

  step("staff dismisses a report in the moderation queue through htmx");
  const staff = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "ja-JP" });
  const st = await staff.newPage();
  watch(st);
  await st.goto(base + "/login");
  await st.fill("#email", "admin@example.com");
  await st.fill("#password", "admin password 1");
  await Promise.all([st.waitForURL((u) => !u.pathname.startsWith("/login")), st.click("form.form button[type=submit]")]);
  await st.goto(base + "/admin");
  await Promise.all([st.waitForURL(base + "/admin/moderation"), st.click(".sidebar-link[href='/admin/moderation']")]);
  check((await st.locator("tr[id^=report-]").count()) === 2, "two open reports");
  await shot(st, "admin-moderation-ja.png");
  const memberRow = st.locator("tr[id^=report-]").filter({ hasText: "激安ショップ" }).filter({ hasNotText: "期間限定" });
  await memberRow.locator("button[value=dismiss]").click();
  await st.locator("tr.is-done").waitFor();
  check(st.url() === base + "/admin/moderation", "htmx kept the page");

  step("staff creates a private space and invites a member by email");
  await Promise.all([st.waitForURL(base + "/admin/spaces"), st.click(".sidebar-link[href='/admin/spaces']")]);
  await st.fill("#sp-name", "ベータ検証室");
  await st.fill("#sp-slug", "beta-lab");
  await st.fill("#sp-desc", "先行リリースの機能を試して、気づいたことを共有する非公開スペースです。");
  await st.check("input[name=visibility][value=private]");
  await st.fill("#sp-cats", "不具合報告\n要望");
  await Promise.all([st.waitForURL(/notice=created/), st.click("form[action='/admin/spaces'] button[type=submit]")]);
  check((await st.textContent(".table")).includes("ベータ検証室"), "the new space is listed");
  await shot(st, "admin-spaces-ja.png", true);
  await Promise.all([st.waitForURL(base + "/admin/spaces/beta-lab"), st.click("a[href='/admin/spaces/beta-lab']")]);
  await st.fill("#sp-member", "ken@example.com");
  await Promise.all([st.waitForURL(/added=/), st.click("form[action='/admin/spaces/beta-lab/members'] button[type=submit]")]);
  check((await st.textContent(".alert-success")).includes("Ken Suzuki"), "invited");
  await staff.close();

  if (shots) {
    step("space page on a phone");
    const mobile = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "ja-JP", deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const m = await mobile.newPage();
    watch(m);
    await m.goto(base + "/s/guide");
    await m.evaluate(() => document.fonts.ready);
    await m.screenshot({ path: path.join(shots, "space-mobile-ja.png") });
    console.log("screenshot: space-mobile-ja.png");
    await mobile.close();
  }
  check(errors.length === 0, "browser errors: " + errors.join(" | "));
  console.log("ok");
} finally {
  await browser.close();
}
