// End-to-end tests of the admin page in headless Chromium against the real
// customerd binary. Run through web/e2e/run, which builds the binary and
// sets CUSTOMERD_BIN and E2E_TMP. The tests run in order and build on
// each other, as a user's session would.

import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const bin = process.env.CUSTOMERD_BIN;
const tmp = process.env.E2E_TMP;
assert.ok(bin && tmp, "run through web/e2e/run");
const artifacts = path.join(path.dirname(fileURLToPath(import.meta.url)), "artifacts");

// Chromium as this machine allows it: no sandbox as root, and nothing that
// phones home (the network is closed and would be tried at every start).
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  // Two tabs are open at once: keep the one behind at full speed.
  "--disable-background-timer-throttling",
  "--disable-renderer-backgrounding",
  "--disable-backgrounding-occluded-windows",
];

/** start runs customerd on a free loopback port and resolves once /healthz answers. */
async function start(name, ...args) {
  const proc = spawn(bin, ["-addr", "127.0.0.1:0", "-db", path.join(tmp, `${name}.db`), ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const url = await new Promise((resolve, reject) => {
    proc.stderr.setEncoding("utf8");
    proc.stderr.on("data", (chunk) => {
      log += chunk;
      const m = log.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve(m[1]);
    });
    proc.on("exit", (code) => reject(new Error(`customerd exited with ${code}:\n${log}`)));
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await fetch(`${url}/healthz`).catch(() => undefined);
    if (res?.ok) break;
    if (Date.now() > deadline) throw new Error(`${url}/healthz never answered 200:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = () =>
    new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve(proc.exitCode);
      proc.on("exit", resolve);
      proc.kill("SIGTERM");
    });
  return { url, stop, log: () => log };
}

/** call makes a Connect JSON call, as another client of the server would. */
async function call(base, method, body, key) {
  const headers = { "Content-Type": "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  const res = await fetch(`${base}/customer.v1.CustomerService/${method}`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
  const json = await res.json();
  assert.equal(res.status, 200, `${method}: ${JSON.stringify(json)}`);
  return json;
}

let server, context, page, shot = 0;

async function screenshot(p, name) {
  shot++;
  await p.screenshot({ path: path.join(artifacts, `${String(shot).padStart(2, "0")}-${name}.png`), fullPage: true });
}

const row = (p, text) => p.locator("#customers tbody tr", { hasText: text });
const rowCount = (p, n) =>
  p.waitForFunction((n) => document.querySelectorAll("#customers tbody tr").length === n, n);

/** openPage opens a new tab on the app and waits until its watch is live. */
async function openPage(url) {
  const p = await context.newPage();
  p.setDefaultTimeout(10_000);
  p.on("pageerror", (err) => console.error("page error:", err));
  await p.goto(url);
  await p.locator('#live[data-state="live"]').waitFor();
  return p;
}

/** fillForm types values into the open editor. */
async function fillForm(p, values) {
  for (const [name, value] of Object.entries(values)) {
    await p.locator(`#customer-form [name="${name}"]`).fill(value);
  }
}

before(async () => {
  await mkdir(artifacts, { recursive: true });
  server = await start("app");
  context = await chromium.launchPersistentContext(await mkdtemp(path.join(tmp, "chromium-")), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: chromiumArgs,
  });
  page = await openPage(server.url);
});

after(async () => {
  await context?.close();
  const code = await server?.stop();
  assert.equal(code, 0, `customerd did not stop cleanly:\n${server?.log()}`);
});

test("the page loads empty and follows the change feed", async () => {
  await page.locator("#empty").waitFor();
  assert.equal(await page.title(), "Customers · customerd");
  await screenshot(page, "empty");
});

test("create: the proto's rules run in the browser, then the customer is saved", async () => {
  const creates = [];
  page.on("request", (r) => r.url().endsWith("/CreateCustomer") && creates.push(r));
  await page.click("#new");
  await fillForm(page, { name: "   ", email: "not-an-email" });
  await page.click("#save");
  // The messages are the buf.validate ones from customer.proto.
  await page.locator('.error[data-for="email"]', { hasText: "must be an email address such as ada@example.com" }).waitFor();
  await page
    .locator('.error[data-for="name"]', { hasText: "must be 1 to 200 characters, not counting surrounding spaces" })
    .waitFor();
  await screenshot(page, "create-invalid");
  assert.equal(creates.length, 0, "an invalid form reached the server");

  await fillForm(page, { name: "Ada Lovelace", email: "ada@example.com", phone: "+44 20 7946 0000", address: "London" });
  await page.locator('.error[data-for="email"]:empty').waitFor({ state: "attached" }); // errors follow typing
  await page.click("#save");
  await row(page, "Ada Lovelace").waitFor();
  assert.equal(creates.length, 1);

  await page.click("#new");
  await fillForm(page, { name: "Grace Hopper", email: "grace@example.com", address: "Arlington" });
  await page.click("#save");
  await row(page, "Grace Hopper").waitFor();
  await screenshot(page, "created");
});

test("create: a taken email is shown at the email field", async () => {
  await page.click("#new");
  await fillForm(page, { name: "Ada Again", email: "ADA@example.com" });
  await page.click("#save");
  await page.locator('.error[data-for="email"]:not(:empty)').waitFor();
  await screenshot(page, "create-duplicate");
  await page.click("#cancel");
});

test("search and order", async () => {
  await page.fill("#search", "lond");
  await rowCount(page, 1);
  await row(page, "Ada Lovelace").waitFor();
  await screenshot(page, "search");

  await page.fill("#search", "");
  await rowCount(page, 2);
  await page.selectOption("#order", "name desc");
  await page.waitForFunction(() =>
    document.querySelector("#customers tbody tr td.name")?.textContent === "Grace Hopper",
  );
  await screenshot(page, "order-name-desc");
  await page.selectOption("#order", "id");
  await page.waitForFunction(() =>
    document.querySelector("#customers tbody tr td.name")?.textContent === "Ada Lovelace",
  );
});

test("edit", async () => {
  await row(page, "Ada Lovelace").locator("button.edit").click();
  await fillForm(page, { phone: "+44 20 0000 0001" });
  await page.click("#save");
  await row(page, "+44 20 0000 0001").waitFor();
  await screenshot(page, "edited");
});

test("edit: a conflicting edit from a second tab is shown, and their version can be loaded", async () => {
  const other = await openPage(server.url);
  // Headless Chromium paints only the tab in front, and clicks wait for
  // paint: bring each tab forward before acting in it.
  await page.bringToFront();
  await row(page, "Ada Lovelace").locator("button.edit").click(); // this tab opens the editor first
  await other.bringToFront();

  await row(other, "Ada Lovelace").locator("button.edit").click();
  await fillForm(other, { address: "12 St James Sq, London" });
  await other.click("#save");
  await row(other, "12 St James Sq").waitFor();
  await row(page, "12 St James Sq").waitFor(); // the first tab's list follows live
  await screenshot(other, "conflict-other-tab-saved");
  await page.bringToFront();

  await fillForm(page, { name: "Ada King" });
  await page.click("#save");
  await page.locator("#conflict").waitFor();
  assert.ok(await page.locator("#editor").isVisible(), "the editor closed on a conflict");
  await screenshot(page, "conflict-shown");

  await page.click("#reload-customer");
  await page.locator("#conflict").waitFor({ state: "hidden" });
  assert.equal(await page.inputValue('#customer-form [name="address"]'), "12 St James Sq, London");
  assert.equal(await page.inputValue('#customer-form [name="name"]'), "Ada Lovelace");
  await fillForm(page, { name: "Ada King" });
  await page.click("#save");
  await row(page, "Ada King").waitFor();
  await row(other, "Ada King").waitFor();
  await screenshot(page, "conflict-resolved");
  await other.close();
});

test("delete", async () => {
  page.once("dialog", (d) => d.accept());
  await row(page, "Grace Hopper").locator("button.delete").click();
  await row(page, "Grace Hopper").waitFor({ state: "detached" });
  await rowCount(page, 1);
  await screenshot(page, "deleted");
});

test("live: a customer created by another client appears without a reload", async () => {
  await call(server.url, "CreateCustomer", { customer: { name: "Charles Babbage", email: "charles@example.com" } });
  await row(page, "Charles Babbage").waitFor();
  const { customers } = await call(server.url, "ListCustomers", { query: "charles" });
  await call(server.url, "UpdateCustomer", {
    customer: { id: customers[0].id, phone: "+44 1" },
    updateMask: "phone",
  });
  await row(page, "+44 1").waitFor();
  await screenshot(page, "live-update");
});

test("details: history, who accessed it, export and erase", async () => {
  const { customer } = await call(server.url, "CreateCustomer", {
    customer: { name: "Erasable Person", email: "erasable@example.com" },
  });
  await call(server.url, "UpdateCustomer", { customer: { id: customer.id, phone: "+99 123" }, updateMask: "phone" });
  await call(server.url, "GetCustomer", { id: customer.id });
  await row(page, "+99 123").locator("button.details").click();
  await page.locator("#details dd[data-field=email]", { hasText: "erasable@example.com" }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll("#details-history tbody tr").length === 2);
  await page.locator("#details-history tbody tr", { hasText: "updated" }).waitFor();
  await page.locator("#details-access tbody tr", { hasText: "CreateCustomer" }).waitFor();
  await page.locator("#details-access tbody tr", { hasText: "local" }).first().waitFor();
  await screenshot(page, "details");

  page.once("dialog", (d) => d.accept());
  const download = page.waitForEvent("download");
  await page.click("#export");
  const file = await (await download).path();
  const exported = JSON.parse(await readFile(file, "utf8"));
  assert.equal(exported.customer.name, "Erasable Person");
  assert.equal(exported.changes.length, 2);

  page.once("dialog", (d) => d.accept());
  await page.click("#erase");
  await page.locator("#message", { hasText: "Erased Erasable Person" }).waitFor();
  await row(page, "Erasable Person").waitFor({ state: "detached" });
  await screenshot(page, "erased");
  const after = await call(server.url, "ExportCustomerData", { id: customer.id });
  assert.equal(after.customer, undefined);
  assert.ok(!JSON.stringify(after).includes("Erasable"), JSON.stringify(after));
  assert.equal(after.changes.at(-1).type, "CHANGE_TYPE_ERASED");
});

test("paging", async () => {
  for (let i = 1; i <= 25; i++) {
    const n = String(i).padStart(2, "0");
    await call(server.url, "CreateCustomer", { customer: { name: `Page Test ${n}`, email: `p${n}@example.com` } });
  }
  await page.locator("#page-info", { hasText: "1–20 of 27" }).waitFor();
  await page.click("#next");
  await page.locator("#page-info", { hasText: "21–27 of 27" }).waitFor();
  await rowCount(page, 7);
  await row(page, "Page Test 25").waitFor();
  await screenshot(page, "page-2");
  await page.click("#prev");
  await page.locator("#page-info", { hasText: "1–20 of 27" }).waitFor();
});

test("API keys: the page asks for a key and keeps it in the tab", async () => {
  const keys = path.join(tmp, "keys");
  const key = await new Promise((resolve, reject) => {
    const p = spawn(bin, ["keys", "add", "-file", keys, "-scope", "write"], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("exit", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`keys add: ${code}`))));
  });
  const locked = await start("locked", "-auth-keys", keys);
  try {
    await call(locked.url, "CreateCustomer", { customer: { name: "Kept Secret", email: "k@example.com" } }, key);
    const p = await context.newPage();
    p.setDefaultTimeout(10_000);
    await p.goto(locked.url);
    await p.locator("#key-form").waitFor();
    await screenshot(p, "key-asked");
    await p.fill("#key-input", key);
    await p.click('#key-form button[type="submit"]');
    await row(p, "Kept Secret").waitFor();
    await p.locator('#live[data-state="live"]').waitFor();
    assert.equal(await p.evaluate(() => sessionStorage.getItem("customerd.apiKey")), key);
    await screenshot(p, "key-accepted");
    await p.close();
  } finally {
    assert.equal(await locked.stop(), 0);
  }
});
