// The buf.validate rules of the proto, read from the generated descriptors
// and checked with protovalidate: the same rules the server enforces, never
// a copy of them.

import { type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { ConnectError } from "@connectrpc/connect";
import { createValidator } from "@bufbuild/protovalidate";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

const validator = createValidator();

/** Problems maps a field path ("customer.email") to what is wrong with it. */
export type Problems = Map<string, string>;

/**
 * check validates a request message with its proto's rules and returns
 * the problems by field; none when the message is valid.
 */
export function check<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Problems {
  const result = validator.validate(schema, message);
  const problems: Problems = new Map();
  if (result.kind === "error") {
    throw result.error;
  }
  if (result.kind === "invalid") {
    for (const v of result.violations) {
      add(problems, fieldOf(pathToString(v.field), v.ruleId), v.message);
    }
  }
  return problems;
}

/**
 * serverProblems returns the problems that the server reported in the
 * buf.validate.Violations detail of an INVALID_ARGUMENT error.
 */
export function serverProblems(err: ConnectError): Problems {
  const problems: Problems = new Map();
  for (const detail of err.findDetails(ViolationsSchema)) {
    for (const v of detail.violations) {
      const path = (v.field?.elements ?? []).map((e) => e.fieldName).join(".");
      add(problems, fieldOf(path, v.ruleId), v.message);
    }
  }
  return problems;
}

function add(problems: Problems, field: string, message: string): void {
  if (!problems.has(field)) {
    problems.set(field, message);
  }
}

/**
 * fieldOf names the field a violation is about, as the server does: a rule
 * that compares fields sits on the message or field holding them, and its
 * id names the field it is about ("customer.name.required").
 */
function fieldOf(path: string, ruleId: string): string {
  const i = ruleId.lastIndexOf(".");
  if (i > 0 && (path === "" || ruleId.startsWith(path + "."))) {
    return ruleId.slice(0, i);
  }
  return path;
}

/**
 * The orders the page offers: each field ListCustomers sorts by, up and
 * down. The server decides what order_by accepts (AIP-132 syntax, see
 * internal/customer.ParseOrder and the proto's comment); these are its
 * canonical forms.
 */
export function listOrders(): string[] {
  const fields = ["id", "name", "email", "create_time", "update_time"];
  return fields.flatMap((f) => [f, `${f} desc`]);
}
