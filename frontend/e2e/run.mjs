// End-to-end scenarios of issues 5, 6 and 15 in real headless Chromium (playwright-core + Debian's chromium),
// against a running app (BASE_URL, default http://127.0.0.1:3000) backed by `fleet`.
// Each scenario saves a screenshot under e2e-screenshots/ and prints its path.
import { chromium } from "playwright-core";
import pg from "pg";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const SHOTS = path.resolve(process.env.SCREENSHOT_DIR ?? "e2e-screenshots");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// The SMTP stand-in's message list (e2e/mail-sink.mjs), started by scripts/test-frontend.
const MAIL_SINK = process.env.MAIL_SINK_URL ?? "http://127.0.0.1:3598";
const PUSH_SERVICE = process.env.PUSH_SERVICE_URL ?? "http://127.0.0.1:3596";
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

// Each browser context is a different person on a different network, as behind the chart's
// ingress (which sets X-Forwarded-For). Better Auth limits sign-ups and sign-ins to 3 per 10 s
// per client address, counted from the last attempt; sharing one address, the scenarios'
// sign-ups a few seconds apart would be refused with 429 on a slow machine.
let clients = 0;
async function newContext() {
  clients += 1;
  return browser.newContext({
    viewport: { width: 1280, height: 860 },
    timezoneId: "Europe/Berlin",
    extraHTTPHeaders: { "x-forwarded-for": `198.51.100.${clients}` },
  });
}

