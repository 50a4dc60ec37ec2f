/**
 * Authentication by API key (`Authorization: Bearer ytk_…` or `X-API-Key`) and the checks routes
 * make on who is calling. The caller is resolved once per request into `res.locals.caller`.
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";

import { ADMIN, findApiKey } from "../services/api-keys";
import { keys } from "../store/keys";
import type { OrgRecord, RoleName } from "../store/records";
import type { Store } from "../store/store";
import { HttpError } from "./errors";

export type Caller = { kind: "admin" } | { kind: "org"; org: OrgRecord };

function presentedKey(req: Request): string | null {
  const header = req.get("authorization");
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match ? match[1]! : header;
  }
  return req.get("x-api-key") ?? null;
}

/** Resolves the caller; 401 without a valid key, 403 for a suspended organisation. */
export function authenticate(store: Store): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const apiKey = presentedKey(req);
      if (!apiKey) throw new HttpError(401, "unauthenticated", "send an API key: Authorization: Bearer <key>");
      const record = await findApiKey(store, apiKey);
      if (!record) throw new HttpError(401, "invalid_api_key", "this API key is not valid (wrong, or rotated away)");
      if (record.orgId === ADMIN) {
        res.locals.caller = { kind: "admin" } satisfies Caller;
        return next();
      }
      const org = (await store.orgs.get(keys.org(record.orgId))) as OrgRecord | undefined;
      if (!org) throw new HttpError(401, "invalid_api_key", "this API key belongs to no organisation");
      if (org.suspended) throw new HttpError(403, "organisation_suspended", "this organisation is suspended");
      res.locals.caller = { kind: "org", org } satisfies Caller;
      next();
    } catch (error) {
      next(error);
    }
  };
}

export function caller(res: Response): Caller {
  return res.locals.caller as Caller;
}

/** The calling organisation; 403 for the admin key, or without one of `roles` (if given). */
export function requireOrg(res: Response, roles?: readonly RoleName[]): OrgRecord {
  const who = caller(res);
  if (who.kind !== "org")
    throw new HttpError(403, "organisation_required", "this call is made by an organisation's key");
  if (roles && !roles.some((role) => who.org.roles.includes(role))) {
    throw new HttpError(403, "role_not_allowed", `this call needs the role ${roles.join(" or ")}`);
  }
  return who.org;
}

export function requireAdmin(res: Response): void {
  if (caller(res).kind !== "admin")
    throw new HttpError(403, "admin_required", "this call needs the platform admin key");
}

/** The platform admin (null) or a regulator organisation; 403 for anyone else. */
export function requireRegulatorOrAdmin(res: Response): OrgRecord | null {
  return caller(res).kind === "admin" ? null : requireOrg(res, ["regulator"]);
}
