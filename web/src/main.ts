// The customer admin page: a searchable, sortable, paged list that follows
// WatchCustomers, and a form to create, edit and delete customers.

import "./style.css";
import { create, toJsonString } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { apiKey, client, codeOf, messageOf, setApiKey } from "./api.js";
import {
  type ChangeEvent,
  ChangeType,
  type CreateCustomerRequest,
  type ExportCustomerDataResponse,
  ExportCustomerDataResponseSchema,
  CreateCustomerRequestSchema,
  type Customer,
  type UpdateCustomerRequest,
  UpdateCustomerRequestSchema,
} from "./gen/customer/v1/customer_pb.js";
import { check, listOrders, type Problems, serverProblems } from "./rules.js";

const pageSize = 20;
const formFields = ["name", "email", "phone", "address"] as const;

function $<T extends HTMLElement>(selector: string): T {
  const el = document.querySelector<T>(selector);
  if (el === null) {
    throw new Error(`missing ${selector}`);
  }
  return el;
}

const ui = {
  live: $<HTMLSpanElement>("#live"),
  keyForm: $<HTMLFormElement>("#key-form"),
  keyInput: $<HTMLInputElement>("#key-input"),
  message: $<HTMLParagraphElement>("#message"),
  search: $<HTMLInputElement>("#search"),
  order: $<HTMLSelectElement>("#order"),
  newButton: $<HTMLButtonElement>("#new"),
  rows: $<HTMLTableSectionElement>("#customers tbody"),
  empty: $<HTMLParagraphElement>("#empty"),
  prev: $<HTMLButtonElement>("#prev"),
  next: $<HTMLButtonElement>("#next"),
  pageInfo: $<HTMLSpanElement>("#page-info"),
  editor: $<HTMLDialogElement>("#editor"),
  editorTitle: $<HTMLHeadingElement>("#editor-title"),
  form: $<HTMLFormElement>("#customer-form"),
  conflict: $<HTMLDivElement>("#conflict"),
  reload: $<HTMLButtonElement>("#reload-customer"),
  formError: $<HTMLParagraphElement>("#form-error"),
  cancel: $<HTMLButtonElement>("#cancel"),
  details: $<HTMLDialogElement>("#details"),
  detailsTitle: $<HTMLHeadingElement>("#details-title"),
  detailsFields: $<HTMLDListElement>("#details-fields"),
  detailsHistory: $<HTMLTableSectionElement>("#details-history tbody"),
  detailsAccess: $<HTMLTableSectionElement>("#details-access tbody"),
  detailsNote: $<HTMLParagraphElement>("#details-note"),
  detailsError: $<HTMLParagraphElement>("#details-error"),
  exportButton: $<HTMLButtonElement>("#export"),
  eraseButton: $<HTMLButtonElement>("#erase"),
  detailsClose: $<HTMLButtonElement>("#details-close"),
};

// ---- messages and the API key ----

function showMessage(text: string, kind: "info" | "error" = "info"): void {
  ui.message.textContent = text;
  ui.message.dataset.kind = kind;
  ui.message.hidden = false;
}

let keyEntered: () => void = () => {};
let keyArrived = new Promise<void>((resolve) => (keyEntered = resolve));

/** askForKey shows the key form; the returned promise ends once a key is entered. */
function askForKey(): Promise<void> {
  if (ui.keyForm.hidden) {
    ui.keyForm.hidden = false;
    ui.keyInput.value = "";
    showMessage(apiKey() === "" ? "Enter an API key to see the customers." : "That API key was refused.", "error");
    ui.keyInput.focus();
  }
  return keyArrived;
}

ui.keyForm.addEventListener("submit", (e) => {
  e.preventDefault();
  setApiKey(ui.keyInput.value.trim());
  ui.keyForm.hidden = true;
  ui.message.hidden = true;
  keyEntered();
  keyArrived = new Promise<void>((resolve) => (keyEntered = resolve));
  void load();
});

/** report shows the user an error from the API while doing something. */
function report(err: unknown, doing: string): void {
  switch (codeOf(err)) {
    case Code.Unauthenticated:
      void askForKey();
      return;
    case Code.PermissionDenied:
      showMessage(`Not allowed to ${doing}: ${messageOf(err)}`, "error");
      return;
    default:
      showMessage(`Could not ${doing}: ${messageOf(err)}`, "error");
  }
}

// ---- the list ----

const list = {
  query: "",
  orderBy: "",
  tokens: [""], // tokens[i] is the page token of page i
  page: 0,
  customers: new Map<bigint, Customer>(),
  changed: new Set<bigint>(), // rows to highlight on the next render
};
let loadSeq = 0;

