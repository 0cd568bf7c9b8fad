// Sends one visitor's journey through the official @segment/analytics-node library: a page view
// while anonymous, then identify (the email in full-width characters, as Japanese keyboards type
// it), track, and alias of the device id to the user id.
// Env: KIZUNA_NPM_MODULES (node_modules holding @segment/analytics-node), KIZUNA_URL,
// KIZUNA_WRITE_KEY, and PEOPLE: JSON [{userId, anonymousId, email}].
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.KIZUNA_NPM_MODULES, "noop.js"));
const { Analytics } = require("@segment/analytics-node");

const analytics = new Analytics({
  writeKey: process.env.KIZUNA_WRITE_KEY,
  host: process.env.KIZUNA_URL,
  flushAt: 2,
  flushInterval: 100,
  maxRetries: 2,
});
let failed = false;
analytics.on("error", (err) => {
  failed = true;
  console.error("analytics-node error:", err?.reason ?? err);
});
analytics.on("http_response", (res) => {
  console.log(res.status, res.url);
  if (res.status !== 200) {
    failed = true;
    console.error(res.body);
  }
});

for (const p of JSON.parse(process.env.PEOPLE)) {
  analytics.page({ anonymousId: p.anonymousId, name: "料金", properties: { url: "https://shop.kizuna.dev/pricing" } });
  analytics.identify({ userId: p.userId, traits: { email: p.email, name: "山田 花子" } });
  analytics.track({ userId: p.userId, event: "Order Completed", properties: { revenue: 1200, currency: "JPY" } });
  analytics.alias({ userId: p.userId, previousId: p.anonymousId });
}
await analytics.closeAndFlush({ timeout: 20000 });
if (failed) {
  process.exit(1);
}
console.log("flushed");
