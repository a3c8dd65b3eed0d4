// End-to-end scenarios of issue 5 in real headless Chromium (playwright-core + Debian's chromium),
// against a running app (BASE_URL, default http://127.0.0.1:3000) backed by `fleet`.
// Each scenario saves a screenshot under e2e-screenshots/ and prints its path.
import { chromium } from "playwright-core";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const SHOTS = path.resolve(process.env.SCREENSHOT_DIR ?? "e2e-screenshots");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const only = process.env.E2E_ONLY?.split(",");
rmSync(SHOTS, { recursive: true, force: true });
mkdirSync(SHOTS, { recursive: true });

// playwright gives every launch a fresh, temporary --user-data-dir of its own.
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
  ],
});

const consoleErrors = [];
function watch(page, who) {
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(`${who}: ${m.text()} (${m.location()?.url ?? ""})`);
  });
  page.on("pageerror", (e) => consoleErrors.push(`${who}: pageerror ${e.message}`));
  return page;
}

async function newUser(name) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, timezoneId: "Europe/Berlin" });
  const page = watch(await ctx.newPage(), name);
  const email = `${name.toLowerCase()}-${Date.now()}@example.com`;
  await page.goto(`${BASE}/sign-up`);
  await page.fill("#auth-name", name);
  await page.fill("#auth-email", email);
  await page.fill("#auth-password", "correct horse battery");
  await page.click('button[type="submit"]');
  await page.waitForURL("**/tasks", { timeout: 15_000 });
  await live(page);
  return { ctx, page, email };
}

async function live(page) {
  await page.waitForSelector('[data-testid="connection-status"][data-status="open"]', { timeout: 15_000 });
}

const row = (page, title) => page.locator('[data-testid="task-row"]', { has: page.locator('[data-testid="task-title"]', { hasText: title }) });
const titles = (page) => page.locator('[data-testid="task-title"]').allTextContents();

async function quickAdd(page, text) {
  await page.fill("#quick-add", text);
  await page.press("#quick-add", "Enter");
  await page.waitForFunction(() => !document.querySelector("#quick-add")?.value, null, { timeout: 10_000 });
}

function localInput(date) {
  const p = (n) => String(n).padStart(2, "0");
  // Wall clock in Europe/Berlin (the contexts' time zone, which is also the form's default).
  const s = date.toLocaleString("sv-SE", { timeZone: "Europe/Berlin" }).replace(" ", "T");
  return s.slice(0, 16) || `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T09:00`;
}

async function shot(page, name) {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  console.log(`  screenshot: ${file}`);
}

