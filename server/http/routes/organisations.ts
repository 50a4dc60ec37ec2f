/** Organisations: onboarding, key rotation and suspension (platform admin); profiles (any caller). */
import { Router } from "express";

import type { Registry } from "../../services/registry";
import type { Queries } from "../../services/queries";
import { caller, requireAdmin } from "../auth";
import { HttpError } from "../errors";
import { hex32, newOrganisationSchema, parse, reasonSchema } from "../schemas";
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

export function organisationRoutes(registry: Registry, queries: Queries): Router {
  const router = Router();
  const orgIdParam = (value: string) => parse(hex32, value, "organisation id");

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

  router.post("/organisations/:orgId/suspension", async (req, res) => {
    const who = caller(res);
    if (who.kind !== "admin")
      throw new HttpError(403, "admin_required", "suspension through the API needs the admin key");
    const { reason } = parse(reasonSchema, req.body, "the suspension");
    res.json({ organisation: publicOrganisation(await registry.suspend(orgIdParam(req.params.orgId), reason)) });
  });

  router.delete("/organisations/:orgId/suspension", async (req, res) => {
    requireAdmin(res);
    res.json({ organisation: publicOrganisation(await registry.reinstate(orgIdParam(req.params.orgId))) });
  });

  return router;
}
