/*
 * The regulator dashboard (/regulator). Signs in with a regulator's API key (kept in this tab's
 * sessionStorage), checks it against GET /api/v1/regulator/stats, then searches, opens batches with
 * their verification report and lineage graph, runs recall drills and recalls, draws the charts
 * (SVG from the gateway) and lists organisations with suspension. Text from the API only ever
 * reaches the page as text nodes; chart SVG is parsed as XML and checked before it is inserted.
 */
/* global document, sessionStorage, fetch, DOMParser, Node */
"use strict";

(function () {
  const STORAGE_KEY = "yutrace.regulatorApiKey";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);

  let apiKey = null;
  /** Organisations by id, from the organisation list: names for ids elsewhere. */
  const organisations = new Map();
  let currentBatch = null;

  // ------------------------------------------------------------------ words

  const STATUS = {
    active: "正常 Active",
    held: "暂扣 Held",
    recalled: "已召回 Recalled",
  };
  const VERDICT = {
    verified: "✔ 验证通过 · Verified",
    failed: "✗ 验证失败 · Failed",
    incomplete: "⋯ 尚未完全验证 · Incomplete",
  };
  const CHECKS = {
    hash: "哈希 hash",
    submission_proof: "提交证明 proof",
    signature: "签名 signature",
    signer_role: "签名者角色 role",
    anchored: "已锚定 anchored",
    batch_on_chain: "批次上链 on-chain",
  };
  const STEPS = {
    commissioning: "生产",
    inspecting: "检验",
    shipping: "发货",
    receiving: "到货",
    storing: "入库",
    transforming: "加工",
    sensor_reporting: "温湿度记录",
    retail_selling: "售出",
    holding: "暂扣",
    destroying: "销毁",
  };
  const EVENT_VERDICT = {
    passed: "通过 passed",
    failed: "失败 failed",
    pending: "待锚定 pending",
  };
  const ROLES = {
    regulator: "监管",
    producer: "生产",
    inspector: "检验",
    logistics: "物流",
    retailer: "零售",
  };

  // ------------------------------------------------------------------ helpers

  /** An element with attributes and children (strings become text nodes). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "className") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  /** Chinese text with its English in small type. */
  const bi = (zh, en) => [zh, " ", el("small", { lang: "en" }, en)];

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) node.setAttribute(name, String(value));
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined)
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function status(value) {
    return el("span", { className: `status status-${value || "unknown"}` }, STATUS[value] || value || "未知 unknown");
  }

  function orgName(id) {
    if (!id) return "—";
    if (typeof id === "object") return id.name || id.orgId || "—";
    const org = organisations.get(id);
    return org ? org.name : `${id.slice(0, 10)}…`;
  }

  function time(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso || "—";
    return date.toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", dateStyle: "medium", timeStyle: "short" });
  }

  function setMessage(target, text, isError) {
    target.replaceChildren();
    if (text) target.append(el("p", { className: isError ? "error" : "" }, text));
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /** Calls the API with the key; JSON back (or the Response with `raw`); ApiError on failure. */
  async function api(path, options) {
    const opts = options || {};
    const headers = { Authorization: `Bearer ${apiKey}`, Accept: opts.accept || "application/json" };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(`/api/v1${path}`, {
        method: opts.method || "GET",
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, "network", "无法连接网关 · Cannot reach the gateway");
    }
    if (!res.ok) {
      let code = `http_${res.status}`;
      let message = res.statusText;
      if ((res.headers.get("content-type") || "").includes("json")) {
        const body = await res.json().catch(() => null);
        if (body && body.error) {
          code = body.error.code;
          message = body.error.message;
        }
      }
      if (res.status === 401 && path !== "/regulator/stats")
        signOut("登录已失效，请重新登录 · Your key is no longer valid");
      throw new ApiError(res.status, code, message);
    }
    return opts.raw ? res : res.json();
  }

  const describe = (error) => (error instanceof ApiError ? `${error.message} (${error.code})` : String(error));

  // ------------------------------------------------------------------ sign in and out

  function signInMessage(error) {
    if (error.status === 401) return "API 密钥无效 · This API key is not valid";
    if (error.code === "organisation_suspended") return "该机构已被暂停 · This organisation is suspended";
    if (error.status === 403) return "该密钥不属于监管部门 · This key is not a regulator's key";
    return describe(error);
  }

  async function signIn(key) {
    apiKey = key;
    const error = $("sign-in-error");
    error.hidden = true;
    try {
      const stats = await api("/regulator/stats");
      sessionStorage.setItem(STORAGE_KEY, key);
      $("sign-in").hidden = true;
      $("dashboard").hidden = false;
      $("sign-out").hidden = false;
      $("api-key").value = "";
      showTotals(stats);
      loadCharts();
      await loadOrganisations();
      $("search-q").focus();
    } catch (e) {
      apiKey = null;
      sessionStorage.removeItem(STORAGE_KEY);
      error.textContent = signInMessage(e);
      error.hidden = false;
    }
  }

  function signOut(message) {
    apiKey = null;
    currentBatch = null;
    organisations.clear();
    sessionStorage.removeItem(STORAGE_KEY);
    $("dashboard").hidden = true;
    $("batch").hidden = true;
    $("sign-out").hidden = true;
    $("sign-in").hidden = false;
    $("search-results").replaceChildren();
    const error = $("sign-in-error");
    error.textContent = message || "";
    error.hidden = !message;
    $("api-key").focus();
  }

  // ------------------------------------------------------------------ overview and charts

  function showTotals(stats) {
    const t = stats.totals;
    const lag = stats.anchoringLag;
    const seconds = (ms) => (ms === null ? "—" : `${(ms / 1000).toFixed(1)} s`);
    const item = (zh, en, value) => el("div", {}, el("dt", {}, bi(zh, en)), el("dd", {}, String(value)));
    $("totals").replaceChildren(
      item("机构", "Organisations", t.organisations),
      item("批次", "Batches", t.batches),
      item("已召回", "Recalled", t.batchesByStatus.recalled),
      item("暂扣", "Held", t.batchesByStatus.held),
      item("事件", "Events", t.events),
      item("锚定", "Anchors", t.anchors),
      item("锚定延迟 p50", "Anchoring lag p50", seconds(lag.p50Ms)),
      item("锚定延迟 p95", "Anchoring lag p95", seconds(lag.p95Ms)),
    );
  }

  /** Parses `text` as SVG and returns a clean copy to insert, or null if it is not SVG. */
  function safeSvg(text) {
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const root = doc.documentElement;
    if (!root || root.namespaceURI !== SVG_NS || root.localName !== "svg") return null;
    if (doc.getElementsByTagName("parsererror").length > 0) return null;
    for (const bad of root.querySelectorAll("script, foreignObject, iframe, image, use")) bad.remove();
    for (const node of [root, ...root.querySelectorAll("*")]) {
      for (const attr of [...node.attributes]) {
        const name = attr.name.toLowerCase();
        if (name.startsWith("on") || name === "href" || name === "xlink:href") node.removeAttribute(attr.name);
      }
    }
    return document.importNode(root, true);
  }

  async function loadChart(figure) {
    const body = figure.querySelector(".chart-body");
    try {
      const res = await api(`/regulator/charts/${figure.dataset.chart}.svg`, { raw: true, accept: "image/svg+xml" });
      if (!(res.headers.get("content-type") || "").startsWith("image/svg+xml")) throw new Error("not an SVG image");
      const chart = safeSvg(await res.text());
      if (!chart) throw new Error("not an SVG image");
      body.replaceChildren(chart);
    } catch (e) {
      setMessage(body, `图表加载失败 · Chart failed: ${describe(e)}`, true);
    } finally {
      body.removeAttribute("aria-busy");
    }
  }

  function loadCharts() {
    for (const figure of document.querySelectorAll("figure.chart")) void loadChart(figure);
  }

  async function refreshOverview() {
    try {
      showTotals(await api("/regulator/stats"));
      loadCharts();
    } catch {
      // The overview stays as it was; the action's own message says what happened.
    }
  }

  // ------------------------------------------------------------------ search

  async function search(q) {
    const out = $("search-results");
    setMessage(out, "查询中… · Searching…");
    try {
      const found = await api(`/regulator/search?q=${encodeURIComponent(q)}`);
      out.replaceChildren();
      if (found.batches.length === 0 && found.organisations.length === 0) {
        setMessage(out, "没有找到 · Nothing found");
        return;
      }
      if (found.batches.length > 0) {
        out.append(el("h3", {}, bi(`批次 (${found.batches.length})`, "Batches")));
        out.append(
          el(
            "ul",
            { className: "results", id: "batch-results" },
            found.batches.map((b) =>
              el(
                "li",
                { "data-batch-id": b.batchId },
                el("strong", {}, b.product ? b.product.name.zh : b.gtin),
                el("span", {}, `批号 Lot ${b.lot}`),
                el("span", {}, `GTIN ${b.gtin}`),
                status(b.status),
                el("span", {}, [b.producer ? b.producer.name : "", b.district ? ` · ${b.district}` : ""]),
                el(
                  "button",
                  { type: "button", className: "secondary", onclick: () => openBatch(b.batchId) },
                  bi("查看", "Open"),
                ),
              ),
            ),
          ),
        );
      }
      if (found.organisations.length > 0) {
        out.append(el("h3", {}, bi(`企业与机构 (${found.organisations.length})`, "Organisations")));
        out.append(
          el(
            "ul",
            { className: "results", id: "organisation-results" },
            found.organisations.map((o) =>
              el(
                "li",
                {},
                el("strong", {}, o.name),
                el("span", {}, o.uscc),
                el("span", {}, o.district),
                el("span", {}, o.roles.map((r) => ROLES[r] || r).join("、")),
                o.suspended ? el("span", { className: "status status-suspended" }, "已暂停 Suspended") : null,
              ),
            ),
          ),
        );
      }
      if (found.truncated)
        out.append(el("p", { className: "hint" }, "结果过多，仅显示前 50 条 · Showing the first 50"));
    } catch (e) {
      setMessage(out, `查询失败 · Search failed: ${describe(e)}`, true);
    }
  }

  // ------------------------------------------------------------------ a batch

  async function openBatch(batchId) {
    const section = $("batch");
    section.hidden = false;
    setMessage($("batch-message"), "加载中… · Loading…");
    $("drill-result").replaceChildren();
    $("verification").replaceChildren();
    $("lineage").replaceChildren();
    try {
      const { batch, custody } = await api(`/batches/${batchId}`);
      currentBatch = batch;
      const product = await api(`/products/${batch.gtin}`).then(
        (r) => r.product,
        () => null,
      );
      showFacts(batch, custody, product);
      setMessage($("batch-message"), "");
      $("recall-button").disabled = batch.status === "recalled";
      section.scrollIntoView({ block: "start" });
      await Promise.all([showVerification(batchId), showLineage(batchId)]);
    } catch (e) {
      setMessage($("batch-message"), `批次加载失败 · Could not load the batch: ${describe(e)}`, true);
    }
  }

  function showFacts(batch, custody, product) {
    const m = batch.metadata || {};
    const row = (zh, en, value) => [el("dt", {}, bi(zh, en)), el("dd", {}, value)];
    $("batch-title").replaceChildren(...bi(`批次 ${batch.lot}`, "Batch"));
    $("batch-facts").replaceChildren(
      ...row("产品", "Product", product && product.metadata ? product.metadata.name.zh : "—"),
      ...row("GTIN", "GTIN", batch.gtin),
      ...row("批号", "Lot", batch.lot),
      ...row("状态", "Status", status(batch.status)),
      ...row("生产企业", "Producer", orgName(batch.producer)),
      ...row("区县", "District", m.district || (organisations.get(batch.producer) || {}).district || "—"),
      ...row("生产日期", "Produced", m.productionDate || "—"),
      ...row("数量", "Quantity", m.quantity ? `${m.quantity.value} ${m.quantity.unit}` : "—"),
      ...row("当前持有", "Held by", custody ? orgName(custody.custodian) : orgName(batch.producer)),
      ...row("上链区块", "Block", `#${batch.block}`),
      ...row("批次编号", "Batch id", el("code", {}, batch.batchId)),
      ...row("数字链接", "Digital Link", el("a", { href: batch.digitalLink, rel: "noopener" }, batch.digitalLink)),
    );
  }

  async function showVerification(batchId) {
    const out = $("verification");
    setMessage(out, "验证中… · Verifying…");
    let report;
    try {
      report = await api(`/batches/${batchId}/verification`);
    } catch (e) {
      setMessage(out, `验证报告暂不可用 · Verification report unavailable: ${describe(e)}`, true);
      return;
    }
    const yes = (v) => (v === true ? "✔ 是 yes" : v === false ? "✗ 否 no" : "—");
    const b = report.batch || {};
    const s = report.summary || {};
    const chain = report.chain || {};
    out.replaceChildren(
      el(
        "p",
        { className: `verdict verdict-${report.verdict}`, id: "verdict", "data-verdict": report.verdict },
        VERDICT[report.verdict] || report.verdict,
      ),
      el(
        "p",
        { className: "hint" },
        `链 chain ${chain.chainId || "—"} · 区块高度 head #${chain.headBlock ?? "—"} · 用时 ${report.tookMs} ms · ${time(report.checkedAt)}`,
      ),
      el(
        "dl",
        { className: "facts" },
        el("dt", {}, bi("链上登记", "On-chain")),
        el("dd", {}, `${yes(b.onChain)}${b.registeredBlock ? ` (#${b.registeredBlock})` : ""}`),
        el("dt", {}, bi("链上状态", "On-chain status")),
        el("dd", {}, b.status ? status(b.status) : "—"),
        el("dt", {}, bi("元数据一致", "Metadata matches")),
        el("dd", {}, yes(b.metadataMatches)),
        el("dt", {}, bi("原料一致", "Inputs match")),
        el("dd", {}, yes(b.parentsMatch)),
        el("dt", {}, bi("事件", "Events")),
        el(
          "dd",
          { id: "verification-summary" },
          `${s.events ?? 0} 条 · 通过 passed ${s.passed ?? 0} · 失败 failed ${s.failed ?? 0} · 待锚定 pending ${s.pending ?? 0}`,
        ),
      ),
    );
    if ((report.recalledAncestors || []).length > 0) {
      out.append(
        el(
          "p",
          { className: "verdict verdict-failed", role: "alert" },
          "原料批次已被召回 · Made from a recalled lot: ",
          report.recalledAncestors.map((a) => `${a.gtin} / ${a.lot}`).join("、"),
        ),
      );
    }
    const events = report.events || [];
    if (events.length === 0) return;
    const checks = (list) =>
      el(
        "div",
        { className: "checks" },
        (list || []).map((c) =>
          el(
            "span",
            {
              className: `check check-${c.ok === true ? "ok" : c.ok === false ? "failed" : "pending"}`,
              title: c.detail || "",
            },
            `${c.ok === true ? "✔" : c.ok === false ? "✗" : "…"} ${CHECKS[c.name] || c.name}`,
          ),
        ),
      );
    out.append(
      el(
        "div",
        { className: "table-wrap" },
        el(
          "table",
          { id: "verification-events" },
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              el("th", { scope: "col" }, bi("时间", "Time")),
              el("th", { scope: "col" }, bi("环节", "Step")),
              el("th", { scope: "col" }, bi("机构", "Organisation")),
              el("th", { scope: "col" }, bi("结果", "Verdict")),
              el("th", { scope: "col" }, bi("校验项", "Checks")),
            ),
          ),
          el(
            "tbody",
            {},
            events.map((e) =>
              el(
                "tr",
                { "data-event-id": e.eventId },
                el("td", {}, time(e.eventTime)),
                el(
                  "td",
                  {},
                  `${STEPS[e.bizStep] || e.bizStep}${e.declaredInError ? "（已声明有误 declared in error）" : ""}`,
                ),
                el("td", {}, e.organisation || ""),
                el(
                  "td",
                  {},
                  el(
                    "span",
                    {
                      className: `check check-${e.verdict === "passed" ? "ok" : e.verdict === "failed" ? "failed" : "pending"}`,
                    },
                    EVENT_VERDICT[e.verdict] || e.verdict,
                  ),
                ),
                el("td", {}, checks(e.checks)),
              ),
            ),
          ),
        ),
      ),
    );
  }

  async function showLineage(batchId) {
    const out = $("lineage");
    setMessage(out, "加载中… · Loading…");
    try {
      const [up, down] = await Promise.all([
        api(`/batches/${batchId}/lineage?direction=up`),
        api(`/batches/${batchId}/lineage?direction=down`),
      ]);
      out.replaceChildren(lineageGraph(currentBatch, up, down));
    } catch (e) {
      setMessage(out, `谱系加载失败 · Lineage failed: ${describe(e)}`, true);
    }
  }

  /** The lineage as SVG: inputs in columns to the left of the batch, what was made from it to the right. */
  function lineageGraph(root, up, down) {
    const W = 168;
    const H = 48;
    const GAP_X = 48;
    const GAP_Y = 14;
    const PAD = 12;
    const nodes = new Map([[root.batchId, { batch: root, column: 0 }]]);
    for (const b of up.batches) if (!nodes.has(b.batchId)) nodes.set(b.batchId, { batch: b, column: -b.depth });
    for (const b of down.batches) if (!nodes.has(b.batchId)) nodes.set(b.batchId, { batch: b, column: b.depth });
    const columns = [...new Set([...nodes.values()].map((n) => n.column))].sort((a, b) => a - b);
    const rows = new Map();
    for (const node of nodes.values()) {
      const row = rows.get(node.column) || 0;
      rows.set(node.column, row + 1);
      node.x = PAD + columns.indexOf(node.column) * (W + GAP_X);
      node.y = PAD + row * (H + GAP_Y);
    }
    const width = PAD * 2 + columns.length * W + (columns.length - 1) * GAP_X;
    const height = PAD * 2 + Math.max(...rows.values()) * (H + GAP_Y) - GAP_Y;
    const fill = { active: "#e8f5ec", held: "#fff3cd", recalled: "#fde2e4" };
    const stroke = { active: "#0a6b2d", held: "#7a5a00", recalled: "#a4000f" };

    const edges = [];
    const seen = new Set();
    for (const [from, to] of [...up.edges, ...down.edges]) {
      const a = nodes.get(from);
      const b = nodes.get(to);
      if (!a || !b || seen.has(`${from}>${to}`)) continue;
      seen.add(`${from}>${to}`);
      const x1 = a.x + W;
      const y1 = a.y + H / 2;
      const x2 = b.x;
      const y2 = b.y + H / 2;
      const bend = Math.max(24, Math.abs(x2 - x1) / 2);
      edges.push(
        svg("path", {
          class: "edge",
          d: `M${x1} ${y1} C${x1 + bend} ${y1} ${x2 - bend} ${y2} ${x2} ${y2}`,
          fill: "none",
          stroke: "#666",
          "stroke-width": 1.5,
          "marker-end": "url(#lineage-arrow)",
        }),
      );
    }

    const boxes = [...nodes.values()].map((node) => {
      const b = node.batch;
      const isRoot = b.batchId === root.batchId;
      const holder = b.holder ? b.holder.name : b.custodian ? orgName(b.custodian) : orgName(b.producer);
      const label = `${b.lot} · ${STATUS[b.status] || b.status} · ${holder}`;
      const group = svg(
        "g",
        {
          class: `node node-${b.status}${isRoot ? " root" : ""}`,
          "data-batch-id": b.batchId,
          tabindex: isRoot ? null : 0,
          role: isRoot ? null : "button",
          "aria-label": isRoot ? null : `打开批次 Open batch ${label}`,
        },
        svg("title", {}, `${label}\nGTIN ${b.gtin}`),
        svg("rect", {
          x: node.x,
          y: node.y,
          width: W,
          height: H,
          rx: 6,
          fill: fill[b.status] || "#fff",
          stroke: stroke[b.status] || "#666",
          "stroke-width": isRoot ? 3 : 1.5,
        }),
        svg("text", { x: node.x + 8, y: node.y + 19, "font-size": 13, "font-weight": 600, fill: "#1b1b1b" }, b.lot),
        svg(
          "text",
          { x: node.x + 8, y: node.y + 37, "font-size": 11, fill: "#333" },
          `${(STATUS[b.status] || b.status).split(" ")[0]} · ${holder.length > 11 ? `${holder.slice(0, 10)}…` : holder}`,
        ),
      );
      if (!isRoot) {
        const open = () => openBatch(b.batchId);
        group.addEventListener("click", open);
        group.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            open();
          }
        });
      }
      return group;
    });

    return svg(
      "svg",
      {
        id: "lineage-graph",
        class: "lineage",
        role: "group",
        "aria-label": `谱系图 Lineage of ${root.lot}: ${up.batches.length} 个上游 inputs, ${down.batches.length} 个下游 made from it`,
        viewBox: `0 0 ${width} ${height}`,
        width,
        height,
        "font-family": "system-ui, sans-serif",
      },
      svg(
        "defs",
        {},
        svg(
          "marker",
          {
            id: "lineage-arrow",
            viewBox: "0 0 10 10",
            refX: 9,
            refY: 5,
            markerWidth: 7,
            markerHeight: 7,
            orient: "auto",
          },
          svg("path", { d: "M0 0 L10 5 L0 10 z", fill: "#666" }),
        ),
      ),
      edges,
      boxes,
    );
  }

  async function runDrill() {
    if (!currentBatch) return;
    const out = $("drill-result");
    setMessage(out, "模拟召回中… · Running the drill…");
    $("drill-button").disabled = true;
    try {
      const drill = await api(`/batches/${currentBatch.batchId}/recall-drill`, { method: "POST", body: {} });
      const a = drill.affected || {};
      const quantities = (a.quantities || []).map((q) => `${q.value} ${q.unit}`).join("、") || "—";
      out.replaceChildren(
        el(
          "div",
          { className: "drill", id: "drill-report" },
          el("p", {}, el("strong", {}, bi("模拟召回完成（未实际召回）", "Recall drill done — nothing was recalled"))),
          el(
            "p",
            { id: "drill-summary" },
            `影响批次 ${a.batches ?? 0} 个 · 涉及机构 ${a.organisations ?? 0} 家 · 用时 ${drill.tookMs} ms`,
          ),
          el(
            "p",
            { lang: "en" },
            el(
              "small",
              {},
              `${a.batches ?? 0} batches, ${a.organisations ?? 0} organisations affected; took ${drill.tookMs} ms`,
            ),
          ),
          el("p", {}, `数量 Quantities: ${quantities}`),
          drill.truncated ? el("p", { className: "error" }, "谱系过大，结果不完整 · Lineage truncated") : null,
          (drill.holders || []).length > 0
            ? el(
                "div",
                { className: "table-wrap" },
                el(
                  "table",
                  {},
                  el(
                    "thead",
                    {},
                    el(
                      "tr",
                      {},
                      el("th", { scope: "col" }, bi("持有机构", "Holder")),
                      el("th", { scope: "col" }, bi("区县", "District")),
                      el("th", { scope: "col" }, bi("批次", "Batches")),
                    ),
                  ),
                  el(
                    "tbody",
                    {},
                    drill.holders.map((h) =>
                      el(
                        "tr",
                        {},
                        el("td", {}, h.name || orgName(h.orgId)),
                        el("td", {}, h.district || "—"),
                        el("td", {}, Array.isArray(h.batches) ? h.batches.length : String(h.batches ?? "")),
                      ),
                    ),
                  ),
                ),
              )
            : null,
        ),
      );
    } catch (e) {
      setMessage(out, `模拟召回失败 · Drill failed: ${describe(e)}`, true);
    } finally {
      $("drill-button").disabled = false;
    }
  }

  async function recallCurrent() {
    if (!currentBatch) return;
    const batch = currentBatch;
    const reason = await confirmAction({
      title: bi("召回批次", "Recall this batch"),
      text: `确认召回批次 ${batch.gtin} / ${batch.lot}？召回将写入区块链，所有用其制成的产品都会显示召回警告，无法撤销。 This is recorded on-chain and cannot be undone.`,
      reason: true,
    });
    if (reason === null) return;
    setMessage($("batch-message"), "召回中… · Recalling…");
    try {
      await api(`/batches/${batch.batchId}/recall`, { method: "POST", body: { reason } });
      await openBatch(batch.batchId);
      setMessage($("batch-message"), "已召回 · Recalled");
      void refreshOverview();
    } catch (e) {
      setMessage($("batch-message"), `召回失败 · Recall failed: ${describe(e)}`, true);
    }
  }

  // ------------------------------------------------------------------ organisations

  async function loadOrganisations() {
    const message = $("organisations-message");
    try {
      const all = [];
      let cursor = null;
      for (let page = 0; page < 20; page++) {
        const res = await api(`/organisations?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        all.push(...res.organisations);
        cursor = res.nextCursor;
        if (!cursor) break;
      }
      organisations.clear();
      for (const org of all) organisations.set(org.orgId, org);
      all.sort((a, b) => a.name.localeCompare(b.name, "zh-CN"));
      $("organisations-table")
        .querySelector("tbody")
        .replaceChildren(...all.map(organisationRow));
      setMessage(message, "");
    } catch (e) {
      setMessage(message, `机构列表加载失败 · Could not list organisations: ${describe(e)}`, true);
    }
  }

  function organisationRow(org) {
    const action = org.suspended
      ? el("button", { type: "button", className: "secondary", onclick: () => reinstate(org) }, bi("恢复", "Reinstate"))
      : el("button", { type: "button", className: "danger", onclick: () => suspend(org) }, bi("暂停", "Suspend"));
    return el(
      "tr",
      { "data-org-id": org.orgId },
      el("td", {}, org.name),
      el("td", {}, el("code", {}, org.uscc)),
      el("td", {}, org.district),
      el("td", {}, org.roles.map((r) => ROLES[r] || r).join("、")),
      el(
        "td",
        {},
        org.suspended
          ? el("span", { className: "status status-suspended" }, "已暂停 Suspended")
          : el("span", { className: "status status-active" }, "正常 Active"),
      ),
      el("td", {}, action),
    );
  }

  async function suspend(org) {
    const reason = await confirmAction({
      title: bi("暂停机构", "Suspend organisation"),
      text: `确认暂停「${org.name}」？其链上角色立即失效，API 密钥将被拒绝。 Its roles stop working on-chain.`,
      reason: true,
    });
    if (reason === null) return;
    await changeSuspension(org, "POST", { reason }, "已暂停 · Suspended");
  }

  async function reinstate(org) {
    const ok = await confirmAction({
      title: bi("恢复机构", "Reinstate organisation"),
      text: `确认恢复「${org.name}」？ Its roles work again.`,
      reason: false,
    });
    if (ok === null) return;
    await changeSuspension(org, "DELETE", undefined, "已恢复 · Reinstated");
  }

  async function changeSuspension(org, method, body, done) {
    const message = $("organisations-message");
    setMessage(message, "提交中… · Sending…");
    try {
      await api(`/organisations/${org.orgId}/suspension`, { method, body });
      await loadOrganisations();
      setMessage(message, `${org.name}: ${done}`);
      void refreshOverview();
    } catch (e) {
      setMessage(message, `操作失败 · Failed: ${describe(e)}`, true);
    }
  }

  // ------------------------------------------------------------------ confirm dialog

  let settle = null;

  /** Asks to confirm; resolves to the reason (or "" without one), or null when cancelled. */
  function confirmAction(options) {
    const dialog = $("confirm-dialog");
    $("confirm-title").replaceChildren(...options.title);
    $("confirm-text").textContent = options.text;
    $("confirm-reason-field").hidden = !options.reason;
    $("confirm-reason").value = "";
    $("confirm-reason").required = Boolean(options.reason);
    $("confirm-error").hidden = true;
    dialog.showModal();
    (options.reason ? $("confirm-reason") : $("confirm-ok")).focus();
    return new Promise((resolve) => {
      settle = (value) => {
        settle = null;
        if (dialog.open) dialog.close();
        resolve(value);
      };
      settle.needsReason = Boolean(options.reason);
    });
  }

  function wireDialog() {
    const dialog = $("confirm-dialog");
    $("confirm-form").addEventListener("submit", (event) => {
      event.preventDefault();
      if (!settle) return;
      const reason = $("confirm-reason").value.trim();
      if (settle.needsReason && !reason) {
        $("confirm-error").textContent = "请填写原因 · Please give a reason";
        $("confirm-error").hidden = false;
        return;
      }
      settle(settle.needsReason ? reason : "");
    });
    $("confirm-cancel").addEventListener("click", () => settle && settle(null));
    dialog.addEventListener("close", () => settle && settle(null));
  }

  // ------------------------------------------------------------------ start

  function start() {
    wireDialog();
    $("sign-in-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = $("api-key").value.trim();
      if (key) void signIn(key);
    });
    $("sign-out").addEventListener("click", () => signOut(""));
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const q = $("search-q").value.trim();
      if (q) void search(q);
    });
    $("drill-button").addEventListener("click", () => void runDrill());
    $("recall-button").addEventListener("click", () => void recallCurrent());
    const saved = sessionStorage.getItem(STORAGE_KEY);
    if (saved) void signIn(saved);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
