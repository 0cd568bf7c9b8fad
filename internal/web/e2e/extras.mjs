// Help center, badges, polls, surveys and image uploads in Chromium, driven by e2e_extras_test.go:
// node extras.mjs BASE_URL POLL_POST_ID SURVEY_ID ARTICLE_SLUG
import { check, step, shot, launch, watch, errors } from "./lib.mjs";

const [base, pollPost, surveyID, article] = process.argv.slice(2);
// A 1×1 PNG.
const pixel = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=", "base64");

async function logIn(page, email, password) {
  await page.goto(base + "/login");
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.click("form.form button[type=submit]")]);
}

const browser = await launch();
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: "ja-JP" });
  ctx.setDefaultTimeout(15000);
  const a = await ctx.newPage();
  watch(a);
  await logIn(a, "sato@example.com", "correct horse battery");

  step("a member votes in a poll through htmx");
  await a.goto(base + "/posts/" + pollPost);
  await a.locator("#poll form.poll-form").waitFor();
  await a.locator(".poll-choice", { hasText: "API を使った自動化" }).click();
  await a.click("#poll button[type=submit]");
  await a.locator("#poll progress").first().waitFor();
  check(a.url() === base + "/posts/" + pollPost, "htmx kept the page");
  check((await a.locator("#poll").innerText()).includes("投票済み"), "the box says the member voted");
  await shot(a, "poll-ja.png", true);

  step("a member answers a survey");
  await a.goto(base + "/surveys/" + surveyID);
  await a.locator(".scale-step", { hasText: "5" }).click();
  await a.locator(".poll-choice", { hasText: "開発者" }).click();
  await a.locator(".poll-choice", { hasText: "Q&A" }).click();
  await a.locator(".poll-choice", { hasText: "ヘルプセンター" }).click();
  await a.fill("textarea", "検索で過去の回答が見つけやすくなると嬉しいです。");
  await shot(a, "survey-ja.png", true);
  await Promise.all([a.waitForURL(base + "/surveys/" + surveyID + "?notice=thanks"), a.click(".survey-form button[type=submit]")]);

  step("the help center");
  await a.click(".main-link[href='/kb']");
  await a.waitForURL(base + "/kb");
  check((await a.locator(".kb-cat").count()) === 3, "three categories");
  await shot(a, "kb-ja.png", true);
  await Promise.all([a.waitForURL(base + "/kb/" + article), a.click(`.kb-item-title[href='/kb/${article}']`)]);
  await shot(a, "kb-article-ja.png", true);

  step("badges on a profile");
  await a.goto(base + "/members/lee");
  check((await a.locator(".badge-card").count()) >= 4, "the expert's badges");
  await shot(a, "profile-badges-ja.png", true);

  step("an image uploaded from the composer");
  await a.goto(base + "/s/guide/new");
  const picker = a.locator(".image-upload-js");
  check(await picker.isVisible(), "the upload button shows with JavaScript");
  check(!(await a.locator(".image-upload-nojs").isVisible()), "the fallback link hides");
  await a.fill("#body", "スクリーンショットです：");
  await a.setInputFiles(".image-upload input[type=file]", { name: "pixel.png", mimeType: "image/png", buffer: pixel });
  await a.waitForFunction(() => document.querySelector("#body").value.includes("![pixel.png](/media/"));
  const md = await a.inputValue("#body");
  const src = md.match(/\((\/media\/[^)]+)\)/)[1];
  const img = await a.request.get(base + src);
  check(img.ok() && img.headers()["content-type"] === "image/png", "the image comes back as a PNG");
  await a.setInputFiles(".image-upload input[type=file]", { name: "evil.svg", mimeType: "image/svg+xml", buffer: Buffer.from("<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>") });
  await a.locator(".image-upload-status.is-error").waitFor();
  check((await a.locator(".image-upload-status").innerText()).includes("SVG"), "SVG refused in Japanese");

  step("the badge admin");
  const staffCtx = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: "ja-JP" });
  staffCtx.setDefaultTimeout(15000);
  const st = await staffCtx.newPage();
  watch(st);
  await logIn(st, "admin@example.com", "admin password 1");
  await st.goto(base + "/admin");
  await Promise.all([st.waitForURL(base + "/admin/badges"), st.click(".sidebar-link[href='/admin/badges']")]);
  await shot(st, "admin-badges-ja.png", true);
  await staffCtx.close();

  // The SVG upload's 422 is logged by Chromium as a failed resource: that one is expected.
  const unexpected = errors.filter((e) => !e.includes("422"));
  check(unexpected.length === 0, "browser errors: " + unexpected.join(" | "));
  console.log("ok");
} finally {
  await browser.close();
}
