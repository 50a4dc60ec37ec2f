/**
 * The dashboard's SVG charts, read back with an XML parser: well-formed SVG with an accessible
 * name, a title and axis labels; bars whose heights are proportional to the data; text escaped;
 * nothing loaded from elsewhere.
 */
import { expect } from "chai";
import { XMLParser, XMLValidator } from "fast-xml-parser";

import { barChart, escapeXml, lineChart, valueAxis } from "../../server/web/charts";

type Node = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  isArray: (name) => ["rect", "circle", "text", "g", "line", "title"].includes(name),
  parseAttributeValue: false,
  htmlEntities: true,
});

function parse(svg: string): Node {
  expect(XMLValidator.validate(svg), "well-formed XML").to.equal(true);
  const doc = parser.parse(svg) as { svg?: Node };
  expect(doc.svg, "an <svg> root").to.be.an("object");
  return doc.svg!;
}

/** Every element named `name` anywhere below `node`. */
function all(node: unknown, name: string): Node[] {
  const found: Node[] = [];
  const visit = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === "object") {
      for (const [key, child] of Object.entries(value)) {
        if (key === name) found.push(...([] as Node[]).concat(child as Node));
        visit(child);
      }
    }
  };
  visit(node);
  return found;
}

/** The text of a parsed element (fast-xml-parser keeps it as `#text` or as the value itself). */
const textOf = (node: unknown): string =>
  typeof node === "string" || typeof node === "number" ? String(node) : String((node as Node)["#text"] ?? "");

const texts = (node: Node) => all(node, "text").map(textOf);

const options = { title: "各区县召回批次 · Recalls by district", xLabel: "区县 District", yLabel: "召回 Recalls" };

