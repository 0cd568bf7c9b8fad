// Browser flow of social sign-up, driven by e2e_social_test.go: node social.mjs BASE_URL SETUP_PATH
// A visitor signs up with Google (a real OIDC provider on loopback), reviews the permission
// screen and opts in to email offers, then links LINE from the linked-accounts page and opts in
// to LINE messages; an administrator then sets up Facebook on the log-in providers page. Env as
// flow.mjs.
import { check, step, shot, launch } from "./lib.mjs";

const [base, setupPath] = process.argv.slice(2);

const browser = await launch(["--ignore-certificate-errors"]);
const errors = [];
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "ja-JP", ignoreHTTPSErrors: true });
  ctx.setDefaultTimeout(15000);
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));

  step("the log-in page offers LINE first, then Google, and staff SSO apart");
  await page.goto(base + "/login");
  const buttons = await page.locator(".social-buttons .btn-social > span").allTextContents();
  check(buttons.map((b) => b.trim()).join("|") === "LINEでログイン|Google でログイン", "provider buttons: " + JSON.stringify(buttons));
  check(await page.locator(".social-staff .btn-oidc").count() === 1, "staff SSO below the form");
  await shot(page, "login-social-ja.png", true);

  step("sign up with Google: to the provider and back to the permission screen");
  await page.goto(base + "/signup");
  await shot(page, "signup-social-ja.png");
  await Promise.all([page.waitForURL(base + "/social/permission"), page.click(".btn-google")]);
  check((await page.textContent("h1")).includes("Google で登録"), "permission screen title");
  const reads = await page.textContent(".permission-list");
  check(reads.includes("山田 花子") && reads.includes("hanako.yamada@kizuna-mail.jp") && reads.includes("確認済み"), "what we receive: " + reads);
  check(await page.locator(".permission-identity img.avatar-photo").evaluate((i) => i.naturalWidth) > 0, "the Google picture is shown");
  const boxes = await page.locator("input[name=consent]").evaluateAll((xs) => xs.map((x) => x.value + "=" + x.checked));
  check(boxes.join(",") === "email:marketing=false,email:product_news=false", "opt-ins, unticked: " + boxes);
  check((await page.textContent(".text-version")).includes("social-permission/ja/"), "the wording's version is shown");
  await page.check("input[value='email:marketing']");
  await shot(page, "social-permission-ja.png", true);
  await Promise.all([page.waitForURL(base + "/?notice=welcome"), page.click(".permission-form button[type=submit]")]);
  check((await page.textContent(".who-name")).includes("山田 花子"), "signed in as the new member");

  step("link LINE from the linked-accounts page");
  await page.click(".menu summary");
  await Promise.all([page.waitForURL(base + "/settings/connections"), page.click(".menu-list a[href='/settings/connections']")]);
  check(await page.locator(".connection.is-linked").count() === 1, "Google is linked");
  await Promise.all([page.waitForURL(base + "/social/permission"), page.click("#connection-line a.btn")]);
  check((await page.textContent("h1")).includes("LINE アカウントを連携"), "LINE link screen");
  const lineBoxes = await page.locator("input[name=consent]").evaluateAll((xs) => xs.map((x) => x.value));
  // LINE vouches for no address: only LINE messages are offered, no email opt-ins.
  check(lineBoxes.join(",") === "line:marketing", "only LINE messages offered: " + lineBoxes);
  await page.check("input[value='line:marketing']");
  await shot(page, "social-permission-line-ja.png", true);
  await Promise.all([page.waitForURL(/\/settings\/connections\?notice=linked/), page.click(".permission-form button[type=submit]")]);
  check(await page.locator(".connection.is-linked").count() === 2, "Google and LINE are linked");
  check((await page.textContent(".alert-success")).includes("LINE アカウントを連携しました"), "notice");
  await shot(page, "linked-accounts-ja.png", true);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(base + "/settings/connections");
  await shot(page, "linked-accounts-mobile-ja.png", true);

  step("an administrator sets up Facebook on the log-in providers page");
  const adminCtx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "ja-JP" });
  adminCtx.setDefaultTimeout(15000);
  const admin = await adminCtx.newPage();
  admin.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  admin.on("pageerror", (e) => errors.push(String(e)));
  await admin.goto(base + setupPath);
  await admin.fill("#display_name", "佐藤 愛子");
  await admin.fill("#email", "aiko@kizuna-mail.jp");
  await admin.fill("#password", "a long admin password");
  await Promise.all([admin.waitForURL(base + "/admin"), admin.click("form.form button[type=submit]")]);
  await Promise.all([admin.waitForURL(base + "/admin/login-providers"), admin.click(".sidebar-login_providers")]);
  const fb = admin.locator("#provider-facebook");
  await fb.locator("summary").click();
  await fb.locator("input[name=client_id]").fill("1029384756");
  await fb.locator("input[name=client_secret]").fill("fb-app-secret-for-test");
  await Promise.all([admin.waitForURL(/saved=facebook/), fb.locator("button[type=submit]").click()]);
  check((await admin.textContent("#provider-facebook .provider-badges")).includes("有効"), "Facebook is on");
  check(!(await admin.content()).includes("fb-app-secret-for-test"), "the secret is not shown again");
  await shot(admin, "admin-login-providers-ja.png", true);

  check(errors.length === 0, "no console errors: " + errors.join("\n"));
  console.log("ok");
} finally {
  await browser.close();
}