/** load shows the current page of the current search and order. */
async function load(): Promise<void> {
  const seq = ++loadSeq;
  try {
    const res = await client.listCustomers({
      query: list.query,
      orderBy: list.orderBy,
      pageSize,
      pageToken: list.tokens[list.page],
      includeTotal: true,
    });
    if (seq !== loadSeq) {
      return; // a newer load is under way
    }
    if (res.customers.length === 0 && list.page > 0) {
      list.page--; // the last customers of this page went away
      return load();
    }
    list.tokens.length = list.page + 1;
    if (res.nextPageToken !== "") {
      list.tokens.push(res.nextPageToken);
    }
    render(res.customers, res.totalSize);
  } catch (err) {
    if (seq === loadSeq) {
      report(err, "list customers");
    }
  }
}

function render(customers: Customer[], total: number): void {
  list.customers.clear();
  const rows = customers.map((c) => {
    list.customers.set(c.id, c);
    const tr = document.createElement("tr");
    tr.dataset.id = String(c.id);
    if (list.changed.has(c.id)) {
      tr.classList.add("flash");
    }
    const updated = c.updateTime ? timestampDate(c.updateTime).toLocaleString() : "";
    for (const [cls, text] of [
      ["id", String(c.id)],
      ["name", c.name],
      ["email", c.email],
      ["phone", c.phone ?? ""],
      ["address", c.address ?? ""],
      ["updated", updated],
    ]) {
      const td = tr.insertCell();
      td.className = cls;
      td.textContent = text;
    }
    const actions = tr.insertCell();
    actions.append(
      button("Details", "details", () => void openDetails(c)),
      " ",
      button("Edit", "edit", () => openEditor(c)),
      " ",
      button("Delete", "delete", () => void remove(c)),
    );
    return tr;
  });
  list.changed.clear();
  ui.rows.replaceChildren(...rows);
  ui.empty.hidden = customers.length > 0;
  const first = list.page * pageSize;
  ui.pageInfo.textContent =
    customers.length === 0 ? `0 of ${total}` : `${first + 1}–${first + customers.length} of ${total}`;
  ui.prev.disabled = list.page === 0;
  ui.next.disabled = list.tokens.length <= list.page + 1;
}

function button(label: string, cls: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.className = cls;
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

/** restart goes back to the first page, as a new search or order needs. */
function restart(): void {
  list.tokens = [""];
  list.page = 0;
  void load();
}

let searchTimer: number | undefined;
ui.search.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = window.setTimeout(() => {
    list.query = ui.search.value.trim();
    restart();
  }, 250);
});

const orderNames: Record<string, string> = {
  id: "Id",
  name: "Name",
  email: "Email",
  create_time: "Created",
  update_time: "Updated",
};
for (const order of listOrders()) {
  const [field, desc] = order.split(" ");
  const option = new Option(`${orderNames[field] ?? field} ${desc ? "↓" : "↑"}`, order);
  ui.order.add(option);
}
ui.order.addEventListener("change", () => {
  list.orderBy = ui.order.value;
  restart();
});
ui.prev.addEventListener("click", () => {
  list.page = Math.max(0, list.page - 1);
  void load();
});
ui.next.addEventListener("click", () => {
  list.page++;
  void load();
});

async function remove(c: Customer): Promise<void> {
  if (!confirm(`Delete ${c.name}?`)) {
    return;
  }
  try {
    await client.deleteCustomer({ id: c.id, etag: c.etag });
    showMessage(`Deleted ${c.name}.`);
  } catch (err) {
    switch (codeOf(err)) {
      case Code.Aborted:
        showMessage(`${c.name} was changed by someone else, so it was not deleted. The list now shows the new version.`, "error");
        break;
      case Code.NotFound:
        showMessage(`${c.name} was already deleted.`);
        break;
      default:
        report(err, `delete ${c.name}`);
    }
  }
  await load();
}

// ---- the form ----

let editing: { id: bigint; etag: string } | undefined;
let attempted = false; // once a save was tried, problems update as the user types

function input(name: (typeof formFields)[number]): HTMLInputElement | HTMLTextAreaElement {
  return ui.form.elements.namedItem(name) as HTMLInputElement | HTMLTextAreaElement;
}

function fill(c?: Customer): void {
  for (const f of formFields) {
    input(f).value = (c?.[f] as string | undefined) ?? "";
  }
  editing = c ? { id: c.id, etag: c.etag } : undefined;
}

function openEditor(c?: Customer): void {
  fill(c);
  attempted = false;
  showProblems(new Map());
  ui.conflict.hidden = true;
  ui.formError.textContent = "";
  ui.editorTitle.textContent = c ? `Edit ${c.name}` : "New customer";
  ui.editor.showModal();
  input("name").focus();
}