describe("SVG charts", function () {
  describe("bar chart", function () {
    const data = [
      { label: "江津区", value: 3 },
      { label: "巴南区", value: 1 },
      { label: "荣昌区", value: 6 },
      { label: "大足区", value: 0 },
    ];
    const svg = parse(barChart(data, { ...options, description: "召回批次数，按区县。" }));

    it("is an accessible image: SVG namespace, role img, aria-label, title and description", function () {
      expect(svg["@xmlns"]).to.equal("http://www.w3.org/2000/svg");
      expect(svg["@role"]).to.equal("img");
      expect(svg["@aria-label"]).to.equal(options.title);
      expect(textOf((svg.title as Node[])[0])).to.equal(options.title);
      expect(textOf(svg.desc)).to.equal("召回批次数，按区县。");
      expect(svg["@viewBox"]).to.equal("0 0 640 320");
    });

    it("labels both axes and every bar", function () {
      const words = texts(svg);
      expect(words).to.include.members([options.xLabel, options.yLabel, "江津区", "巴南区", "荣昌区", "大足区"]);
      expect(all(svg, "line").filter((l) => /axis/.test(String(l["@class"])))).to.have.length(2);
    });

    it("draws one bar per datum, heights proportional to the values, all on the x axis", function () {
      const bars = all(svg, "rect").filter((r) => r["@class"] === "bar");
      expect(bars.map((b) => b["@data-label"])).to.deep.equal(data.map((d) => d.label));
      expect(bars.map((b) => Number(b["@data-value"]))).to.deep.equal(data.map((d) => d.value));
      const heights = bars.map((b) => Number(b["@height"]));
      const bottoms = bars.map((b) => Number(b["@y"]) + Number(b["@height"]));
      const perUnit = heights[2]! / 6;
      expect(perUnit).to.be.greaterThan(0);
      data.forEach((d, i) => expect(heights[i], d.label).to.be.closeTo(d.value * perUnit, 0.02));
      for (const bottom of bottoms) expect(bottom).to.be.closeTo(bottoms[0]!, 0.01);
      // The tallest bar reaches the top of the axis (max 6) exactly: 6 is a whole number of steps.
      const yAxis = all(svg, "line").find((l) => l["@class"] === "y-axis")!;
      expect(Number(bars[2]!["@y"])).to.be.closeTo(Number(yAxis["@y1"]), 0.01);
    });

    it("gives every bar a tooltip with its label and value", function () {
      const bars = all(svg, "rect").filter((r) => r["@class"] === "bar");
      expect(bars.map((b) => textOf((b.title as Node[])[0]))).to.deep.equal([
        "江津区: 3",
        "巴南区: 1",
        "荣昌区: 6",
        "大足区: 0",
      ]);
    });

    it("keeps a fixed maximum when given one (percentages up to 100)", function () {
      const chart = parse(
        barChart(
          [
            { label: "调味品", value: 75 },
            { label: "五金", value: 100 },
          ],
          { ...options, max: 100, format: (v) => `${v}%` },
        ),
      );
      const [a, b] = all(chart, "rect").filter((r) => r["@class"] === "bar");
      expect(Number(a!["@height"]) / Number(b!["@height"])).to.be.closeTo(0.75, 1e-3);
      expect(texts(chart)).to.include.members(["0%", "100%", "75%"]);
    });

    it("escapes text, so labels cannot inject markup", function () {
      const evil = `<script>alert("x")</script> & 'q'`;
      const raw = barChart([{ label: evil, value: 1, note: evil }], { ...options, title: evil, width: 900 });
      expect(raw).to.not.include("<script>");
      const chart = parse(raw);
      expect(all(chart, "script")).to.have.length(0);
      expect(chart["@aria-label"]).to.equal(evil);
      const bar = all(chart, "rect").find((r) => r["@class"] === "bar")!;
      expect(bar["@data-label"]).to.equal(evil);
    });

    it("loads nothing from elsewhere: no links, images, stylesheets or web fonts", function () {
      const raw = barChart(data, options);
      expect(raw).to.not.match(/href|<image|<style|@import|url\(|@font-face|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    });

    it("says there is no data instead of drawing nothing", function () {
      const chart = parse(barChart([], options));
      expect(all(chart, "rect").filter((r) => r["@class"] === "bar")).to.have.length(0);
      expect(texts(chart)).to.include("暂无数据 · No data");
      expect(chart["@role"]).to.equal("img");
    });

    it("labels only some of many bars so the labels do not overlap, but draws every bar", function () {
      const days = Array.from({ length: 30 }, (_, i) => ({ label: `11-${String(i + 1).padStart(2, "0")}`, value: i }));
      const chart = parse(barChart(days, options));
      expect(all(chart, "rect").filter((r) => r["@class"] === "bar")).to.have.length(30);
      const labels = texts(chart).filter((t) => /^11-\d\d$/.test(t));
      expect(labels.length).to.be.within(5, 15);
      expect(labels[0]).to.equal("11-01");
    });
  });

  describe("line chart", function () {
    const data = [
      { label: "#1", value: 0.8 },
      { label: "#2", value: 1.2 },
      { label: "#3", value: 2 },
    ];
    const chart = parse(
      lineChart(data, {
        title: "上链锚定延迟 · Anchoring lag",
        xLabel: "锚定 Anchor",
        yLabel: "延迟 Lag (s)",
        markers: [{ label: "p95", value: 2 }],
      }),
    );

    it("draws a point per datum, in order left to right, higher for larger values", function () {
      const points = all(chart, "circle");
      expect(points.map((p) => Number(p["@data-value"]))).to.deep.equal([0.8, 1.2, 2]);
      const xs = points.map((p) => Number(p["@cx"]));
      const ys = points.map((p) => Number(p["@cy"]));
      expect(xs).to.deep.equal([...xs].sort((a, b) => a - b));
      expect(ys[0]).to.be.greaterThan(ys[1]!);
      expect(ys[1]).to.be.greaterThan(ys[2]!);
      // Distances from the x axis are proportional to the values.
      const axis = all(chart, "line").find((l) => l["@class"] === "x-axis")!;
      const base = Number(axis["@y1"]);
      expect((base - ys[0]!) / (base - ys[2]!)).to.be.closeTo(0.4, 1e-3);
      expect(String(all(chart, "path")[0]?.["@d"] ?? chart.path)).to.match(/^M[\d.]+ [\d.]+ L/);
    });

    it("is an accessible image with axis labels and its reference line", function () {
      expect(chart["@role"]).to.equal("img");
      expect(chart["@aria-label"]).to.equal("上链锚定延迟 · Anchoring lag");
      expect(texts(chart)).to.include.members(["锚定 Anchor", "延迟 Lag (s)", "p95 2"]);
    });
  });

  describe("value axis", function () {
    it("ends at a round multiple of a 1-2-5 step at or above the largest value", function () {
      expect(valueAxis(6)).to.deep.equal({ max: 6, step: 2 });
      expect(valueAxis(3)).to.deep.equal({ max: 3, step: 1 });
      expect(valueAxis(12)).to.deep.equal({ max: 15, step: 5 });
      expect(valueAxis(2400)).to.deep.equal({ max: 2500, step: 500 });
      expect(valueAxis(0)).to.deep.equal({ max: 1, step: 1 });
      expect(valueAxis(7, 100)).to.deep.equal({ max: 100, step: 20 });
      // Counts: whole-number ticks only.
      expect(valueAxis(1)).to.deep.equal({ max: 1, step: 0.2 });
      expect(valueAxis(1, undefined, true)).to.deep.equal({ max: 1, step: 1 });
      expect(valueAxis(3, undefined, true)).to.deep.equal({ max: 3, step: 1 });
    });

    it("escapes the five XML special characters", function () {
      expect(escapeXml(`<a href="x">'&'</a>`)).to.equal("&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;");
    });
  });
});