async function newUser(name, prepare = async () => {}) {
  const ctx = await newContext();
  await prepare(ctx);
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
    for (const p of [S.a1, S.a2, S.b, S.c].filter(Boolean)) {
      const who = p === S.c ? "userC" : p === S.b ? "userB" : p === S.a1 ? "userA-page1" : "userA-page2";
      try {
        await p.screenshot({ path: path.join(SHOTS, `scenario${id}-failure-${who}.png`) });
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
  // No badge means none unread (asking the missing badge for its text would wait 30 s for it).
  const badge = p.locator('[data-testid="unread-count"]');
  const before = (await badge.count()) ? Number(await badge.textContent()) : 0;
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
  await p.getByRole("button", { name: "Stop filtering by #work" }).click();
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

/** The UTC instant of `hh:mm` tomorrow on Europe/Berlin's wall clock (what "tomorrow 5pm" means there). */
function berlinTomorrowAt(hh, mm) {
  const parts = (ms) =>
    Object.fromEntries(
      new Intl.DateTimeFormat("en-US", { timeZone: "Europe/Berlin", hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric" })
        .formatToParts(new Date(ms))
        .filter((p) => p.type !== "literal")
        .map((p) => [p.type, Number(p.value)]),
    );
  const offset = (ms) => {
    const p = parts(ms);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute) - Math.floor(ms / 60_000) * 60_000;
  };
  const today = parts(Date.now());
  const wall = Date.UTC(today.year, today.month - 1, today.day + 1, hh, mm);
  let at = wall - offset(wall);
  at = wall - offset(at);
  return new Date(at).toISOString();
}

const apiTasks = (page) =>
  page.evaluate(async () => (await (await fetch("/api/tasks?status=pending&sort=-created_at&limit=100", { cache: "no-store" })).json()).items);

await scenario(6, "the assistant adds a task with a streamed answer and deletes it only after confirmation", async () => {
  const { page: p } = await newUser("Cleo");
  S.c = p;
  const panel = p.locator('[data-testid="assistant-panel"]');
  const input = p.locator('[data-testid="assistant-input"]');
  const answers = p.locator('[data-testid="assistant-message"][data-role="assistant"]');
  const ask = async (text) => {
    await input.fill(text);
    await p.click('[data-testid="assistant-send"]');
    await p.locator('[data-testid="assistant-message"][data-role="user"]', { hasText: text }).last().waitFor({ timeout: 5_000 });
  };
  const answered = (text) => answers.filter({ hasText: text }).and(p.locator('[data-streaming="false"]'));

  await p.click('[data-testid="assistant-toggle"]');
  await panel.waitFor();
  await expectEventually(async () => (await p.evaluate(() => document.activeElement?.id)) === "assistant-input", {
    timeout: 5_000,
    message: "the panel to focus its input",
  });

  // Every text a streaming answer shows on the way, to prove it arrives in pieces.
  await p.evaluate(() => {
    window.__partials = [];
    new MutationObserver(() => {
      for (const m of document.querySelectorAll('[data-testid="assistant-message"][data-role="assistant"][data-streaming="true"]')) {
        const t = m.querySelector('[data-testid="assistant-message-text"]')?.textContent;
        if (t && window.__partials.at(-1) !== t) window.__partials.push(t);
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });

  // 1. Add: a tool call, a streamed answer, and the task appears in the list without a reload.
  await ask("add a task to buy milk tomorrow at 5pm #home p1");
  const addCard = p.locator('[data-testid="tool-call-card"][data-tool="add_task"]');
  await addCard.waitFor({ timeout: 15_000 });
  const streaming = p.locator('[data-testid="assistant-message"][data-role="assistant"][data-streaming="true"] [data-testid="assistant-message-text"]');
  await streaming.first().waitFor({ timeout: 15_000 });
  await shot(p, "scenario6-streaming-answer");
  const added = "Added “Buy milk” for tomorrow 17:00.";
  await answered(added).waitFor({ timeout: 15_000 });
  if ((await addCard.getAttribute("data-state")) !== "finished") throw new Error(`add_task card is ${await addCard.getAttribute("data-state")}`);
  const argsText = await addCard.locator('[data-testid="tool-call-args"]').textContent();
  if (!/Buy milk/.test(argsText) || !/tomorrow 5pm/.test(argsText) || !/#home/.test(argsText)) throw new Error(`add_task args summary: ${argsText}`);
  const partials = await p.evaluate(() => window.__partials);
  const before = partials.filter((t) => t.length < added.length && added.startsWith(t));
  if (!before.length) throw new Error(`no partial text before the answer was done (seen: ${JSON.stringify(partials)})`);
  console.log(`  streamed in ${partials.length} steps, e.g. ${JSON.stringify(before[0])}`);

  const milk = row(p, "Buy milk");
  await milk.waitFor({ timeout: 5_000 });
  const rowText = await milk.textContent();
  if (!/high/i.test(rowText) || !rowText.includes("#home")) throw new Error(`row lacks high priority or #home: ${rowText}`);
  const due = (await milk.locator('[data-testid="task-due"]').textContent())?.trim();
  if (!/^Tomorrow (17:00|0?5:00\sPM)$/i.test(due)) throw new Error(`due shows "${due}", not tomorrow 17:00`);
  const stored = (await apiTasks(p)).find((t) => t.title === "Buy milk");
  const expectedDue = berlinTomorrowAt(17, 0);
  if (!stored || stored.priority !== "high" || JSON.stringify(stored.tags) !== '["home"]' || Date.parse(stored.due_date) !== Date.parse(expectedDue)) {
    throw new Error(`stored task ${JSON.stringify(stored)}; expected high, ["home"], due ${expectedDue}`);
  }
  console.log(`  "Buy milk" listed live: ${due}, high, #home (due_date ${stored.due_date})`);
  await shot(p, "scenario6-streamed-answer");

  // 2. Delete: a confirmation card; nothing is deleted until the user confirms.
  const cards = p.locator('[data-testid="confirmation-card"]');
  await ask("delete buy milk");
  await answered("Please confirm the deletion in the card.").waitFor({ timeout: 15_000 });
  await p.locator('[data-testid="tool-call-card"][data-tool="find_tasks"][data-state="finished"]').waitFor({ timeout: 5_000 });
  await p.locator('[data-testid="tool-call-card"][data-tool="delete_task"][data-state="finished"]').waitFor({ timeout: 5_000 });
  const first = cards.first();
  await first.waitFor();
  if ((await first.getAttribute("data-status")) !== "pending") throw new Error("the card is not pending");
  if (!(await first.locator('[data-testid="confirmation-task"]').textContent()).includes("Buy milk")) throw new Error("the card does not name the task");
  if ((await milk.count()) !== 1) throw new Error("the task left the list before any confirmation");
  await shot(p, "scenario6-confirmation-card");

  await first.locator('[data-testid="cancel-button"]').click();
  await p.locator('[data-testid="confirmation-card"][data-status="cancelled"]').first().waitFor({ timeout: 5_000 });
  await p.waitForTimeout(1500);
  if ((await milk.count()) !== 1) throw new Error("cancelling removed the task from the list");
  if (!(await apiTasks(p)).some((t) => t.title === "Buy milk")) throw new Error("cancelling deleted the task");

  // 3. Ask again and confirm: the task leaves the list live.
  await ask("delete buy milk");
  await expectEventually(async () => (await cards.count()) === 2 && (await cards.nth(1).getAttribute("data-status")) === "pending", {
    timeout: 15_000,
    message: "a second, pending card",
  });
  await cards.nth(1).locator('[data-testid="confirm-button"]').click();
  await p.locator('[data-testid="confirmation-card"][data-status="confirmed"]').waitFor({ timeout: 5_000 });
  await milk.waitFor({ state: "detached", timeout: 5_000 });
  if ((await apiTasks(p)).some((t) => t.title === "Buy milk")) throw new Error("the task still exists after confirming");
  await p.locator('[data-testid="assistant-message"][data-streaming="true"]').waitFor({ state: "detached", timeout: 10_000 });
  await shot(p, "scenario6-after-delete");

  // A reloaded thread shows both decisions; Escape closes the panel and focus returns to the toggle.
  await p.reload();
  await live(p);
  await p.click('[data-testid="assistant-toggle"]');
  await expectEventually(
    async () => JSON.stringify(await cards.evaluateAll((els) => els.map((e) => e.dataset.status))) === '["cancelled","confirmed"]',
    { timeout: 10_000, message: "the reloaded thread to show the cancelled and the confirmed card" },
  );
  await shot(p, "scenario6-reloaded-thread");

  // Deleting the conversation asks first; the tasks are not touched.
  await p.click('[data-testid="assistant-threads-toggle"]');
  const threads = p.locator('[data-testid="assistant-thread"]');
  await threads.first().waitFor({ timeout: 5_000 });
  if ((await threads.count()) !== 1) throw new Error(`${await threads.count()} conversations listed, expected 1`);
  await threads.first().locator('[data-testid="assistant-thread-delete"]').click();
  await p.click('[role="alertdialog"] [data-testid="assistant-thread-delete-confirm"]');
  await threads.first().waitFor({ state: "detached", timeout: 5_000 });
  await p.reload();
  await live(p);
  await p.click('[data-testid="assistant-toggle"]');
  await expectEventually(async () => (await p.evaluate(() => document.activeElement?.id)) === "assistant-input", {
    timeout: 5_000,
    message: "a fresh conversation with a focused input after the delete",
  });
  if (await answers.count()) throw new Error("the deleted conversation came back after a reload");
  await p.keyboard.press("Escape");
  await panel.waitFor({ state: "detached", timeout: 3_000 });
  if ((await p.evaluate(() => document.activeElement?.dataset.testid)) !== "assistant-toggle") throw new Error("focus did not return to the toggle");

  // Phone width: the panel covers the screen.
  await p.setViewportSize({ width: 390, height: 844 });
  await p.click('[data-testid="assistant-toggle"]');
  const box = await panel.boundingBox();
  if (!box || Math.round(box.width) !== 390) throw new Error(`panel is ${box?.width} px wide on a 390 px screen`);
  await ask("hello");
  await answered("Hello!").waitFor({ timeout: 10_000 });
  await shot(p, "scenario6-phone");
  await p.keyboard.press("Escape");
  await panel.waitFor({ state: "detached", timeout: 3_000 });
});

await scenario(7, "an external agent with the user's MCP token acts as that user; its delete waits for the user in the panel; revoked, it is refused", async () => {
  const { page: p } = await newUser("Dora");
  const panel = p.locator('[data-testid="assistant-panel"]');
  const threadsToggle = p.locator('[data-testid="assistant-threads-toggle"]');
  // The agent-access section is in the conversations view (the panel remembers its view).
  const showAgentAccess = async () => {
    if ((await threadsToggle.getAttribute("aria-pressed")) !== "true") await threadsToggle.click();
    await p.locator('[data-testid="agent-access"]').waitFor({ timeout: 5_000 });
  };
  const tokenRow = (label) =>
    p.locator('[data-testid="agent-token"]', { has: p.locator('[data-testid="agent-token-label"]', { hasText: label }) });
  const apiAgentTokens = () => p.evaluate(async () => (await (await fetch("/api/agent-tokens", { cache: "no-store" })).json()).items);
  await p.click('[data-testid="assistant-toggle"]');
  await panel.waitFor();
  await showAgentAccess();
  await p.fill('[data-testid="agent-access-label"]', "e2e agent");
  await p.click('[data-testid="agent-access-create"]');
  await p.locator('[data-testid="agent-access-token"]').waitFor({ timeout: 10_000 });
  const token = (await p.locator('[data-testid="agent-access-token"]').textContent())?.trim();
  const url = (await p.locator('[data-testid="agent-access-url"]').textContent())?.trim();
  if (!token || !url?.endsWith("/mcp")) throw new Error(`no token or URL shown (${url})`);
  // Registered before it was signed: listed, active, never used yet.
  await p.locator('[data-testid="agent-token"][data-state="active"]', { has: p.locator('[data-testid="agent-token-label"]', { hasText: "e2e agent" }) }).waitFor({ timeout: 5_000 });
  if (!(await tokenRow("e2e agent").textContent()).includes("Last used never")) throw new Error("a new token is listed as used");
  await shot(p, "scenario7-agent-access");
  // The agent runs outside the browser (here: this Node process), talking MCP over HTTP.
  const endpoint = url.replace("//localhost:", "//127.0.0.1:");
  let rpcId = 0;
  const rpc = async (method, params, bearer = token) => {
    const res = await fetch(endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2025-06-18",
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }),
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  };
  const refused = await rpc("tools/list", {}, null);
  if (refused.status !== 401) throw new Error(`/mcp without a token answered ${refused.status}`);
  const init = await rpc("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "e2e-agent", version: "1" } });
  if (init.status !== 200 || init.body?.result?.serverInfo?.name !== "taskfleet") throw new Error(`initialize: ${JSON.stringify(init)}`);
  const add = await rpc("tools/call", { name: "add_task", arguments: { title: "Call the plumber", when: "tomorrow 9am", timezone: "Europe/Berlin" } });
  const created = add.body?.result?.structuredContent?.created;
  if (add.status !== 200 || !created?.id) throw new Error(`add_task over MCP: ${JSON.stringify(add.body)}`);
  // The agent's change reaches the user's open page live, like any other.
  await row(p, "Call the plumber").waitFor({ timeout: 10_000 });
  console.log(`  agent added "Call the plumber" (due ${created.due_local}); listed live`);

  const del = await rpc("tools/call", { name: "delete_task", arguments: { id: created.id } });
  if (del.body?.result?.structuredContent?.status !== "confirmation_required") throw new Error(`delete_task over MCP: ${JSON.stringify(del.body)}`);
  await p.waitForTimeout(500);
  if ((await row(p, "Call the plumber").count()) !== 1) throw new Error("the agent deleted without the user's confirmation");
  // Reopening the panel looks for cards waiting for the user.
  await p.click('[data-testid="assistant-toggle"]');
  await panel.waitFor({ state: "detached", timeout: 3_000 });
  await p.click('[data-testid="assistant-toggle"]');
  const waiting = p.locator('[data-testid="assistant-waiting"] [data-testid="confirmation-card"]');
  await waiting.first().waitFor({ timeout: 10_000 });
  if (!(await waiting.first().locator('[data-testid="confirmation-task"]').textContent()).includes("Call the plumber")) {
    throw new Error("the waiting card does not name the task");
  }
  await shot(p, "scenario7-waiting-card");
  await waiting.first().locator('[data-testid="confirm-button"]').click();
  await row(p, "Call the plumber").waitFor({ state: "detached", timeout: 10_000 });
  if ((await apiTasks(p)).some((t) => t.title === "Call the plumber")) throw new Error("the task still exists after confirming");

  // The user revokes the token in the panel; the agent's next call is refused.
  const registered = (await apiAgentTokens()).find((t) => t.label === "e2e agent");
  if (!registered?.last_used_at || registered.revoked_at) throw new Error(`the registry after the agent's calls: ${JSON.stringify(registered)}`);
  await showAgentAccess();
  await tokenRow("e2e agent").locator('[data-testid="agent-token-revoke"]').click();
  await p.locator('[data-testid="agent-token"][data-state="revoked"]', { has: p.locator('[data-testid="agent-token-label"]', { hasText: "e2e agent" }) }).waitFor({ timeout: 5_000 });
  if (!/Revoked /.test(await tokenRow("e2e agent").locator('[data-testid="agent-token-state"]').textContent())) throw new Error("the revoked token does not say so");
  await shot(p, "scenario7-revoked");
  const afterRevoke = await rpc("tools/list", {});
  if (afterRevoke.status !== 401) throw new Error(`/mcp with the revoked token answered ${afterRevoke.status}: ${JSON.stringify(afterRevoke.body)}`);
  const sneaky = await rpc("tools/call", { name: "add_task", arguments: { title: "Added after revocation", timezone: "Europe/Berlin" } });
  if (sneaky.status !== 401) throw new Error(`tools/call with the revoked token answered ${sneaky.status}`);
  if ((await apiTasks(p)).some((t) => t.title === "Added after revocation")) throw new Error("the revoked token still added a task");
  console.log("  revoked in the panel: /mcp answers 401 to the agent");

  // Signing out of every device revokes the tokens that are left.
  await p.fill('[data-testid="agent-access-label"]', "second agent");
  await p.click('[data-testid="agent-access-create"]');
  await tokenRow("second agent").waitFor({ timeout: 10_000 });
  const token2 = (await p.locator('[data-testid="agent-access-token"]').textContent())?.trim();
  if (!token2 || token2 === token) throw new Error("no second token shown");
  const works = await rpc("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "e2e-agent-2", version: "1" } }, token2);
  if (works.status !== 200) throw new Error(`/mcp with the second token answered ${works.status}`);
  await p.click('[data-testid="assistant-close"]');
  await panel.waitFor({ state: "detached", timeout: 3_000 });
  await p.click('button[aria-label^="Account:"]');
  const errorsBeforeSignOut = consoleErrors.length;
  await p.click('[data-testid="sign-out-everywhere"]');
  await p.waitForURL("**/sign-in", { timeout: 15_000 });
  const gone = await rpc("tools/list", {}, token2);
  if (gone.status !== 401) throw new Error(`/mcp with a token of a user who signed out everywhere answered ${gone.status}`);
  const back = await p.evaluate(async () => (await fetch("/api/agent-tokens", { cache: "no-store" })).status);
  if (back !== 401) throw new Error(`/api/agent-tokens after signing out everywhere answered ${back}`);
  // Chromium logs every refused request (the check just above, and whatever the signed-in page
  // still had in flight) as a console error: 401s are expected from here on, nothing else is.
  const later = consoleErrors.splice(errorsBeforeSignOut);
  consoleErrors.push(...later.filter((e) => !/status of 401/.test(e)));
  console.log("  signed out of every device: the remaining token answers 401 too");
});

await scenario(8, "quick add reads dates, repeats, tags and priority as the user types, highlights them, and keeps a phrase literal on request", async () => {
  const { page: p } = await newUser("Quinn");
  S.c = p;
  const input = p.locator("#quick-add");
  const keep = (phrase) => p.getByRole("button", { name: `Keep “${phrase}” as text` });
  const marks = () =>
    p.locator('[data-testid="quick-add-highlights"] mark').evaluateAll((ms) => ms.map((m) => [m.dataset.kind, m.textContent]));

  // Typed key by key: the server reads it once typing pauses, in the browser's zone (Berlin).
  await input.click();
  await p.keyboard.type("Pay rent tomorrow 9am #home !high", { delay: 15 });
  await keep("tomorrow 9am").waitFor({ timeout: 10_000 });
  await expectEventually(async () => JSON.stringify(await marks()) === JSON.stringify([["due", "tomorrow 9am"], ["tag", "#home"], ["priority", "!high"]]), {
    message: "the three highlights",
  });
  const parts = (await p.locator("#quick-add-parts").innerText()).replace(/\s+/g, " ");
  for (const words of ["Due Tomorrow", "Tag home", "High priority"]) {
    if (!parts.includes(words)) throw new Error(`the recognised parts do not say "${words}": ${parts}`);
  }
  await shot(p, "scenario8-highlighted");
  await p.keyboard.press("Enter");
  await p.waitForFunction(() => !document.querySelector("#quick-add")?.value, null, { timeout: 10_000 });
  await row(p, "Pay rent").waitFor({ timeout: 10_000 });

  await quickAdd(p, "Water the plants every monday");
  await row(p, "Water the plants").waitFor({ timeout: 10_000 });

  // Keyboard only: Tab reaches the chip's button, Enter keeps "friday 5pm" in the title.
  await input.click();
  await p.keyboard.type("Send the report friday 5pm", { delay: 15 });
  await keep("friday 5pm").waitFor({ timeout: 10_000 });
  await p.keyboard.press("Tab");
  const focused = await p.evaluate(() => document.activeElement?.getAttribute("aria-label"));
  if (focused !== "Keep “friday 5pm” as text") throw new Error(`Tab focused ${focused}, not the chip's button`);
  await p.keyboard.press("Enter");
  await expectEventually(async () => (await input.inputValue()) === 'Send the report "friday 5pm"', { message: "the phrase in quotes" });
  if ((await p.evaluate(() => document.activeElement?.id)) !== "quick-add") throw new Error("focus did not return to the input");
  await keep("friday 5pm").waitFor({ state: "detached", timeout: 10_000 });
  if ((await marks()).length) throw new Error(`a quoted phrase is still highlighted: ${JSON.stringify(await marks())}`);
  await shot(p, "scenario8-kept-literal");
  await p.keyboard.press("Enter");
  await p.waitForFunction(() => !document.querySelector("#quick-add")?.value, null, { timeout: 10_000 });
  await row(p, "Send the report friday 5pm").waitFor({ timeout: 10_000 });

  const stored = await apiTasks(p);
  const byTitle = Object.fromEntries(stored.map((t) => [t.title, t]));
  const rent = byTitle["Pay rent"];
  if (!rent || Date.parse(rent.due_date) !== Date.parse(berlinTomorrowAt(9, 0)) || rent.priority !== "high" || rent.tags.join() !== "home" || rent.timezone !== "Europe/Berlin") {
    throw new Error(`"Pay rent" was stored as ${JSON.stringify(rent)}`);
  }
  const plants = byTitle["Water the plants"];
  const berlin = (iso) =>
    new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Berlin", weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(iso));
  const ahead = plants ? Date.parse(plants.due_date) - Date.now() : -1;
  if (!plants || plants.recurring_rule !== "FREQ=WEEKLY;BYDAY=MO" || berlin(plants.due_date) !== "Mon 09:00" || ahead <= 0 || ahead > 7 * 86_400_000) {
    throw new Error(`"Water the plants" was stored as ${JSON.stringify(plants)}`);
  }
  const report = byTitle["Send the report friday 5pm"];
  if (!report || report.due_date !== null) throw new Error(`the literal phrase was read after all: ${JSON.stringify(report)}`);
  if (!(await row(p, "Water the plants").locator('[data-testid="task-repeat"]').innerText()).includes("Every week on Mon")) {
    throw new Error("the recurring task's row does not show its rule");
  }
  await shot(p, "scenario8-created");
  console.log("  Pay rent: due tomorrow 09:00 Berlin, #home, high; plants: every Monday 09:00; the report kept its words");
});

await scenario(9, "a reminder is snoozed from its toast and from the notification list; a notification opens its task", async () => {
  const { page: p } = await newUser("Remy");
  S.c = p;
  const remindSoon = (title) =>
    p.evaluate(
      async ([title, reminder_at]) =>
        (
          await fetch("/api/tasks", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ title, reminder_at, timezone: "Europe/Berlin" }),
          })
        ).json(),
      [title, new Date(Date.now() + 3_000).toISOString()],
    );
  const unread = async () => Number((await p.locator('[data-testid="unread-count"]').textContent({ timeout: 500 }).catch(() => "0")) || 0);
  const stored = async (title) => (await apiTasks(p)).find((t) => t.title === title);

  // From the toast: 10 minutes later, by the server's clock; the fired reminder is read.
  const water = await remindSoon("Drink water");
  const toastEl = p.locator('[data-testid="reminder-toast"]', { hasText: "Reminder: Drink water" });
  await toastEl.waitFor({ timeout: 30_000 });
  await expectEventually(async () => (await unread()) === 1, { message: "one unread notification" });
  await shot(p, "scenario9-reminder-toast");
  const clickedAt = Date.now();
  await toastEl.getByRole("button", { name: "Snooze for 10 minutes" }).click();
  await toastEl.waitFor({ state: "detached", timeout: 5_000 });
  await expectEventually(
    async () => {
      const ahead = Date.parse((await stored("Drink water")).reminder_at) - clickedAt;
      return ahead > 9.5 * 60_000 && ahead < 10.5 * 60_000;
    },
    { message: "the reminder 10 minutes ahead" },
  );
  await expectEventually(async () => (await unread()) === 0, { message: "the snoozed reminder read" });

  // The notification list: the read one offers no snooze; its title opens the task.
  await p.click('[data-testid="notification-bell"]');
  const list = p.locator('[role="dialog"][aria-label="Notifications"]');
  const item = list.locator("li", { hasText: "Drink water" }).first();
  await item.waitFor({ timeout: 10_000 });
  if (await item.locator("[data-snooze]").count()) throw new Error("a read notification still offers to snooze");
  await item.getByTestId("notification-open").click();
  await p.waitForURL(`**/tasks?task=${water.id}`, { timeout: 10_000 });
  const editor = p.locator('[role="dialog"][aria-modal="true"]', { hasText: "Edit task" });
  await editor.waitFor({ timeout: 10_000 });
  if ((await editor.locator("#task-title").inputValue()) !== "Drink water") throw new Error("the notification opened another task");
  await shot(p, "scenario9-opened-from-notification");
  await p.keyboard.press("Escape");
  await editor.waitFor({ state: "detached", timeout: 5_000 });
  await p.waitForURL((url) => !url.search.includes("task="), { timeout: 5_000 });

  // From the list, by keyboard: tomorrow at 09:00 on the task's wall clock (Berlin).
  await remindSoon("Stand up");
  await p.locator('[data-testid="reminder-toast"]', { hasText: "Reminder: Stand up" }).waitFor({ timeout: 30_000 });
  await expectEventually(async () => (await unread()) === 1, { message: "one unread notification" });
  await p.click('[data-testid="notification-bell"]');
  const standUp = list.locator("li", { hasText: "Stand up" }).first();
  const tomorrow = standUp.getByRole("button", { name: "Snooze until tomorrow at 9:00" });
  await tomorrow.waitFor({ timeout: 10_000 });
  await shot(p, "scenario9-notification-list-snooze");
  await tomorrow.focus();
  await p.keyboard.press("Enter");
  await expectEventually(async () => Date.parse((await stored("Stand up")).reminder_at) === Date.parse(berlinTomorrowAt(9, 0)), {
    message: "the reminder at 09:00 tomorrow in Berlin",
  });
  await expectEventually(async () => (await unread()) === 0, { message: "the snoozed reminder read" });
  await standUp.locator("[data-snooze]").first().waitFor({ state: "detached", timeout: 10_000 });
  await p.keyboard.press("Escape");
  console.log("  snoozed 10 min from the toast and to 09:00 tomorrow from the list; the notification opened its task");
});

await scenario(10, "a deleted task comes back with Undo on every open page, and from the trash; the activity says it was restored", async () => {
  const { ctx, page: p } = await newUser("Tess");
  S.c = p;
  const other = watch(await ctx.newPage(), "Tess-page2");
  await other.goto(`${BASE}/tasks`);
  await live(other);
  await quickAdd(p, "Renew passport");
  await quickAdd(p, "Book the dentist");
  await row(other, "Book the dentist").waitFor({ timeout: 5_000 });

  // Undo from the toast: the task is back here and on the other page.
  await row(p, "Renew passport").locator('button[aria-label^="Delete"]').click();
  await p.click('[role="alertdialog"] button:has-text("Delete")');
  await row(other, "Renew passport").waitFor({ state: "detached", timeout: 5_000 });
  const deletedToast = p.locator("[data-sonner-toast]", { hasText: "Deleted “Renew passport”" });
  await deletedToast.waitFor({ timeout: 5_000 });
  await shot(p, "scenario10-undo-toast");
  await deletedToast.getByRole("button", { name: "Undo" }).click();
  await row(p, "Renew passport").waitFor({ timeout: 5_000 });
  await row(other, "Renew passport").waitFor({ timeout: 5_000 });

  // From the trash page, by keyboard.
  await row(p, "Book the dentist").locator('button[aria-label^="Delete"]').click();
  await p.click('[role="alertdialog"] button:has-text("Delete")');
  await row(other, "Book the dentist").waitFor({ state: "detached", timeout: 5_000 });
  await p.click('nav a:has-text("Trash")');
  await p.waitForURL("**/trash");
  const entry = p.locator('[data-testid="trash-entry"]', { hasText: "Book the dentist" });
  await entry.waitFor({ timeout: 10_000 });
  if ((await p.locator('[data-testid="trash-entry"]').count()) !== 1) throw new Error("the undone deletion is still in the trash");
  await shot(p, "scenario10-trash");
  await entry.getByRole("button", { name: "Restore “Book the dentist”" }).focus();
  await p.keyboard.press("Enter");
  await entry.waitFor({ state: "detached", timeout: 5_000 });
  await p.getByText("The trash is empty").waitFor({ timeout: 5_000 });
  await row(other, "Book the dentist").waitFor({ timeout: 5_000 });

  await p.click('nav a:has-text("Activity")');
  await p.waitForURL("**/activity");
  const restored = p.locator('[data-testid="activity-entry"][data-event-type="task.restored"]');
  await expectEventually(async () => (await restored.count()) === 2, { message: "two restores in the activity" });
  const words = (await restored.first().innerText()).replace(/\s+/g, " ");
  if (!/You restored “(Book the dentist|Renew passport)” from Trash/.test(words)) throw new Error(`the restore reads: ${words}`);
  await shot(p, "scenario10-activity");
  await other.close();
  console.log("  undo brought the task back on both pages; the trash restored the other; activity shows both restores");
});

await scenario(11, "views stay: Today, Upcoming by day and Overdue; filters in the URL with back and reload; several tags any/all; a saved view", async () => {
  const { ctx, page: p } = await newUser("Vera");
  S.c = p;
  const make = (title, extra) =>
    p.evaluate(
      async ([title, extra]) =>
        (
          await fetch("/api/tasks", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ title, timezone: "Europe/Berlin", ...extra }),
          })
        ).status,
      [title, extra],
    );
  const inMinutes = (m) => new Date(Date.now() + m * 60_000).toISOString();
  for (const [title, extra] of [
    ["Today task", { due_date: inMinutes(0.05) }],
    ["Overdue task", { due_date: inMinutes(-60) }],
    ["Tomorrow task", { due_date: berlinTomorrowAt(9, 0) }],
    ["In ten days", { due_date: inMinutes(10 * 24 * 60) }],
    ["Tagged home", { tags: ["home"] }],
    ["Tagged work", { tags: ["work"] }],
  ]) {
    if ((await make(title, extra)) !== 201) throw new Error(`could not create ${title}`);
  }
  await p.reload();
  await row(p, "Tagged work").waitFor({ timeout: 10_000 });
  const nav = p.locator('[data-testid="views-nav"]');
  const shown = async () => (await titles(p)).sort().join(",");
  const expectShown = (want, message) => expectEventually(async () => (await shown()) === want, { message: `${message}: ${want}` });

  await nav.getByRole("button", { name: "Upcoming" }).click();
  await p.waitForURL("**/tasks?due=upcoming&sort=due_date");
  await expectEventually(async () => !(await shown()).includes("In ten days") && (await shown()).includes("Tomorrow task"), { message: "upcoming" });
  const headings = await p.locator('[data-testid="day-heading"]').allInnerTexts();
  if (!headings.map((h) => h.toLowerCase()).includes("tomorrow")) throw new Error(`Upcoming's day headings: ${headings}`);
  await shot(p, "scenario11-upcoming-by-day");
  await nav.getByRole("button", { name: "Overdue" }).click();
  await p.waitForURL("**/tasks?due=overdue&sort=due_date");
  await expectEventually(async () => (await shown()).includes("Overdue task") && !(await shown()).includes("Tomorrow task"), { message: "overdue" });
  await nav.getByRole("button", { name: "Today" }).click();
  await p.waitForURL("**/tasks?due=today&sort=due_date");
  await expectEventually(async () => (await shown()).includes("Today task") && !/Tomorrow task|In ten days/.test(await shown()), { message: "today" });
  if ((await nav.getByRole("button", { name: "Today" }).getAttribute("aria-current")) !== "page") throw new Error("Today is not marked current");
  await shot(p, "scenario11-today");

  // Back walks through the views; a reload keeps the one in the URL.
  await p.goBack();
  await p.waitForURL("**/tasks?due=overdue&sort=due_date");
  await expectEventually(async () => (await shown()).includes("Overdue task") && !(await shown()).includes("Tomorrow task"), { message: "overdue after back" });
  await p.reload();
  await row(p, "Overdue task").waitFor({ timeout: 10_000 });
  if (!(await shown()).includes("Overdue task") || (await shown()).includes("Tomorrow task")) throw new Error(`after reload: ${await shown()}`);

  // Several tags: all of them (none here), or any of them.
  await nav.getByRole("button", { name: "All open" }).click();
  await p.waitForURL((url) => url.pathname === "/tasks" && url.search === "");
  await p.selectOption("#filter-tag", "home");
  await p.waitForURL("**/tasks?tag=home");
  await expectShown("Tagged home", "one tag");
  await p.selectOption("#filter-tag", "work");
  await p.waitForURL("**/tasks?tag=home&tag=work");
  await p.locator('[data-testid="empty-state"]').waitFor({ timeout: 10_000 });
  await p.getByRole("radio", { name: "any of these tags" }).click();
  await p.waitForURL("**/tasks?tag=home&tag=work&tag_mode=any");
  await expectShown("Tagged home,Tagged work", "any of two tags");

  // The link is shareable: another tab opens the same list.
  const shared = watch(await ctx.newPage(), "Vera-shared");
  await shared.goto(p.url());
  await row(shared, "Tagged work").waitFor({ timeout: 10_000 });
  if ((await shared.locator('[data-testid="tag-filter"]').innerText()).replace(/\s+/g, " ").indexOf("#home") < 0) throw new Error("the shared link lost its tags");
  await shared.close();

  // Saved: it lists in the sidebar and brings the filters back.
  await nav.getByRole("button", { name: "Save this view" }).click();
  await p.fill("#view-name", "Home or work");
  await p.keyboard.press("Enter");
  const savedButton = nav.locator('[data-testid="saved-views"]').getByRole("button", { name: "Home or work", exact: true });
  await savedButton.waitFor({ timeout: 10_000 });
  await shot(p, "scenario11-saved-view");
  await nav.getByRole("button", { name: "All open" }).click();
  await p.waitForURL((url) => url.search === "");
  await p.reload();
  await savedButton.click();
  await p.waitForURL("**/tasks?tag=home&tag=work&tag_mode=any");
  await expectShown("Tagged home,Tagged work", "the saved view");
  if ((await savedButton.getAttribute("aria-current")) !== "page") throw new Error("the saved view is not marked current");
  // Renamed by keyboard; it keeps its place and its list, and is still the current view.
  await nav.getByRole("button", { name: "Rename the view “Home or work”" }).focus();
  await p.keyboard.press("Enter");
  await p.fill("#view-name", "Home and work");
  await p.press("#view-name", "Enter");
  const renamed = nav.locator('[data-testid="saved-views"]').getByRole("button", { name: "Home and work", exact: true });
  await renamed.waitFor({ timeout: 10_000 });
  if ((await renamed.getAttribute("aria-current")) !== "page") throw new Error("the renamed view is not the current one");
  await p.reload();
  await renamed.waitFor({ timeout: 10_000 });
  await nav.getByRole("button", { name: "Delete the view “Home and work”" }).click();
  await renamed.waitFor({ state: "detached", timeout: 5_000 });
  console.log("  Today/Upcoming/Overdue by the server in Berlin; back and reload keep the view; any/all tags; a saved view, renamed");
});

await scenario(12, "a calendar app subscribes to the user's secret feed URL; rotating it ends the old URL, turning it off ends all", async () => {
  const { page: p } = await newUser("Cleo");
  S.c = p;
  const make = (body) =>
    p.evaluate(
      async (body) =>
        (await fetch("/api/tasks", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })).status,
      body,
    );
  const dentist = berlinTomorrowAt(9, 0);
  const reminder = new Date(Date.parse(dentist) - 15 * 60_000).toISOString();
  for (const body of [
    { title: "Dentist, bring card", due_date: dentist, reminder_at: reminder, timezone: "Europe/Berlin" },
    { title: "Standup", due_date: berlinTomorrowAt(9, 30), recurring_rule: "weekdays", timezone: "Europe/Berlin" },
    { title: "No date yet", timezone: "Europe/Berlin" },
  ]) {
    if ((await make(body)) !== 201) throw new Error(`could not create ${body.title}`);
  }
  // The calendar app runs outside the browser (here: this Node process).
  const calendarApp = async (url) => {
    const res = await fetch(url.replace("//localhost:", "//127.0.0.1:"));
    return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
  };

  await p.getByRole("link", { name: "Settings", exact: true }).click();
  await p.waitForURL("**/settings");
  const turnOn = p.getByRole("button", { name: "Turn on calendar feed" });
  await turnOn.focus();
  await p.keyboard.press("Enter");
  const urlInput = p.getByLabel("Feed URL");
  await urlInput.waitFor({ timeout: 10_000 });
  const first = await urlInput.inputValue();
  if (!/\/calendar\.ics\?token=/.test(first)) throw new Error(`no feed URL shown: ${first}`);

  const events = await calendarApp(first);
  if (events.status !== 200 || !events.type?.startsWith("text/calendar")) throw new Error(`feed answered ${events.status} ${events.type}`);
  const unfolded = events.text.replace(/\r\n[ \t]/g, "");
  for (const needed of [
    "SUMMARY:Dentist\\, bring card",
    "TRIGGER:-PT15M",
    "SUMMARY:Standup",
    "DTSTART;TZID=Europe/Berlin:",
    "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "BEGIN:VTIMEZONE",
  ]) {
    if (!unfolded.includes(needed)) throw new Error(`the feed lacks ${needed}:\n${unfolded}`);
  }
  if (unfolded.includes("No date yet")) throw new Error("an undated task is a calendar event");

  // Task apps read to-dos: every open task, undated ones too.
  await p.getByRole("radio", { name: /To-dos/ }).check();
  const todosUrl = await urlInput.inputValue();
  if (!todosUrl.endsWith("&kind=todos")) throw new Error(`to-dos URL: ${todosUrl}`);
  const todos = await calendarApp(todosUrl);
  if (todos.status !== 200 || (todos.text.match(/BEGIN:VTODO/g) ?? []).length !== 3) throw new Error(`to-dos feed:\n${todos.text}`);

  // The same URL every time the page shows it, and the fetch is recorded.
  await p.reload();
  await urlInput.waitFor({ timeout: 10_000 });
  if ((await urlInput.inputValue()) !== first) throw new Error("the feed URL changed on reload");
  await p.getByText(/Last fetched/).waitFor({ timeout: 5_000 });
  await shot(p, "scenario12-calendar-feed");

  // A new secret URL: the old one stops working at once.
  await p.getByRole("button", { name: "New secret URL" }).click();
  await p.getByRole("alertdialog").getByRole("button", { name: "Make a new URL" }).click();
  await expectEventually(async () => (await urlInput.inputValue()) !== first, { message: "a new URL" });
  const second = await urlInput.inputValue();
  if ((await calendarApp(first)).status !== 401) throw new Error("the old URL still works after rotation");
  if ((await calendarApp(second)).status !== 200) throw new Error("the new URL does not work");

  // Turned off: no URL works.
  await p.getByRole("button", { name: "Turn off", exact: true }).click();
  await p.getByRole("alertdialog").getByRole("button", { name: "Turn off" }).click();
  await turnOn.waitFor({ timeout: 10_000 });
  if ((await calendarApp(second)).status !== 401) throw new Error("the URL still works after turning the feed off");
  console.log("  events with RRULE/VTIMEZONE/VALARM and to-dos from the Settings URL; stable on reload; rotation and turning off end old URLs");
});

await scenario(13, "the user downloads every task as JSON and CSV and imports a Todoist CSV export; a file that is no export imports nothing", async () => {
  const { page: p } = await newUser("Ivo");
  S.c = p;
  await quickAdd(p, "Renew passport #admin !high");
  await row(p, "Renew passport").waitFor({ timeout: 10_000 });
  await p.getByRole("link", { name: "Settings", exact: true }).click();
  await p.waitForURL("**/settings");

  const download = async (name) => {
    const [file] = await Promise.all([p.waitForEvent("download"), p.getByRole("link", { name }).click()]);
    return { name: file.suggestedFilename(), text: readFileSync(await file.path(), "utf8") };
  };
  const json = await download("Download JSON");
  const exported = JSON.parse(json.text);
  if (!/^taskfleet-tasks-\d{4}-\d{2}-\d{2}\.json$/.test(json.name)) throw new Error(`JSON file name ${json.name}`);
  const passport = exported.tasks.find((t) => t.title === "Renew passport");
  if (!passport || passport.priority !== "high" || passport.tags.join() !== "admin") throw new Error(`JSON export: ${json.text}`);
  const csv = await download("Download CSV");
  if (!csv.name.endsWith(".csv") || !csv.text.startsWith("id,title,") || !csv.text.includes("Renew passport")) throw new Error(`CSV export: ${csv.text}`);

  const todoist = [
    "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE",
    "section,Garden,,,,,,,,",
    "task,Water the plants @outside,,1,1,Ivo (1),,every monday,en,Europe/Berlin",
    "note,the ones on the balcony too,,,,Ivo (1),,,,",
    "task,Read a book,,4,1,Ivo (1),,whenever,en,",
  ].join("\n");
  const fileInput = p.getByLabel("Import from Todoist");
  // Not an export: refused whole, with the reason (Chromium logs the expected 422, and only it).
  const errorsBeforeRefusal = consoleErrors.length;
  await fileInput.setInputFiles({ name: "notes.csv", mimeType: "text/csv", buffer: Buffer.from("title,due\nmilk,tomorrow\n") });
  await p.getByRole("alert").filter({ hasText: "Nothing was imported: not a Todoist CSV export" }).waitFor({ timeout: 10_000 });
  const refusal = consoleErrors.splice(errorsBeforeRefusal);
  consoleErrors.push(...refusal.filter((e) => !/status of 422 .*\/api\/tasks\/import/.test(e)));
  await fileInput.setInputFiles({ name: "Garden.csv", mimeType: "text/csv", buffer: Buffer.from(todoist) });
  const result = p.locator('[data-testid="import-result"]');
  await result.getByText("Imported 2 tasks.").waitFor({ timeout: 10_000 });
  if (!(await result.textContent()).includes("Line 5: the date \"whenever\" was not understood")) throw new Error(`import notes: ${await result.textContent()}`);
  await shot(p, "scenario13-your-data");

  // The imported tasks are ordinary tasks: live in the list, with tags, priority and repeat.
  await p.getByRole("link", { name: "Tasks", exact: true }).click();
  await row(p, "Water the plants").waitFor({ timeout: 10_000 });
  await row(p, "Read a book").waitFor({ timeout: 10_000 });
  const tasks = await apiTasks(p);
  const plants = tasks.find((t) => t.title === "Water the plants");
  if (plants.priority !== "high" || plants.tags.join() !== "outside,garden" || !plants.recurring_rule || !plants.due_date) {
    throw new Error(`imported task: ${JSON.stringify(plants)}`);
  }
  if (plants.description !== "the ones on the balcony too") throw new Error(`note not in the description: ${plants.description}`);
  console.log("  JSON and CSV downloads hold the user's task; a Todoist export imports with tags, priority, repeat and notes; a non-export imports nothing");
});

await scenario(14, "a new account confirms its address from the mail; a forgotten password is reset by mail, once, and every device is signed out", async () => {
  const { page: p, email } = await newUser("Rosa");
  S.c = p;
  const mailTo = async (subject) =>
    (await (await fetch(`${MAIL_SINK}/messages`)).json()).filter((m) => m.to === email && m.subject.includes(subject));
  const linkIn = (text) => text.match(/https?:\/\/\S+/)?.[0];
  const waitForMail = async (subject) => {
    let found;
    await expectEventually(async () => (found = (await mailTo(subject)).at(-1)), { message: `a mail "${subject}"` });
    return found;
  };

  // The address: a banner until the link from the sign-up mail is opened.
  const banner = p.locator('[data-testid="verify-email"]');
  await banner.waitFor({ timeout: 10_000 });
  const confirm = await waitForMail("Confirm your e-mail address");
  await p.goto(linkIn(confirm.text));
  await p.waitForURL("**/tasks");
  await live(p);
  if (await banner.count()) throw new Error("the banner stays after the address was confirmed");

  // A forgotten password, from a browser that is not signed in.
  const errorsBefore = consoleErrors.length;
  const anonCtx = await newContext();
  const a = watch(await anonCtx.newPage(), "Rosa-signed-out");
  await a.goto(`${BASE}/sign-in`);
  await a.getByRole("link", { name: "Forgot your password?" }).click();
  await a.waitForURL("**/forgot-password");
  await a.fill("#reset-email", email);
  await a.press("#reset-email", "Enter");
  await a.locator('[data-testid="reset-sent"]').waitFor({ timeout: 10_000 });
  // An address without an account gets the same answer (no way to learn who has one).
  await a.goto(`${BASE}/forgot-password`);
  await a.fill("#reset-email", `nobody-${Date.now()}@example.com`);
  await a.press("#reset-email", "Enter");
  await a.locator('[data-testid="reset-sent"]').waitFor({ timeout: 10_000 });

  // That browser signs in with the old password meanwhile: a second device with a session.
  await a.goto(`${BASE}/sign-in`);
  await a.fill("#auth-email", email);
  await a.fill("#auth-password", "correct horse battery");
  await a.click('button[type="submit"]');
  await a.waitForURL("**/tasks", { timeout: 15_000 });

  // The link opens in the first browser, which is still signed in: it gets the form, not /tasks.
  const reset = await waitForMail("Reset your taskfleet password");
  const link = linkIn(reset.text);
  await p.goto(link);
  await p.waitForURL("**/reset-password?token=*");
  await p.fill("#reset-password", "a brand new password");
  await p.fill("#reset-password-again", "a brand new password");
  await shot(p, "scenario14-new-password");
  await p.press("#reset-password-again", "Enter");
  await p.waitForURL("**/sign-in?notice=password-reset", { timeout: 10_000 });
  await p.getByRole("status").filter({ hasText: "Your password was changed" }).waitFor();
  // The link works once.
  await p.goto(link);
  await p.getByRole("heading", { name: "This link does not work" }).waitFor({ timeout: 10_000 });

  // Every device was signed out: the other browser's session is gone.
  await a.reload();
  await a.waitForURL("**/sign-in", { timeout: 10_000 });
  // The old password no longer works, the new one does.
  await a.fill("#auth-email", email);
  await a.fill("#auth-password", "correct horse battery");
  await a.click('button[type="submit"]');
  await a.getByRole("alert").filter({ hasText: "don't match" }).waitFor({ timeout: 10_000 });
  await a.fill("#auth-password", "a brand new password");
  await a.click('button[type="submit"]');
  await a.waitForURL("**/tasks", { timeout: 15_000 });
  // Refused requests (the old password, the revoked session's calls) are logged as 401s; only those.
  const later = consoleErrors.splice(errorsBefore);
  consoleErrors.push(...later.filter((e) => !/status of 401/.test(e)));
  await anonCtx.close();
  console.log("  address confirmed from the sign-up mail; reset by mail (opened in a signed-in browser): link used once, every session gone, old password refused");
});

await scenario(15, "a user deletes their account: the password is asked, every service erases the data, every open page is signed out", async () => {
  const { ctx, page: p, email } = await newUser("Otto");
  S.c = p;
  const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  try {
    const one = async (sql, ...params) => (await db.query(sql, params)).rows[0];
    const { id: userId } = await one('SELECT id FROM "user" WHERE email = $1', email);
    await quickAdd(p, "Shred the old letters tomorrow 9am");
    await row(p, "Shred the old letters").waitFor({ timeout: 10_000 });
    // A second tab of the same account, which the deletion must reach too.
    const other = watch(await ctx.newPage(), "Otto-tab-2");
    await other.goto(`${BASE}/tasks`);
    await live(other);
    await row(other, "Shred the old letters").waitFor({ timeout: 10_000 });
    // The audit trail has the creation before the deletion (so its erasure is observable).
    await expectEventually(async () => Number((await one("SELECT count(*) AS n FROM audit_log WHERE user_id = $1", userId)).n) >= 1, {
      message: "the creation in the audit trail",
    });

    await p.getByRole("link", { name: "Settings", exact: true }).click();
    await p.waitForURL("**/settings");
    await p.getByRole("button", { name: "Delete account…" }).click();
    const dialog = p.getByRole("alertdialog", { name: "Delete your account?" });
    await dialog.waitFor();
    // A wrong password deletes nothing.
    const errorsBefore = consoleErrors.length;
    await p.fill("#delete-account-password", "not my password");
    await dialog.getByRole("button", { name: "Delete my account" }).click();
    await dialog.getByRole("alert").filter({ hasText: "That is not your password. Nothing was deleted." }).waitFor({ timeout: 10_000 });
    const refused = consoleErrors.splice(errorsBefore);
    consoleErrors.push(...refused.filter((e) => !/status of 403/.test(e)));
    if (Number((await one("SELECT count(*) AS n FROM tasks WHERE user_id = $1", userId)).n) !== 1) throw new Error("a wrong password deleted tasks");
    await shot(p, "scenario15-delete-account");

    await p.fill("#delete-account-password", "correct horse battery");
    const deleting = consoleErrors.length;
    await dialog.getByRole("button", { name: "Delete my account" }).click();
    await p.waitForURL("**/sign-in?notice=account-deleted", { timeout: 15_000 });
    await p.getByRole("status").filter({ hasText: "Your account and everything in it were deleted" }).waitFor();
    // The other tab is told through its live connection and leaves too.
    await other.waitForURL("**/sign-in?notice=account-deleted", { timeout: 15_000 });
    await shot(other, "scenario15-other-tab-signed-out");
    // Calls the pages made between the erasure and leaving were refused (401); only those.
    const afterDeletion = consoleErrors.splice(deleting);
    consoleErrors.push(...afterDeletion.filter((e) => !/status of 401/.test(e)));

    // Every service erased what it kept; the audit trail keeps only a tombstone.
    await expectEventually(
      async () => {
        const audit = (await db.query("SELECT event_type, snapshot FROM audit_log WHERE user_id = $1", [userId])).rows;
        return audit.length === 1 && audit[0].event_type === "user-deleted" && Number(audit[0].snapshot.erased_entries) >= 1;
      },
      { message: "the audit trail replaced by a tombstone" },
    );
    const left = await one(
      `SELECT (SELECT count(*) FROM tasks WHERE user_id = $1) AS tasks,
              (SELECT count(*) FROM notifications WHERE user_id = $1) AS notifications,
              (SELECT count(*) FROM "user" WHERE id = $1) AS users,
              (SELECT count(*) FROM session WHERE "userId" = $1) AS sessions,
              (SELECT count(*) FROM erased_users WHERE user_id = $1) AS erased`,
      userId,
    );
    if (Number(left.tasks) || Number(left.notifications) || Number(left.users) || Number(left.sessions) || Number(left.erased) !== 1) {
      throw new Error(`left behind: ${JSON.stringify(left)}`);
    }

    // The old credentials open nothing.
    const signIn = consoleErrors.length;
    await p.fill("#auth-email", email);
    await p.fill("#auth-password", "correct horse battery");
    await p.click('button[type="submit"]');
    await p.getByRole("alert").filter({ hasText: "don't match" }).waitFor({ timeout: 10_000 });
    const refusedSignIn = consoleErrors.splice(signIn);
    consoleErrors.push(...refusedSignIn.filter((e) => !/status of 401/.test(e)));
  } finally {
    await db.end();
  }
  console.log("  wrong password refused; tasks, sessions and the user gone in every service; the audit trail a tombstone; the other tab signed out");
});

// Headless Chromium has no push service to subscribe at (it would ask Google's, unreachable
// here): PushManager hands out subscriptions of the e2e push service stand-in instead, whose keys
// the stand-in holds to decrypt what the notification service sends, as the browser would.
// Everything else is the browser's own: the permission, the service worker, its notifications.
function stubPushManager() {
  const KEY = "__e2ePushSubscription";
  const toBase64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
  const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0)).buffer;
  const wrap = (json, serverKey) => ({
    endpoint: json.endpoint,
    expirationTime: null,
    options: { applicationServerKey: serverKey, userVisibleOnly: true },
    toJSON: () => json,
    unsubscribe: async () => {
      sessionStorage.removeItem(KEY);
      return true;
    },
  });
  PushManager.prototype.getSubscription = async function () {
    const stored = sessionStorage.getItem(KEY);
    if (!stored) return null;
    const { json, key } = JSON.parse(stored);
    return wrap(json, fromBase64(key));
  };
  PushManager.prototype.subscribe = async function (options) {
    const key = toBase64(options.applicationServerKey);
    const json = await window.__e2eNewPushSubscription();
    sessionStorage.setItem(KEY, JSON.stringify({ json, key }));
    return wrap(json, fromBase64(key));
  };
}

