// Helpers every browser script shares: playwright-core from KIZUNA_E2E_MODULES, Debian's Chromium
// (CHROMIUM) started as this machine needs it, checks and steps printed for the Go test's log,
// screenshots into KIZUNA_SCREENSHOTS when set, and the page errors that fail a run.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.KIZUNA_E2E_MODULES, "noop.js"));
const { chromium } = require("playwright-core");

export const shots = process.env.KIZUNA_SCREENSHOTS || "";

export function check(cond, msg) {
  if (!cond) throw new Error("check failed: " + msg);
}

export function step(name) {
  console.log("step: " + name);
}

// launch starts headless Chromium without the background services this closed network refuses.
export function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
      "--no-first-run", "--disable-component-update", "--disable-sync", ...extraArgs],
  });
}

// errors collects console errors, script errors and dialogs of every watched page; a script
// checks it is empty at the end.
export const errors = [];

export function watch(page) {
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("dialog", (d) => { errors.push("a dialog opened: " + d.message()); d.dismiss(); });
}

// settle waits for fonts and images and puts the page at its top, unfocused, for a screenshot.
async function settle(page) {
  await page.evaluate(async () => {
    await document.fonts.ready;
    await Promise.all([...document.images].map((i) => i.complete ? null : new Promise((r) => { i.onload = i.onerror = r; })));
    window.scrollTo(0, 0);
    document.activeElement?.blur();
  });
}

export async function shot(page, name, fullPage = false) {
  if (!shots) return;
  await settle(page);
  await page.screenshot({ path: path.join(shots, name), fullPage });
  console.log("screenshot: " + name);
}

// part writes a screenshot of one element (a clip of the whole page, so a sticky header never
// covers it).
export async function part(page, selector, name) {
  if (!shots) return;
  await settle(page);
  const box = await page.locator(selector).boundingBox();
  const pad = 12;
  await page.screenshot({ path: path.join(shots, name), fullPage: true,
    clip: { x: Math.max(0, box.x - pad), y: Math.max(0, box.y - pad), width: box.width + 2 * pad, height: box.height + 2 * pad } });
  console.log("screenshot: " + name);
}
