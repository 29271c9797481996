// The API client: a Connect transport to the server the page came from,
// carrying the API key the user entered, if any.

import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { CustomerService } from "./gen/customer/v1/customer_pb.js";

const keyItem = "customerd.apiKey";

/** The API key for this tab, or "" when none was entered. */
export function apiKey(): string {
  return sessionStorage.getItem(keyItem) ?? "";
}

/** Keeps key for this tab only: sessionStorage ends with the tab. */
export function setApiKey(key: string): void {
  sessionStorage.setItem(keyItem, key);
}

const bearer: Interceptor = (next) => (req) => {
  const key = apiKey();
  if (key !== "") {
    req.header.set("Authorization", `Bearer ${key}`);
  }
  return next(req);
};

/** The CustomerService client. */
export const client = createClient(
  CustomerService,
  createConnectTransport({ baseUrl: location.origin, interceptors: [bearer] }),
);

/** The Connect code of err, or Code.Unknown for errors that have none. */
export function codeOf(err: unknown): Code {
  return err instanceof ConnectError ? err.code : Code.Unknown;
}

/** A message for the user: the server's own words when it gave any. */
export function messageOf(err: unknown): string {
  if (err instanceof ConnectError) {
    return err.rawMessage || Code[err.code];
  }
  return err instanceof Error ? err.message : String(err);
}