await scenario(16, "reminders reach a closed app by Web Push: permission, subscription, an encrypted push, the service worker's notification", async () => {
  const { ctx, page: p } = await newUser("Pia", async (ctx) => {
    await ctx.grantPermissions(["notifications"], { origin: BASE });
    await ctx.exposeFunction("__e2eNewPushSubscription", async () => (await fetch(`${PUSH_SERVICE}/subscriptions`, { method: "POST" })).json());
    await ctx.addInitScript(stubPushManager);
  });
  S.c = p;
  const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  try {
    await p.getByRole("link", { name: "Settings", exact: true }).click();
    await p.waitForURL("**/settings");
    const state = p.locator('[data-testid="push-state"]');
    await p.locator('[data-testid="push-state"][data-state="off"]').waitFor({ timeout: 10_000 });
    await p.getByRole("region", { name: "Reminders on this device" }).getByRole("button", { name: "Turn on" }).click();
    await p.locator('[data-testid="push-state"][data-state="on"]').waitFor({ timeout: 15_000 });
    if (!(await state.textContent()).includes("even when the app is closed")) throw new Error(`state: ${await state.textContent()}`);
    await shot(p, "scenario16-push-on");
    const email = await p.evaluate(async () => (await (await fetch("/api/auth/get-session")).json()).user.email);
    const { rows } = await db.query(
      'SELECT s.endpoint FROM push_subscriptions s JOIN "user" u ON u.id = s.user_id WHERE u.email = $1',
      [email],
    );
    if (rows.length !== 1 || !rows[0].endpoint.startsWith(`${PUSH_SERVICE}/push/`)) throw new Error(`subscriptions: ${JSON.stringify(rows)}`);
    const endpoint = rows[0].endpoint;

    // A reminder a few seconds ahead: notification pushes it, encrypted for this browser.
    const created = await p.evaluate(async (reminder_at) => {
      const r = await fetch("/api/tasks", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ title: "Take the bins out", reminder_at }),
      });
      return r.json();
    }, new Date(Date.now() + 3_000).toISOString());
    let pushed;
    await expectEventually(
      async () => {
        const { messages } = await (await fetch(`${PUSH_SERVICE}/messages`)).json();
        pushed = messages.find((m) => m.endpoint === endpoint && m.payload.task_id === created.id);
        return pushed;
      },
      { timeout: 30_000, message: "the reminder at the push service, decrypted with the browser's keys" },
    );
    const { refused } = await (await fetch(`${PUSH_SERVICE}/messages`)).json();
    if (refused.length) throw new Error(`the push service refused: ${refused.join("; ")}`);
    if (pushed.payload.title !== "Take the bins out" || pushed.payload.url !== `/tasks?task=${created.id}` || pushed.topic !== created.id.replaceAll("-", "")) {
      throw new Error(`pushed: ${JSON.stringify(pushed)}`);
    }

    // Off again: the server forgets this browser.
    await p.getByRole("region", { name: "Reminders on this device" }).getByRole("button", { name: "Turn off" }).click();
    await p.locator('[data-testid="push-state"][data-state="off"]').waitFor({ timeout: 10_000 });
    const left = await db.query("SELECT count(*)::int AS n FROM push_subscriptions WHERE endpoint = $1", [endpoint]);
    if (left.rows[0].n !== 0) throw new Error("the subscription outlived turning it off");

    // The browser hands the decrypted message to the service worker, which shows it. The app is
    // closed first: while a tab of the app is in front (Playwright keeps every page focused), its
    // page shows the reminder itself and the worker shows nothing.
    await p.evaluate(async () => void (await navigator.serviceWorker.ready));
    const other = await ctx.newPage();
    await other.goto("about:blank");
    S.c = other;
    const cdp = await ctx.newCDPSession(other);
    const registrations = [];
    cdp.on("ServiceWorker.workerRegistrationUpdated", (e) => registrations.push(...e.registrations));
    await cdp.send("ServiceWorker.enable");
    await expectEventually(async () => registrations.some((r) => r.scopeURL === `${BASE}/` && !r.isDeleted), { message: "the service worker's registration" });
    const registrationId = registrations.find((r) => r.scopeURL === `${BASE}/` && !r.isDeleted).registrationId;
    // While the app is in front, the worker asks its page whether its live connection is up (a
    // page whose connection is down gets no toast, so the worker shows the notification then).
    await expectEventually(
      async () => {
        const worker = ctx.serviceWorkers().find((w) => w.url().startsWith(`${BASE}/`));
        return worker && (await worker.evaluate(() => appShowsIt()).catch(() => false));
      },
      { message: "the page in front telling the worker that its connection is up" },
    );
    await p.close();
    // Delivered again while no notification shows (a delivery that reaches a worker still
    // starting up is lost; the tag makes a repeat replace, not add). Read from the worker itself.
    let shown = [];
    await expectEventually(
      async () => {
        await cdp.send("ServiceWorker.deliverPushMessage", { origin: BASE, registrationId, data: JSON.stringify(pushed.payload) });
        await new Promise((r) => setTimeout(r, 500));
        const worker = ctx.serviceWorkers().find((w) => w.url().startsWith(`${BASE}/`));
        if (!worker) return false;
        shown = await worker
          .evaluate(async () =>
            (await self.registration.getNotifications()).map((n) => ({
              title: n.title,
              tag: n.tag,
              url: n.data?.url,
              actions: n.actions.map((a) => a.action),
            })),
          )
          .catch(() => []);
        return shown.some((n) => n.title === "Take the bins out");
      },
      { timeout: 20_000, interval: 500, message: `the service worker's notification (registrations ${JSON.stringify(registrations)})` },
    );
    const note = shown.find((n) => n.title === "Take the bins out");
    if (note.tag !== `reminder-${created.id}` || note.url !== `/tasks?task=${created.id}` || note.actions.join() !== "snooze-10m,snooze-1h") {
      throw new Error(`notification: ${JSON.stringify(note)}`);
    }
  } finally {
    await db.end();
  }
  console.log("  permission granted, subscribed with the server's key; the reminder arrived encrypted and VAPID-signed; off again; the worker showed it with snooze actions to a closed app");
});

await browser.close();

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