/** request builds the create or update request from the form. */
function request():
  | { kind: "create"; message: CreateCustomerRequest }
  | { kind: "update"; message: UpdateCustomerRequest } {
  const value = (f: (typeof formFields)[number]) => input(f).value;
  const optional = (f: "phone" | "address") => (value(f) === "" ? undefined : value(f));
  const customer = { name: value("name"), email: value("email"), phone: optional("phone"), address: optional("address") };
  if (editing === undefined) {
    // A request id makes the create safe to retry (AIP-155).
    const requestId = typeof crypto.randomUUID === "function" ? crypto.randomUUID() : "";
    return { kind: "create", message: create(CreateCustomerRequestSchema, { customer, requestId }) };
  }
  return {
    kind: "update",
    message: create(UpdateCustomerRequestSchema, {
      customer: { ...customer, id: editing.id, etag: editing.etag },
      updateMask: { paths: [...formFields] }, // an empty phone or address clears it
    }),
  };
}

/** validate checks the form with the request's proto rules. */
function validate(): Problems {
  const req = request();
  return req.kind === "create"
    ? check(CreateCustomerRequestSchema, req.message)
    : check(UpdateCustomerRequestSchema, req.message);
}

/** showProblems puts each problem under its field; it returns whether there were any. */
function showProblems(problems: Problems): boolean {
  let other = "";
  const seen = new Set<string>();
  for (const f of formFields) {
    const text = problems.get(`customer.${f}`) ?? "";
    seen.add(`customer.${f}`);
    ui.form.querySelector(`.error[data-for="${f}"]`)!.textContent = text;
    input(f).setAttribute("aria-invalid", String(text !== ""));
  }
  for (const [field, text] of problems) {
    if (!seen.has(field)) {
      other += `${field}: ${text} `;
    }
  }
  ui.formError.textContent = other.trim();
  return problems.size > 0;
}

ui.form.addEventListener("input", () => {
  if (attempted) {
    showProblems(validate());
  }
});

ui.form.addEventListener("submit", (e) => {
  e.preventDefault();
  void save();
});

async function save(): Promise<void> {
  attempted = true;
  ui.formError.textContent = "";
  if (showProblems(validate())) {
    return;
  }
  const req = request();
  try {
    const res =
      req.kind === "create" ? await client.createCustomer(req.message) : await client.updateCustomer(req.message);
    ui.editor.close();
    showMessage(`Saved ${res.customer?.name ?? "the customer"}.`);
    if (res.customer) {
      list.changed.add(res.customer.id);
    }
    await load();
  } catch (err) {
    switch (codeOf(err)) {
      case Code.Aborted:
        ui.conflict.hidden = false;
        break;
      case Code.InvalidArgument:
        showProblems(serverProblems(err as ConnectError));
        if (ui.formError.textContent === "") {
          ui.formError.textContent = messageOf(err);
        }
        break;
      case Code.AlreadyExists:
        showProblems(new Map([["customer.email", messageOf(err)]]));
        break;
      case Code.NotFound:
        ui.formError.textContent = "This customer was deleted by someone else.";
        break;
      default:
        ui.formError.textContent = messageOf(err);
    }
  }
}

ui.reload.addEventListener("click", async () => {
  if (editing === undefined) {
    return;
  }
  try {
    const res = await client.getCustomer({ id: editing.id });
    fill(res.customer);
    ui.conflict.hidden = true;
    showProblems(new Map());
    ui.formError.textContent = "Loaded the current version; make your changes again.";
  } catch (err) {
    ui.formError.textContent =
      codeOf(err) === Code.NotFound ? "This customer was deleted by someone else." : messageOf(err);
  }
});

ui.cancel.addEventListener("click", () => ui.editor.close());
ui.newButton.addEventListener("click", () => openEditor());

// ---- the detail view: history, access, export and erasure ----

let shown: { customer: Customer; data?: ExportCustomerDataResponse } | undefined;

function when(t: Timestamp | undefined): string {
  return t ? timestampDate(t).toLocaleString() : "";
}

function cells(tbody: HTMLTableSectionElement, rows: string[][]): void {
  tbody.replaceChildren(
    ...rows.map((r) => {
      const tr = document.createElement("tr");
      for (const text of r) {
        tr.insertCell().textContent = text;
      }
      return tr;
    }),
  );
}

const changeNames: Record<number, string> = {
  [ChangeType.CREATED]: "created",
  [ChangeType.UPDATED]: "updated",
  [ChangeType.DELETED]: "deleted",
  [ChangeType.ERASED]: "erased",
};

/**
 * openDetails shows a customer's fields, and with an admin key its change
 * history and who accessed it, from ExportCustomerData (so opening it is
 * itself recorded in the audit trail, as an export).
 */
