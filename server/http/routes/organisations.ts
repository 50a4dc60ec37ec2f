/**
 * Organisations: onboarding and key rotation (platform admin); suspension and the list (platform
 * admin or a regulator); profiles (any caller).
 */
import { Router } from "express";

import type { Dashboard } from "../../services/dashboard";
import type { Registry } from "../../services/registry";
import type { Queries } from "../../services/queries";
import { requireAdmin, requireRegulatorOrAdmin } from "../auth";
import { HttpError } from "../errors";
import { hex32, newOrganisationSchema, pageQuerySchema, parse, reasonSchema } from "../schemas";
import type { OrgRecord } from "../../store/records";

/** What anyone may see of an organisation (no keys, nothing private). */
export function publicOrganisation(org: OrgRecord) {
  return {
    orgId: org.orgId,
    name: org.name,
    uscc: org.uscc,
    district: org.district,
    roles: org.roles,
    account: org.account,
    custody: org.custody,
    suspended: org.suspended,
  };
}

/** The regulator organisation acting, or null for the platform admin; 403 for anyone else. */

/** `dashboard` lists organisations (GET /organisations); without it that route answers 404. */
export function organisationRoutes(registry: Registry, queries: Queries, dashboard?: Dashboard): Router {
  const router = Router();
  const orgIdParam = (value: string) => parse(hex32, value, "organisation id");

  /** A page of organisations' public profiles, for the regulator dashboard. */
  router.get("/organisations", async (req, res) => {
    requireRegulatorOrAdmin(res);
    if (!dashboard) throw new HttpError(404, "not_found", "listing organisations is not available here");
    const page = await dashboard.organisations(parse(pageQuerySchema, req.query, "the query"));
    res.setHeader("Cache-Control", "no-store");
    res.json({ organisations: page.organisations.map(publicOrganisation), nextCursor: page.nextCursor });
  });

  router.post("/organisations", async (req, res) => {
    requireAdmin(res);
    const input = parse(newOrganisationSchema, req.body, "the organisation");
    const { org, apiKey } = await registry.createOrganisation(input);
    res
      .status(201)
      .location(`/api/v1/organisations/${org.orgId}`)
      .json({ organisation: publicOrganisation(org), apiKey });
  });

  router.get("/organisations/:orgId", async (req, res) => {
    res.json({ organisation: publicOrganisation(await queries.org(orgIdParam(req.params.orgId))) });
  });

  router.post("/organisations/:orgId/api-key", async (req, res) => {
    requireAdmin(res);
    const apiKey = await registry.rotateApiKey(orgIdParam(req.params.orgId));
    res.status(201).json({ apiKey });
  });

  router.post("/organisations/:orgId/signing-key", async (req, res) => {
    requireAdmin(res);
    const org = await registry.rotateSigningKey(orgIdParam(req.params.orgId));
    res.status(201).json({ organisation: publicOrganisation(org) });
  });

  // The admin suspends directly; a regulator signs suspendOrganisationBySig with its own key.
  router.post("/organisations/:orgId/suspension", async (req, res) => {
    const actor = requireRegulatorOrAdmin(res) ?? undefined;
    const orgId = orgIdParam(req.params.orgId);
    // A regulator that suspended itself could not undo it: only the platform admin may.
    if (actor?.orgId === orgId) {
      throw new HttpError(409, "cannot_suspend_self", "a regulator cannot suspend its own organisation");
    }
    const { reason } = parse(reasonSchema, req.body, "the suspension");
    res.json({ organisation: publicOrganisation(await registry.suspend(orgId, reason, actor)) });
  });

  router.delete("/organisations/:orgId/suspension", async (req, res) => {
    const actor = requireRegulatorOrAdmin(res) ?? undefined;
    res.json({ organisation: publicOrganisation(await registry.reinstate(orgIdParam(req.params.orgId), actor)) });
  });

  return router;
}
