// Visual review helper: screenshots of the main screens in light/dark at phone/desktop widths.
// Needs a running stack (BASE_URL). Usage: node e2e/look.mjs  → e2e-screenshots/look-*.png
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const OUT = "e2e-screenshots";
mkdirSync(OUT, { recursive: true });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
const desktop = { viewport: { width: 1280, height: 820 } };
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

async function ctx(opts, dark) {
  const c = await browser.newContext({ ...opts, colorScheme: dark ? "dark" : "light", timezoneId: "Europe/Berlin" });
  return c;
}
const c1 = await ctx(desktop, false);
const p = await c1.newPage();
await p.goto(`${BASE}/sign-up`);
await p.screenshot({ path: `${OUT}/look-signup-desktop-light.png` });
await p.fill("#auth-name", "Grace Hopper");
await p.fill("#auth-email", `grace-${Date.now()}@example.com`);
await p.fill("#auth-password", "correct horse battery");
await p.click('button[type="submit"]');
await p.waitForURL("**/tasks");
await p.screenshot({ path: `${OUT}/look-empty-desktop-light.png` });
const add = async (t) => {
  await p.fill("#quick-add", t);
  await p.press("#quick-add", "Enter");
  await p.waitForFunction(() => !document.querySelector("#quick-add")?.value);
};
for (const t of ["Renew passport #admin !high", "Draft Q3 roadmap #work", "Book dentist #health !low", "Pick up dry cleaning #errands"]) await add(t);
await p.evaluate(async () => {
  const d = (h) => new Date(Date.now() + h * 3600e3).toISOString();
  for (const body of [
    { title: "Team standup", due_date: d(15), recurring_rule: "weekdays", tags: ["work"], reminder_at: d(14.9), description: "Daily sync with the platform team" },
    { title: "Pay rent", due_date: d(-5), priority: "high", tags: ["home"] },
  ])
    await fetch("/api/tasks", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
});
await p.waitForTimeout(800);
const cookies = await c1.cookies();
await p.screenshot({ path: `${OUT}/look-tasks-desktop-light.png` });
await p.locator('[data-testid="task-row"]', { hasText: "Team standup" }).locator('button[aria-label^="Edit \\""]').click();
await p.waitForTimeout(500);
await p.screenshot({ path: `${OUT}/look-dialog-desktop-light.png` });

for (const [name, opts, dark] of [["desktop-dark", desktop, true], ["phone-light", phone, false], ["phone-dark", phone, true]]) {
  const c = await ctx(opts, dark);
  await c.addCookies(cookies);
  const q = await c.newPage();
  await q.goto(`${BASE}/tasks`);
  await q.waitForSelector('[data-testid="task-row"]');
  await q.waitForTimeout(600);
  await q.screenshot({ path: `${OUT}/look-tasks-${name}.png` });
  await q.locator('[data-testid="task-row"]', { hasText: "Team standup" }).locator('button[aria-label^="Edit \\""]').click();
  await q.waitForTimeout(500);
  await q.selectOption("#task-repeat", "custom");
  await q.waitForTimeout(200);
  await q.screenshot({ path: `${OUT}/look-dialog-${name}.png` });
  await q.keyboard.press("Escape");
  await q.goto(`${BASE}/activity`);
  await q.waitForSelector('[data-testid="activity-entry"]');
  await q.waitForTimeout(500);
  await q.screenshot({ path: `${OUT}/look-activity-${name}.png` });
  await c.close();
}
await browser.close();
console.log("done");