async function openDetails(c: Customer): Promise<void> {
  shown = { customer: c };
  ui.detailsTitle.textContent = c.name;
  ui.detailsFields.replaceChildren();
  for (const [label, value] of [
    ["Id", String(c.id)],
    ["Name", c.name],
    ["Email", c.email],
    ["Phone", c.phone ?? ""],
    ["Address", c.address ?? ""],
    ["Created", when(c.createTime)],
    ["Updated", when(c.updateTime)],
  ]) {
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dd.dataset.field = label.toLowerCase();
    ui.detailsFields.append(dt, dd);
  }
  cells(ui.detailsHistory, []);
  cells(ui.detailsAccess, []);
  ui.detailsNote.textContent = "Loading the history…";
  ui.detailsError.textContent = "";
  ui.details.showModal();
  try {
    const data = await client.exportCustomerData({ id: c.id });
    if (shown?.customer !== c) {
      return;
    }
    shown.data = data;
    cells(
      ui.detailsHistory,
      data.changes.map((ev) => [
        when(ev.customer?.updateTime),
        changeNames[ev.type] ?? String(ev.type),
        ev.customer?.name ?? "",
        ev.customer?.email ?? "",
        ev.customer?.phone ?? "",
        ev.customer?.address ?? "",
      ]),
    );
    cells(
      ui.detailsAccess,
      [...data.auditEvents].reverse().map((ev) => [when(ev.time), ev.principal, ev.procedure, ev.code]),
    );
    ui.detailsNote.textContent = data.auditEventsTruncated ? "Only the newest accesses are shown." : "";
  } catch (err) {
    ui.detailsNote.textContent =
      codeOf(err) === Code.PermissionDenied
        ? "The history and who accessed this customer need an admin key."
        : `Could not load the history: ${messageOf(err)}`;
  }
}

ui.detailsClose.addEventListener("click", () => ui.details.close());

ui.exportButton.addEventListener("click", async () => {
  if (shown === undefined || !confirm(`Export everything held about ${shown.customer.name} to a file?`)) {
    return;
  }
  try {
    const data = await client.exportCustomerData({ id: shown.customer.id });
    const blob = new Blob([toJsonString(ExportCustomerDataResponseSchema, data, { prettySpaces: 2 })], {
      type: "application/json",
    });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `customer-${shown.customer.id}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  } catch (err) {
    ui.detailsError.textContent = `Could not export: ${messageOf(err)}`;
  }
});

ui.eraseButton.addEventListener("click", async () => {
  if (shown === undefined) {
    return;
  }
  const c = shown.customer;
  if (!confirm(`Erase ${c.name}? The customer is deleted and its values are removed from the history and the search index for good.`)) {
    return;
  }
  try {
    await client.eraseCustomer({ id: c.id, etag: c.etag });
    ui.details.close();
    showMessage(`Erased ${c.name}.`);
    await load();
  } catch (err) {
    switch (codeOf(err)) {
      case Code.Aborted:
        ui.detailsError.textContent = `${c.name} was changed by someone else since you opened it; close and open it again.`;
        break;
      case Code.PermissionDenied:
        ui.detailsError.textContent = "Erasing needs an admin key.";
        break;
      default:
        ui.detailsError.textContent = `Could not erase: ${messageOf(err)}`;
    }
  }
});

// ---- live updates ----

function setLive(state: "connecting" | "live" | "offline"): void {
  ui.live.dataset.state = state;
  ui.live.textContent = { connecting: "connecting…", live: "live", offline: "offline" }[state];
}

let refreshTimer: number | undefined;

function onChange(ev: ChangeEvent): void {
  if (ev.customer) {
    list.changed.add(ev.customer.id);
  }
  // A burst of changes costs one reload, not one each.
  clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(() => void load(), 100);
}

/**
 * watch follows WatchCustomers for as long as the page is open, resuming
 * after the last event it saw when the stream breaks. A reload after each
 * (re)connect covers changes made before the stream began.
 */
async function watch(): Promise<void> {
  let resumeToken = "";
  let backoff = 500;
  for (;;) {
    setLive("connecting");
    try {
      const stream = client.watchCustomers(
        { resumeToken },
        {
          onHeader: () => {
            setLive("live");
            backoff = 500;
            void load();
          },
        },
      );
      for await (const ev of stream) {
        resumeToken = ev.resumeToken;
        onChange(ev);
      }
    } catch (err) {
      switch (codeOf(err)) {
        case Code.Unauthenticated:
          setLive("offline");
          await askForKey();
          continue;
        case Code.OutOfRange:
          resumeToken = ""; // the missed changes are gone: start afresh
          break;
      }
    }
    setLive("offline");
    await new Promise((resolve) => setTimeout(resolve, backoff));
    backoff = Math.min(backoff * 2, 10_000);
  }
}

void load();
void watch();
