/**
 * The demo lab's inspection reports (检验报告) as real, small PDF documents, so that the demo's
 * inspection events name the SHA-256 of a document that is on file and can be opened from the trace
 * page. Deterministic: the same report gives the same bytes (fixed dates, no random document id),
 * so its hash is stable. Chinese text is set in Noto Sans SC, as the label sheets are.
 */
import PDFDocument from "pdfkit";

/** Noto Sans SC (SIL OFL 1.1) from @expo-google-fonts/noto-sans-sc; pdfkit embeds the glyphs used. */
const CJK_FONT_FILE = "@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf";

export interface InspectionReport {
  lab: string;
  reportNumber: string;
  product: string;
  lot: string;
  producer: string;
  /** YYYY-MM-DD */
  sampledOn: string;
  /** YYYY-MM-DD; also the PDF's creation date. */
  issuedOn: string;
  standard: string;
  items: { item: string; limit: string; result: string; conformant: boolean }[];
  conformant: boolean;
}

/** The report as PDF bytes. */
export async function inspectionReportPdf(report: InspectionReport): Promise<Buffer> {
  const issued = new Date(`${report.issuedOn}T00:00:00Z`);
  const doc = new PDFDocument({
    size: "A4",
    margin: 56,
    info: {
      Title: `检验报告 ${report.reportNumber}`,
      Author: report.lab,
      Subject: `${report.product} ${report.lot}`,
      Creator: "YuTrace demo",
      CreationDate: issued,
      ModDate: issued,
    },
  });
  const chunks: Buffer[] = [];
  doc.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    doc.on("end", resolve);
    doc.on("error", reject);
  });

  doc.registerFont("cjk", require.resolve(CJK_FONT_FILE));
  doc.font("cjk");
  doc.fontSize(18).text(report.lab, { align: "center" });
  doc.fontSize(22).text("检 验 报 告", { align: "center" });
  doc.fontSize(10).text(`Inspection report No. ${report.reportNumber}`, { align: "center" }).moveDown(1.5);

  const facts: [string, string][] = [
    ["样品名称 Product", report.product],
    ["批号 Lot", report.lot],
    ["受检单位 Producer", report.producer],
    ["抽样日期 Sampled", report.sampledOn],
    ["检验依据 Standard", report.standard],
  ];
  doc.fontSize(11);
  for (const [name, value] of facts) doc.text(`${name}：${value}`);
  doc.moveDown();

  const columns = [56, 220, 340, 450];
  const row = (cells: string[]) => {
    const y = doc.y;
    cells.forEach((cell, i) => doc.text(cell, columns[i]!, y, { width: (columns[i + 1] ?? 540) - columns[i]! - 8 }));
    doc.x = columns[0]!;
    doc.moveDown(0.4);
  };
  row(["检验项目 Item", "标准限值 Limit", "检验结果 Result", "单项判定"]);
  doc.moveTo(columns[0]!, doc.y).lineTo(540, doc.y).stroke();
  doc.moveDown(0.3);
  for (const item of report.items) {
    row([item.item, item.limit, item.result, item.conformant ? "合格" : "不合格"]);
  }
  doc.moveDown();

  const verdict = report.conformant
    ? `检验结论：所检项目符合 ${report.standard} 的要求，判定合格。`
    : `检验结论：所检项目不符合 ${report.standard} 的要求，判定不合格。`;
  doc.fontSize(12).text(verdict, columns[0]!);
  doc.fontSize(10).text(report.conformant ? "Conclusion: conformant." : "Conclusion: NOT conformant.");
  doc.moveDown(2);
  doc.text(`签发日期 Issued：${report.issuedOn}`, { align: "right" });
  doc.text("（演示数据 demo data）", { align: "right" });
  doc.end();
  await ended;
  return Buffer.concat(chunks);
}