async function expectEventually(fn, { timeout = 10_000, interval = 200, message = "condition" } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      if (await fn()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(`timed out waiting for ${message}${last ? `: ${last.message}` : ""}`);
}

const results = [];
const S = {};
async function scenario(id, name, fn) {
  if (only && !only.includes(String(id))) return;
  const t0 = Date.now();
  process.stdout.write(`scenario ${id}: ${name}\n`);
  const errorsBefore = consoleErrors.length;
  try {
    await fn();
    const errs = consoleErrors.slice(errorsBefore);
    if (errs.length) throw new Error(`console errors:\n    ${errs.join("\n    ")}`);
    results.push({ id, ok: true });
    console.log(`  PASS (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.push({ id, ok: false });
    console.log(`  FAIL: ${e.message}`);
    for (const p of [S.a1, S.a2, S.b].filter(Boolean)) {
      try {
        await p.screenshot({ path: path.join(SHOTS, `scenario${id}-failure-${p === S.b ? "userB" : p === S.a1 ? "userA-page1" : "userA-page2"}.png`) });
      } catch {
        /* page gone */
      }
    }
  }
}

await scenario(1, "two users; a task created in page 1 appears in page 2 within 2 s; user B never sees it", async () => {
  const a = await newUser("Ada");
  S.a1 = a.page;
  S.a2 = watch(await a.ctx.newPage(), "Ada/page2");
  await S.a2.goto(`${BASE}/tasks`);
  await live(S.a2);
  const b = await newUser("Bob");
  S.b = b.page;
  await quickAdd(S.a1, "Buy oat milk #groceries");
  const t0 = Date.now();
  await row(S.a2, "Buy oat milk").waitFor({ timeout: 2_000 });
  console.log(`  appeared in page 2 after ${Date.now() - t0} ms (no reload)`);
  await S.b.waitForTimeout(1500);
  if (await row(S.b, "Buy oat milk").count()) throw new Error("user B sees user A's task");
  await S.b.reload();
  await S.b.waitForSelector('[data-testid="empty-state"]', { timeout: 10_000 });
  if (await row(S.b, "Buy oat milk").count()) throw new Error("user B sees user A's task after reload");
  await shot(S.a2, "scenario1-page2-live");
  await shot(S.b, "scenario1-userB-isolated");
});

await scenario(2, "completing a daily recurring task shows the next occurrence", async () => {
  const p = S.a1;
  await p.click('button:has-text("New task")');
  await p.fill("#task-title", "Water the plants");
  const due = new Date(Date.now() + 86_400_000);
  due.setUTCHours(7, 0, 0, 0);
  await p.fill("#task-due", localInput(due));
  await p.selectOption("#task-repeat", "daily");
  await p.click('button:has-text("Create task")');
  const first = row(p, "Water the plants");
  await first.waitFor({ timeout: 10_000 });
  const firstId = await first.getAttribute("data-task-id");
  const firstDue = await first.locator('[data-testid="task-due"]').textContent();
  await first.locator('button[role="checkbox"]').click();
  await p.locator("[data-sonner-toast]", { hasText: "Completed" }).first().waitFor({ timeout: 10_000 });
  await expectEventually(
    async () => {
      const rows = row(p, "Water the plants");
      if ((await rows.count()) !== 1) return false;
      return (await rows.first().getAttribute("data-task-id")) !== firstId;
    },
    { timeout: 15_000, message: "the next occurrence" },
  );
  const nextDue = await row(p, "Water the plants").locator('[data-testid="task-due"]').textContent();
  console.log(`  completed occurrence due "${firstDue}", next occurrence due "${nextDue}"`);
  if (nextDue === firstDue) throw new Error("next occurrence has the same due date");
  await row(S.a2, "Water the plants").first().waitFor({ timeout: 5_000 });
  await shot(p, "scenario2-next-occurrence");
});

await scenario(3, "a reminder a few seconds ahead shows a toast and increments the bell", async () => {
  const p = S.a1;
  const before = Number((await p.locator('[data-testid="unread-count"]').textContent().catch(() => "0")) || 0);
  const reminder = new Date(Date.now() + 4_000).toISOString();
  const due = new Date(Date.now() + 3_600_000).toISOString();
  // Set through the app's own API route (the dialog's time inputs have minute precision).
  const status = await p.evaluate(
    async ([reminder_at, due_date]) =>
      (
        await fetch("/api/tasks", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ title: "Stretch your legs", reminder_at, due_date }),
        })
      ).status,
    [reminder, due],
  );
  if (status !== 201) throw new Error(`create returned ${status}`);
  await row(p, "Stretch your legs").waitFor({ timeout: 5_000 });
  await p.locator("[data-sonner-toast]", { hasText: "Reminder: Stretch your legs" }).waitFor({ timeout: 30_000 });
  await expectEventually(
    async () => Number((await p.locator('[data-testid="unread-count"]').textContent()) || 0) === before + 1,
    { timeout: 10_000, message: `the bell to show ${before + 1}` },
  );
  await S.a2.locator("[data-sonner-toast]", { hasText: "Reminder: Stretch your legs" }).waitFor({ timeout: 5_000 });
  await shot(p, "scenario3-reminder-toast");
  await p.click('[data-testid="notification-bell"]');
  await p.locator('[role="dialog"][aria-label="Notifications"] li', { hasText: "Stretch your legs" }).first().waitFor({ timeout: 10_000 });
  await shot(p, "scenario3-notification-list");
  await p.keyboard.press("Escape");
});

await scenario(4, "edit, filter, search and sort", async () => {
  const p = S.a1;
  await p.keyboard.press("n"); // the quick-add shortcut
  if ((await p.evaluate(() => document.activeElement?.id)) !== "quick-add") throw new Error("N did not focus quick add");
  await quickAdd(p, "Alpha report #work !high");
  await quickAdd(p, "Bravo groceries #home !low");
  await quickAdd(p, "Charlie call #work");
  // Edit through the dialog.
  await row(p, "Charlie call").locator('button[aria-label^="Edit \\""]').click();
  await p.waitForSelector('[role="dialog"] #task-title');
  await expectEventually(async () => (await p.evaluate(() => document.activeElement?.id)) === "task-title", {
    timeout: 2_000,
    message: "the dialog to focus the title",
  });
  await p.fill("#task-title", "Charlie call mom");
  await p.click('[role="dialog"] [role="radio"]:has-text("High")');
  await p.click('button:has-text("Save changes")');
  await row(p, "Charlie call mom").waitFor({ timeout: 5_000 });
  await row(S.a2, "Charlie call mom").waitFor({ timeout: 3_000 });
  // Filter: priority high.
  await p.selectOption("#filter-priority", "high");
  await expectEventually(async () => JSON.stringify((await titles(p)).sort()) === JSON.stringify(["Alpha report", "Charlie call mom"]), {
    message: "priority=high to list Alpha and Charlie",
  });
  // Filter: tag work (priority any).
  await p.selectOption("#filter-priority", "all");
  await p.selectOption("#filter-tag", "work");
  await expectEventually(async () => JSON.stringify((await titles(p)).sort()) === JSON.stringify(["Alpha report", "Charlie call mom"]), {
    message: "tag=work to list Alpha and Charlie",
  });
  await p.selectOption("#filter-tag", "");
  // Search.
  await p.keyboard.press("/");
  await p.keyboard.type("grocer");
  await expectEventually(async () => JSON.stringify(await titles(p)) === JSON.stringify(["Bravo groceries"]), {
    message: 'search "grocer" to list only Bravo groceries',
  });
  await shot(p, "scenario4-search");
  await p.fill("#task-search", "");
  // Sort: title A–Z, then priority.
  await p.selectOption("#sort", "title");
  await expectEventually(
    async () => {
      const t = await titles(p);
      return t.length >= 5 && JSON.stringify(t) === JSON.stringify([...t].sort((x, y) => x.localeCompare(y)));
    },
    { message: "titles sorted A–Z" },
  );
  await p.selectOption("#sort", "-priority");
  await expectEventually(async () => (await titles(p)).slice(0, 2).sort().join() === "Alpha report,Charlie call mom", {
    message: "high-priority tasks first",
  });
  // A live change arriving while sorted by priority lands in order.
  await S.a2.locator('[data-testid="task-row"]').first().waitFor();
  await shot(p, "scenario4-sorted-by-priority");
  // Delete with confirmation.
  await row(p, "Bravo groceries").locator('button[aria-label^="Delete"]').click();
  await p.click('[role="alertdialog"] button:has-text("Delete")');
  await row(S.a2, "Bravo groceries").waitFor({ state: "detached", timeout: 3_000 });
});

await scenario(5, "the activity page lists the changes of scenarios 1–4", async () => {
  const p = S.a1;
  await p.click('nav a:has-text("Activity")');
  await p.waitForURL("**/activity");
  const list = p.locator('[data-testid="activity-entry"]');
  const need = [
    ["task.created", "Buy oat milk"],
    ["task.created", "Water the plants"],
    ["task.completed", "Water the plants"],
    ["task.created", "Stretch your legs"],
    ["task.updated", "Charlie call mom"],
    ["task.deleted", "Bravo groceries"],
  ];
  await expectEventually(
    async () => {
      for (const [type, title] of need) {
        if (!(await p.locator(`[data-testid="activity-entry"][data-event-type="${type}"]`, { hasText: title }).count())) return false;
      }
      return true;
    },
    { timeout: 10_000, message: `activity entries ${JSON.stringify(need)}` },
  );
  const recurringCreated = await list.filter({ hasText: "Recurring schedule" }).count();
  if (!recurringCreated) throw new Error("no entry by the recurring schedule (next occurrence)");
  const titleChange = p.locator('[data-event-type="task.updated"]', { hasText: "Charlie call mom" }).filter({ hasText: "Title" });
  if (!(await titleChange.count())) throw new Error("the title change (before → after) is not shown");
  await shot(p, "scenario5-activity");
  // Per task.
  await p.locator('[data-testid="activity-entry"] a', { hasText: "Water the plants" }).first().click();
  await p.waitForURL(/task_id=/);
  await p.locator('[data-testid="activity-entry"]').first().waitFor();
  await shot(p, "scenario5-activity-per-task");
});

await browser.close();

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
