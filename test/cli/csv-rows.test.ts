/**
 * Unit tests of the factory CLI's pure modules: cli/csv.ts (decoding UTF-8 ± BOM and GB18030,
 * RFC 4180 parsing with spreadsheet row numbers, column letters) and cli/rows.ts (header mapping
 * with Chinese aliases, spreadsheet dates and times, rows into batch bodies and trace events checked
 * with the gateway's schemas, problems named by row, column and letter), against inline CSV and the
 * example files in examples/.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

import { expect } from "chai";
import iconv from "iconv-lite";

import { columnLetter, CsvError, decodeCsv, parseCsv, type CsvTable } from "../../cli/csv";
import {
  batchRow,
  eventRow,
  formatProblem,
  kindOf,
  mapHeader,
  toEventTime,
  toIsoDate,
  type ImportKind,
  type RowProblem,
} from "../../cli/rows";
import type { ObjectEvent, TraceEvent } from "../../server/domain/events";

const EXAMPLES = path.resolve(__dirname, "..", "..", "examples");

/** Valid GTIN-14s and 统一社会信用代码 of the example files. */
const HOTPOT = "06938850101018";
const TALLOW = "06938850101186";
const POTTERY = "06938850401095";
const COLD_CHAIN = "91500106MA61C7RD30";
/** The same with a wrong check digit / character. */
const BAD_GTIN = "06938850101019";
const BAD_USCC = "91500106MA61C7RD31";

const BOM = [0xef, 0xbb, 0xbf];

/** Calls `fn` and returns the CsvError it throws; fails if it throws nothing or something else. */
function csvErrorOf(fn: () => unknown): CsvError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(CsvError);
    return e as CsvError;
  }
  expect.fail("expected a CsvError");
}

/** Parses inline CSV and maps its header, which must have no problems. */
function tableOf(csv: string, kind: ImportKind): { table: CsvTable; columns: Map<string, number> } {
  const table = parseCsv(csv);
  const { columns, problems } = mapHeader(table.header, kind);
  expect(problems.map(formatProblem)).to.deep.equal([]);
  return { table, columns };
}

/** The one result of `fn` on a table's only record. */
function only<T>(
  csv: string,
  kind: ImportKind,
  fn: (record: CsvTable["records"][number], table: CsvTable, columns: Map<string, number>) => T,
): T {
  const { table, columns } = tableOf(csv, kind);
  expect(table.records).to.have.length(1);
  return fn(table.records[0]!, table, columns);
}

function ok<T extends object>(result: T | RowProblem[]): T {
  if (Array.isArray(result)) expect.fail(`unexpected problems:\n${result.map(formatProblem).join("\n")}`);
  return result;
}

function problemsOf(result: object | RowProblem[]): RowProblem[] {
  if (!Array.isArray(result)) expect.fail(`expected problems, got ${JSON.stringify(result)}`);
  expect(result).to.not.be.empty;
  return result;
}

/** The problem naming `column` (as the header spells it); fails unless there is exactly one. */
function problemAt(problems: RowProblem[], column: string): RowProblem {
  const found = problems.filter((p) => p.column === column);
  expect(found, `problems at ${column}: ${problems.map(formatProblem).join(" | ")}`).to.have.length(1);
  return found[0]!;
}

function objectEvent(event: TraceEvent): ObjectEvent {
  expect(event.type).to.equal("ObjectEvent");
  return event as ObjectEvent;
}

const BATCH_HEADER = "gtin,lot,quantity,unit,production_date,expiry_date,facility,district,inputs";
const EVENT_HEADER = "gtin,lot,biz_step,event_time,quantity,unit,district,destination,temperature";

describe("factory CLI: cli/csv.ts", function () {
  describe("decodeCsv", function () {
    it("removes a UTF-8 byte-order mark and says the file had one", function () {
      const bytes = Buffer.from([...BOM, ...Buffer.from("gtin,批号\r\n06938850101018,A1\r\n", "utf8")]);
      const decoded = decodeCsv(bytes);
      expect(decoded.encoding).to.equal("utf-8 with BOM");
      expect(decoded.text).to.equal("gtin,批号\r\n06938850101018,A1\r\n");
      expect(decoded.text.charCodeAt(0)).to.not.equal(0xfeff);
    });

    it("reads the hotpot example (UTF-8 with BOM) without its mark", function () {
      const bytes = readFileSync(path.join(EXAMPLES, "hotpot-base", "batches.csv"));
      expect([...bytes.subarray(0, 3)]).to.deep.equal(BOM);
      const decoded = decodeCsv(bytes);
      expect(decoded.encoding).to.equal("utf-8 with BOM");
      expect(decoded.text.startsWith("gtin,lot,")).to.be.true;
      expect(decoded.text).to.include("巴南区界石镇牛油炒料车间");
    });

    it("reads UTF-8 without a mark as utf-8", function () {
      const decoded = decodeCsv(Buffer.from("gtin,lot,comment\n06938850101018,A1,牛油炒料\n", "utf8"));
      expect(decoded).to.deep.equal({ text: "gtin,lot,comment\n06938850101018,A1,牛油炒料\n", encoding: "utf-8" });
      const garments = decodeCsv(readFileSync(path.join(EXAMPLES, "garments", "events.csv")));
      expect(garments.encoding).to.equal("utf-8");
      expect(garments.text).to.include("沙坪坝区");
    });

    it("decodes only the bytes of a Uint8Array view, not the whole buffer behind it", function () {
      const whole = Buffer.from("XXXXgtin,lot\n1,2\nYYYY", "utf8");
      const view = new Uint8Array(whole.buffer, whole.byteOffset + 4, whole.length - 8);
      expect(decodeCsv(view).text).to.equal("gtin,lot\n1,2\n");
    });

    it("falls back to GB18030 for bytes that are not UTF-8, and gets the Chinese text back exactly", function () {
      const text =
        "商品条码,批号,业务步骤,时间,区县,备注\r\n06938850401095,AT2611-K01,生产,2026/11/16 10:00,荣昌区,安陶·柴窑 36 小时\r\n";
      const bytes = iconv.encode(text, "gb18030");
      expect(() => new TextDecoder("utf-8", { fatal: true }).decode(bytes)).to.throw();
      const decoded = decodeCsv(bytes);
      expect(decoded.encoding).to.equal("gb18030");
      expect(decoded.text).to.equal(text);
    });

    it("decodes GB18030 four-byte sequences (characters outside GBK)", function () {
      const text = "备注\n𠮷野家 €\n";
      const decoded = decodeCsv(iconv.encode(text, "gb18030"));
      expect(decoded.encoding).to.equal("gb18030");
      expect(decoded.text).to.equal(text);
    });

    it("reads the Rongchang pottery example (GB18030, Chinese headers)", function () {
      const decoded = decodeCsv(readFileSync(path.join(EXAMPLES, "rongchang-pottery", "events.csv")));
      expect(decoded.encoding).to.equal("gb18030");
      expect(decoded.text).to.include("荣昌区");
      expect(decoded.text).to.include("商品条码");
      expect(decoded.text.startsWith("商品条码,批号,业务步骤,时间")).to.be.true;
    });

    it("refuses GB18030 bytes when UTF-8 is required", function () {
      const bytes = iconv.encode("商品条码,批号\n荣昌区,安陶\n", "gb18030");
      const error = csvErrorOf(() => decodeCsv(bytes, "utf-8"));
      expect(error.row).to.equal(1);
      expect(error.message).to.match(/not valid UTF-8/);
      expect(error.message).to.include("gb18030");
    });

    it("refuses a UTF-8 byte-order mark followed by bytes that are not UTF-8, rather than garble them", function () {
      const bytes = Buffer.concat([Buffer.from(BOM), iconv.encode("荣昌区", "gb18030")]);
      for (const encoding of ["utf-8", "auto"] as const) {
        const error = csvErrorOf(() => decodeCsv(bytes, encoding));
        expect(error.row).to.equal(1);
        expect(error.message).to.match(/byte-order mark .* not valid UTF-8/);
      }
    });

    it("accepts valid UTF-8 when UTF-8 is required", function () {
      expect(decodeCsv(Buffer.from("区县\n荣昌区\n", "utf8"), "utf-8")).to.deep.equal({
        text: "区县\n荣昌区\n",
        encoding: "utf-8",
      });
    });

    it("refuses UTF-16 little- and big-endian files, naming UTF-16", function () {
      const le = Buffer.from("\uFEFFgtin,lot\r\n", "utf16le");
      expect([...le.subarray(0, 2)]).to.deep.equal([0xff, 0xfe]);
      const be = Buffer.from(le).swap16();
      expect([...be.subarray(0, 2)]).to.deep.equal([0xfe, 0xff]);
      for (const bytes of [le, be]) {
        for (const encoding of ["auto", "utf-8", "gb18030"] as const) {
          const error = csvErrorOf(() => decodeCsv(bytes, encoding));
          expect(error.message).to.include("UTF-16");
          expect(error.row).to.equal(1);
        }
      }
    });

    it("decodes as GB18030 when told to, even bytes that would pass as UTF-8", function () {
      const text = "商品条码,批号\n06938850401095,AT2611-K01\n";
      expect(decodeCsv(iconv.encode(text, "gb18030"), "gb18030")).to.deep.equal({ text, encoding: "gb18030" });
      // Bytes that are valid UTF-8 ("中" is e4 b8 ad) are still read as GB18030 when that is forced.
      const utf8Bytes = Buffer.from("中", "utf8");
      expect(decodeCsv(utf8Bytes).text).to.equal("中");
      expect(decodeCsv(utf8Bytes, "gb18030")).to.deep.equal({
        text: iconv.decode(utf8Bytes, "gb18030"),
        encoding: "gb18030",
      });
      expect(decodeCsv(utf8Bytes, "gb18030").text).to.not.equal("中");
      const pottery = decodeCsv(readFileSync(path.join(EXAMPLES, "rongchang-pottery", "batches.csv")), "gb18030");
      expect(pottery.encoding).to.equal("gb18030");
      expect(pottery.text).to.include("安富街道 3 号柴窑");
    });
  });

  describe("parseCsv", function () {
    it("reads the header and numbers records as spreadsheet rows (header is row 1)", function () {
      const table = parseCsv("gtin,lot\n06938850101018,A1\n06938850101018,A2\n");
      expect(table.delimiter).to.equal(",");
      expect(table.header).to.deep.equal(["gtin", "lot"]);
      expect(table.records).to.deep.equal([
        { row: 2, cells: ["06938850101018", "A1"] },
        { row: 3, cells: ["06938850101018", "A2"] },
      ]);
    });

    it("trims header names but keeps cells as written", function () {
      const table = parseCsv(" gtin , lot \n a , b \n");
      expect(table.header).to.deep.equal(["gtin", "lot"]);
      expect(table.records[0]!.cells).to.deep.equal([" a ", " b "]);
    });

    it("reads quoted cells holding commas and doubled quotes", function () {
      const table = parseCsv('facility,comment\n"巴南区, 1 号线","say ""hi"", then ""bye"""\n"",x\n');
      expect(table.records[0]!.cells).to.deep.equal(["巴南区, 1 号线", 'say "hi", then "bye"']);
      expect(table.records[1]!.cells).to.deep.equal(["", "x"]);
    });

    it("takes a quote inside an unquoted cell literally", function () {
      expect(parseCsv('size,comment\n12",ab"c\n').records[0]!.cells).to.deep.equal(['12"', 'ab"c']);
    });

    it("reads CRLF, LF and CR line ends alike", function () {
      const expected = [
        { row: 2, cells: ["1", "2"] },
        { row: 3, cells: ["3", "4"] },
      ];
      for (const eol of ["\r\n", "\n", "\r"]) {
        const table = parseCsv(["a,b", "1,2", "3,4", ""].join(eol));
        expect(table.header, JSON.stringify(eol)).to.deep.equal(["a", "b"]);
        expect(table.records, JSON.stringify(eol)).to.deep.equal(expected);
      }
    });

    it("reads the last record without a final line break, and adds none for a final one", function () {
      expect(parseCsv("a,b\n1,2").records).to.deep.equal([{ row: 2, cells: ["1", "2"] }]);
      expect(parseCsv("a,b\n1,").records).to.deep.equal([{ row: 2, cells: ["1", ""] }]);
      expect(parseCsv("a,b\r\n1,2\r\n").records).to.have.length(1);
    });

    it("keeps line breaks inside a quoted cell, and numbers later records by record, not by line", function () {
      const table = parseCsv('comment,lot\n"line one\nline two\r\nline three",A1\nplain,A2\n"x\ry",A3\nlast,A4\n');
      expect(table.records.map((r) => r.row)).to.deep.equal([2, 3, 4, 5]);
      expect(table.records[0]!.cells).to.deep.equal(["line one\nline two\r\nline three", "A1"]);
      expect(table.records[1]!.cells).to.deep.equal(["plain", "A2"]);
      expect(table.records[2]!.cells).to.deep.equal(["x\ry", "A3"]);
      expect(table.records[3]!.cells).to.deep.equal(["last", "A4"]);
    });

    it("skips blank rows but still counts them, as a spreadsheet shows them", function () {
      // Spreadsheet rows: 1 header, 2 "1", 3 blank, 4 only commas, 5 "2", 6 blank, 7 "3".
      const table = parseCsv("a,b\n1,x\n\n,\n2,y\r\n\r\n3,z\n\n");
      expect(table.records).to.deep.equal([
        { row: 2, cells: ["1", "x"] },
        { row: 5, cells: ["2", "y"] },
        { row: 7, cells: ["3", "z"] },
      ]);
    });

    it("skips rows whose cells hold only spaces", function () {
      expect(parseCsv("a,b\n  ,\t\n1,2\n").records).to.deep.equal([{ row: 3, cells: ["1", "2"] }]);
    });

    it("detects a tab-delimited file from its header; commas are then ordinary text", function () {
      const table = parseCsv("gtin\tlot\tcomment\r\n06938850101018\tA1\t酸价, 过氧化值合格\r\n");
      expect(table.delimiter).to.equal("\t");
      expect(table.header).to.deep.equal(["gtin", "lot", "comment"]);
      expect(table.records[0]!.cells).to.deep.equal(["06938850101018", "A1", "酸价, 过氧化值合格"]);
    });

    it("detects a semicolon-delimited file from its header", function () {
      const table = parseCsv('gtin;lot;quantity\n06938850101018;A1;"1,5"\n');
      expect(table.delimiter).to.equal(";");
      expect(table.header).to.deep.equal(["gtin", "lot", "quantity"]);
      expect(table.records[0]!.cells).to.deep.equal(["06938850101018", "A1", "1,5"]);
    });

    it("picks the delimiter the header holds most of, and comma when it holds none", function () {
      expect(parseCsv("a;b;c,d\n1;2;3,4\n").delimiter).to.equal(";");
      expect(parseCsv("a,b,c;d\n1,2,3;4\n").delimiter).to.equal(",");
      const single = parseCsv("gtin\n06938850101018\n");
      expect(single.delimiter).to.equal(",");
      expect(single.records).to.deep.equal([{ row: 2, cells: ["06938850101018"] }]);
    });

    it("refuses a quoted cell that is never closed, naming the row where the quote opened", function () {
      const inData = csvErrorOf(() => parseCsv('a,b\n1,2\n"open,3\n4,5\n6,7\n'));
      expect(inData.row).to.equal(3);
      expect(inData.message).to.match(/never closed/);
      // Blank rows and earlier multi-line cells count as in a spreadsheet.
      expect(csvErrorOf(() => parseCsv('a,b\n\n"x\ny",1\n2,"open\n')).row).to.equal(4);
      expect(csvErrorOf(() => parseCsv('"a,b\n1,2\n')).row).to.equal(1);
    });

    it("refuses an empty file", function () {
      const error = csvErrorOf(() => parseCsv(""));
      expect(error.row).to.equal(1);
      expect(error.message).to.match(/empty/);
    });
  });

  describe("columnLetter", function () {
    it("letters columns as spreadsheets do", function () {
      expect(columnLetter(0)).to.equal("A");
      expect(columnLetter(1)).to.equal("B");
      expect(columnLetter(25)).to.equal("Z");
      expect(columnLetter(26)).to.equal("AA");
      expect(columnLetter(27)).to.equal("AB");
      expect(columnLetter(51)).to.equal("AZ");
      expect(columnLetter(52)).to.equal("BA");
      expect(columnLetter(701)).to.equal("ZZ");
      expect(columnLetter(702)).to.equal("AAA");
      expect(columnLetter(16383)).to.equal("XFD"); // Excel's last column
    });
  });
});

describe("factory CLI: cli/rows.ts", function () {
  describe("toIsoDate", function () {
    it("accepts the date forms spreadsheets write", function () {
      expect(toIsoDate("2026-11-20")).to.equal("2026-11-20");
      expect(toIsoDate("2026/11/20")).to.equal("2026-11-20");
      expect(toIsoDate("2026/1/5")).to.equal("2026-01-05");
      expect(toIsoDate("2026-1-5")).to.equal("2026-01-05");
      expect(toIsoDate("2026.11.20")).to.equal("2026-11-20");
      expect(toIsoDate("20261120")).to.equal("2026-11-20");
      expect(toIsoDate("2026年11月20日")).to.equal("2026-11-20");
      expect(toIsoDate("2026年1月5日")).to.equal("2026-01-05");
      expect(toIsoDate("2028-02-29")).to.equal("2028-02-29"); // a leap year
    });

    it("rejects dates that do not exist and text that is not a date", function () {
      for (const value of [
        "2026-02-30",
        "2026-02-29",
        "2026-13-01",
        "2026-00-10",
        "2026-11-31",
        "2026-11-00",
        "20261320",
        "20260230",
        "20-11-2026",
        "11/20/2026",
        "2026-11-20 08:30",
        "2026-11",
        "",
        "tomorrow",
      ]) {
        expect(toIsoDate(value), value).to.equal(null);
      }
    });
  });

  describe("toEventTime", function () {
    it("reads a spreadsheet's local time with the given offset", function () {
      expect(toEventTime("2026-11-20 08:30", "+08:00")).to.equal("2026-11-20T08:30:00+08:00");
      expect(toEventTime("2026/11/20 8:30:15", "+08:00")).to.equal("2026-11-20T08:30:15+08:00");
      expect(toEventTime("2026/1/5 8:05", "-05:00")).to.equal("2026-01-05T08:05:00-05:00");
      expect(toEventTime("2026.11.20 23:59", "+00:00")).to.equal("2026-11-20T23:59:00+00:00");
      expect(toEventTime("2026-11-20T08:30", "+08:00")).to.equal("2026-11-20T08:30:00+08:00");
    });

    it("passes ISO 8601 with an offset through as it is", function () {
      expect(toEventTime("2026-11-20T08:30:00+08:00", "+08:00")).to.equal("2026-11-20T08:30:00+08:00");
      expect(toEventTime("2026-11-20T00:30:00Z", "+08:00")).to.equal("2026-11-20T00:30:00Z");
      expect(toEventTime("2026-11-20T08:30:00.250-05:00", "+08:00")).to.equal("2026-11-20T08:30:00.250-05:00");
    });

    it("rejects impossible dates and what is not a time", function () {
      expect(toEventTime("2026-02-30 08:30", "+08:00")).to.equal(null);
      expect(toEventTime("2026-13-01 08:30", "+08:00")).to.equal(null);
      expect(toEventTime("2026-11-20", "+08:00")).to.equal(null);
      expect(toEventTime("08:30", "+08:00")).to.equal(null);
      expect(toEventTime("2026-11-20 8", "+08:00")).to.equal(null);
      expect(toEventTime("yesterday", "+08:00")).to.equal(null);
    });
  });

  describe("kindOf", function () {
    it("tells an events file by its business-step column and a batches file by its production date", function () {
      expect(kindOf(["gtin", "lot", "biz_step", "event_time"])).to.equal("events");
      expect(kindOf(["gtin", "lot", "quantity", "production_date"])).to.equal("batches");
      expect(kindOf(["GTIN", "Lot", "Biz Step"])).to.equal("events");
      expect(kindOf(["Production-Date"])).to.equal("batches");
      expect(kindOf(["\uFEFFbiz_step"])).to.equal("events");
    });

    it("knows the Chinese headers", function () {
      expect(kindOf(["商品条码", "批号", "业务步骤", "时间"])).to.equal("events");
      expect(kindOf(["商品条码", "批号", "环节"])).to.equal("events");
      expect(kindOf(["商品条码", "批号", "数量", "生产日期"])).to.equal("batches");
    });

    it("returns null for a file that is neither", function () {
      expect(kindOf(["gtin", "lot", "quantity"])).to.equal(null);
      expect(kindOf([])).to.equal(null);
    });
  });

  describe("mapHeader", function () {
    it("maps English column names in any order, whatever their case and spacing", function () {
      const { columns, problems } = mapHeader(
        ["Unit", "production date", "LOT", "gtin", "Quantity", "Expiry-Date", "", "district"],
        "batches",
      );
      expect(problems).to.deep.equal([]);
      expect(Object.fromEntries(columns)).to.deep.equal({
        unit: 0,
        production_date: 1,
        lot: 2,
        gtin: 3,
        quantity: 4,
        expiry_date: 5,
        district: 7,
      });
    });

    it("maps the Chinese aliases of an events file", function () {
      const { columns, problems } = mapHeader(
        ["商品条码", "批号", "业务步骤", "时间", "数量", "单位", "区县", "收货方", "温度（°C）", "备注"],
        "events",
      );
      expect(problems).to.deep.equal([]);
      expect(Object.fromEntries(columns)).to.deep.equal({
        gtin: 0,
        lot: 1,
        biz_step: 2,
        event_time: 3,
        quantity: 4,
        unit: 5,
        district: 6,
        destination: 7,
        temperature: 8,
        comment: 9,
      });
    });

    it("maps the Chinese aliases of a batches file", function () {
      const { columns, problems } = mapHeader(
        ["商品条码", "批次号", "数量", "计量单位", "生产日期", "保质期至", "生产车间", "区县", "原料批次"],
        "batches",
      );
      expect(problems).to.deep.equal([]);
      expect([...columns.keys()]).to.deep.equal([
        "gtin",
        "lot",
        "quantity",
        "unit",
        "production_date",
        "expiry_date",
        "facility",
        "district",
        "inputs",
      ]);
    });

    it("reports an unknown column at row 1 with its name and letter", function () {
      const { columns, problems } = mapHeader(
        ["gtin", "lot", "quantity", "unit", "production_date", "colour"],
        "batches",
      );
      expect(problems).to.have.length(1);
      expect(problems[0]).to.include({ row: 1, column: "colour", letter: "F" });
      expect(problems[0]!.message).to.match(/^unknown column; a batches file has: gtin, lot, /);
      expect(columns.has("colour")).to.be.false;
      expect(columns.size).to.equal(5);
    });

    it("letters an unknown column beyond Z as a spreadsheet does", function () {
      const header = [
        "gtin",
        "lot",
        "biz_step",
        "event_time",
        "quantity",
        "unit",
        ...Array<string>(20).fill(""),
        "颜色",
      ];
      const { problems } = mapHeader(header, "events");
      expect(problems).to.deep.equal([{ row: 1, column: "颜色", letter: "AA", message: problems[0]!.message }]);
      expect(problems[0]!.message).to.match(/^unknown column; a events file has: gtin, lot, biz_step/);
    });

    it("reports a column given twice, under either of its names, and keeps the first", function () {
      const { columns, problems } = mapHeader(
        ["gtin", "lot", "商品条码", "quantity", "unit", "production_date", "LOT"],
        "batches",
      );
      expect(problems).to.deep.equal([
        { row: 1, column: "商品条码", letter: "C", message: "a second gtin column (also column A)" },
        { row: 1, column: "LOT", letter: "G", message: "a second lot column (also column B)" },
      ]);
      expect(columns.get("gtin")).to.equal(0);
      expect(columns.get("lot")).to.equal(1);
    });

    it("reports every missing required column, for the whole header", function () {
      const batches = mapHeader(["gtin", "lot", "facility"], "batches").problems;
      expect(batches).to.deep.equal([
        { row: 1, message: "the header has no quantity column" },
        { row: 1, message: "the header has no unit column" },
        { row: 1, message: "the header has no production_date column" },
      ]);
      const events = mapHeader(["商品条码", "批号", "数量", "单位"], "events").problems;
      expect(events).to.deep.equal([
        { row: 1, message: "the header has no biz_step column" },
        { row: 1, message: "the header has no event_time column" },
      ]);
    });

    it("maps a GTIN-14 column (a listed alias of gtin), and names spelled with spaces or hyphens", function () {
      expect(kindOf(["商品条码", "批号", "业务 步骤", "时间", "数量", "单位"])).to.equal("events");
      expect(kindOf(["gtin", "lot", "Production-Date"])).to.equal("batches");
      const { columns, problems } = mapHeader(["GTIN-14", "lot", "quantity", "unit", "production_date"], "batches");
      expect(problems).to.deep.equal([]);
      expect(columns.get("gtin")).to.equal(0);
    });
  });

  describe("batchRow", function () {
    it("reports cells that have no column (an unquoted comma) instead of dropping them", function () {
      const csv =
        "gtin,lot,quantity,unit,production_date,,facility\n" +
        `${HOTPOT},HG1,10,箱,2026-11-20,,车间 1,2 号线\n` +
        `${HOTPOT},HG2,10,箱,2026-11-20,stray,车间\n`;
      const table = parseCsv(csv);
      const { columns, problems } = mapHeader(table.header, "batches");
      expect(problems).to.deep.equal([]);
      const [first, second] = table.records.map((record) => batchRow(record, table, columns));
      expect(first).to.be.an("array");
      expect((first as RowProblem[]).map(formatProblem)).to.deep.include(
        'row 2: 1 cell(s) in column(s) H have no column name: an unquoted comma in a cell? Put cells that hold commas in quotes ("…"), as spreadsheets do',
      );
      expect((second as RowProblem[]).map((p) => p.message)).to.deep.include(
        '1 cell(s) in column(s) F have no column name: an unquoted comma in a cell? Put cells that hold commas in quotes ("…"), as spreadsheets do',
      );
    });

    it("turns a valid row into the body of POST /api/v1/batches", function () {
      const csv =
        `${BATCH_HEADER}\n` +
        `${HOTPOT},HG20261117-01,"2,400",箱,2026/11/17,2027年11月17日,"火锅底料车间 1 号线",巴南区,` +
        `${TALLOW}/CL20261117-01; ${TALLOW} / CL20261118-01\n`;
      const result = ok(only(csv, "batches", batchRow));
      expect(result.row).to.equal(2);
      expect(result.body).to.deep.equal({
        gtin: HOTPOT,
        lot: "HG20261117-01",
        quantity: { value: 2400, unit: "XCT" },
        productionDate: "2026-11-17",
        expiryDate: "2027-11-17",
        facility: "火锅底料车间 1 号线",
        district: "巴南区",
        inputs: [
          { gtin: TALLOW, lot: "CL20261117-01" },
          { gtin: TALLOW, lot: "CL20261118-01" },
        ],
      });
    });

    it("leaves optional cells out when they are empty, and inputs as an empty list", function () {
      const result = ok(only(`${BATCH_HEADER}\n${TALLOW},CL1,1200,KGM,20261117,,,,\n`, "batches", batchRow));
      expect(result.body).to.deep.equal({
        gtin: TALLOW,
        lot: "CL1",
        quantity: { value: 1200, unit: "KGM" },
        productionDate: "2026-11-17",
        inputs: [],
      });
    });

    it("maps unit words and codes to UNECE codes", function () {
      const cases: [string, string][] = [
        ["箱", "XCT"],
        ["千克", "KGM"],
        ["公斤", "KGM"],
        ["kg", "KGM"],
        ["件", "H87"],
        ["瓶", "XBO"],
        ["双", "PR"],
        ["xct", "XCT"],
        ["KGM", "KGM"],
      ];
      for (const [word, code] of cases) {
        const result = ok(
          only(`gtin,lot,quantity,unit,production_date\n${HOTPOT},A1,1.5,${word},2026-11-20\n`, "batches", batchRow),
        );
        expect(result.body.quantity, word).to.deep.equal({ value: 1.5, unit: code });
      }
    });

    it("reads a file with Chinese headers and names problems by the header's own spelling", function () {
      const csv = `商品条码,批号,数量,单位,生产日期\n${POTTERY},AT 01,320,件,2026/11/16\n`;
      const problems = problemsOf(only(csv, "batches", batchRow));
      expect(problems).to.have.length(1);
      expect(problems[0]).to.include({ row: 2, column: "批号", letter: "B" });
      expect(problems[0]!.message).to.include('"AT 01"');
    });

    it("names a bad GTIN check digit at the gtin column", function () {
      const problems = problemsOf(only(`${BATCH_HEADER}\n${BAD_GTIN},A1,10,KGM,2026-11-20,,,,\n`, "batches", batchRow));
      expect(problems).to.have.length(1);
      expect(problems[0]).to.deep.equal({
        row: 2,
        column: "gtin",
        letter: "A",
        message: `"${BAD_GTIN}" must be a GTIN-14 with a valid check digit`,
      });
    });

    it("names a bad lot at the lot column", function () {
      for (const lot of ["AB CD", "批次1", "A".repeat(21)]) {
        const problems = problemsOf(
          only(`${BATCH_HEADER}\n${HOTPOT},${lot},10,KGM,2026-11-20,,,,\n`, "batches", batchRow),
        );
        expect(problems, lot).to.have.length(1);
        expect(problems[0], lot).to.include({ row: 2, column: "lot", letter: "B" });
        expect(problems[0]!.message).to.include(`"${lot}"`);
      }
    });

    it("names an impossible production date at production_date and expiry date at expiry_date", function () {
      const problems = problemsOf(
        only(`${BATCH_HEADER}\n${HOTPOT},A1,10,KGM,2026-02-30,2026-13-01,,,\n`, "batches", batchRow),
      );
      expect(problems).to.have.length(2);
      expect(problemAt(problems, "production_date")).to.include({ row: 2, letter: "E" });
      expect(problemAt(problems, "production_date").message).to.include('"2026-02-30" is not a date');
      expect(problemAt(problems, "expiry_date")).to.include({ row: 2, letter: "F" });
      expect(problemAt(problems, "expiry_date").message).to.include('"2026-13-01" is not a date');
    });

    it("names an expiry date before the production date at expiry_date", function () {
      const problems = problemsOf(
        only(`${BATCH_HEADER}\n${HOTPOT},A1,10,KGM,2026-11-20,2026-11-19,,,\n`, "batches", batchRow),
      );
      expect(problems).to.deep.equal([
        { row: 2, column: "expiry_date", letter: "F", message: "expiryDate is before productionDate" },
      ]);
    });

    it("wants a quantity of more than 0, once per bad cell", function () {
      for (const quantity of ["0", "-5", "-1,200"]) {
        const csv = `${BATCH_HEADER}\n${HOTPOT},A1,"${quantity}",KGM,2026-11-20,,,,\n`;
        const problems = problemsOf(only(csv, "batches", batchRow));
        expect(problems, quantity).to.have.length(1);
        expect(problems[0], quantity).to.include({ row: 2, column: "quantity", letter: "C" });
        expect(problems[0]!.message).to.include("more than 0");
      }
      const notNumber = problemsOf(
        only(`${BATCH_HEADER}\n${HOTPOT},A1,１０,KGM,2026-11-20,,,,\n`, "batches", batchRow),
      );
      expect(notNumber).to.have.length(1);
      expect(notNumber[0]).to.include({ column: "quantity", message: '"１０" is not a number' });
    });

    it("names an unknown unit at the unit column", function () {
      const problems = problemsOf(only(`${BATCH_HEADER}\n${HOTPOT},A1,10,桶,2026-11-20,,,,\n`, "batches", batchRow));
      expect(problems).to.have.length(1);
      expect(problems[0]).to.include({ row: 2, column: "unit", letter: "D" });
      expect(problems[0]!.message).to.match(/^"桶" is not a unit/);
    });

    it("names a district outside Chongqing at the district column", function () {
      const problems = problemsOf(
        only(`${BATCH_HEADER}\n${HOTPOT},A1,10,KGM,2026-11-20,,,成都市,\n`, "batches", batchRow),
      );
      expect(problems).to.have.length(1);
      expect(problems[0]).to.include({ row: 2, column: "district", letter: "H" });
      expect(problems[0]!.message).to.include("Chongqing");
    });

    it("names an empty required cell", function () {
      const problems = problemsOf(only(`${BATCH_HEADER}\n${HOTPOT},A1,,KGM,2026-11-20,,,,\n`, "batches", batchRow));
      expect(problems).to.deep.equal([{ row: 2, column: "quantity", letter: "C", message: "is empty" }]);
    });

    it("names bad input batches at the inputs column", function () {
      const badGtin = problemsOf(
        only(`${BATCH_HEADER}\n${HOTPOT},A1,10,KGM,2026-11-20,,,,${BAD_GTIN}/CL1\n`, "batches", batchRow),
      );
      expect(badGtin).to.have.length(1);
      expect(badGtin[0]).to.include({ row: 2, column: "inputs", letter: "I" });
      const notAKey = problemsOf(only(`${BATCH_HEADER}\n${HOTPOT},A1,10,KGM,2026-11-20,,,,CL1\n`, "batches", batchRow));
      expect(notAKey).to.have.length(1);
      expect(notAKey[0]).to.include({ row: 2, column: "inputs", letter: "I" });
      expect(notAKey[0]!.message).to.include('"CL1" is not GTIN/lot');
    });

    it("reports every problem of a row at once", function () {
      const csv = `${BATCH_HEADER}\n${BAD_GTIN},AB CD,-1,桶,2026-02-30,2026-13-01,,成都市,\n`;
      const problems = problemsOf(only(csv, "batches", batchRow));
      expect(problems.map((p) => [p.column, p.letter])).to.have.deep.members([
        ["gtin", "A"],
        ["lot", "B"],
        ["quantity", "C"],
        ["unit", "D"],
        ["production_date", "E"],
        ["expiry_date", "F"],
        ["district", "H"],
      ]);
      expect(problems.every((p) => p.row === 2)).to.be.true;
    });

    it("names the spreadsheet row after blank lines and multi-line cells", function () {
      const csv = `${BATCH_HEADER}\n${HOTPOT},A1,10,KGM,2026-11-20,,"车间\n1 号线",,\n\n${HOTPOT},A2,10,KGM,2026-11-20,,,重庆市,\n`;
      const { table, columns } = tableOf(csv, "batches");
      expect(table.records.map((r) => r.row)).to.deep.equal([2, 4]);
      // The gateway refuses control characters in text, line breaks included: named at row 2.
      const multiLine = problemsOf(batchRow(table.records[0]!, table, columns));
      expect(multiLine).to.have.length(1);
      expect(multiLine[0]).to.include({ row: 2, column: "facility", letter: "G" });
      const problems = problemsOf(batchRow(table.records[1]!, table, columns));
      expect(problems).to.have.length(1);
      expect(problems[0]).to.include({ row: 4, column: "district", letter: "H" });
    });
  });

  describe("eventRow", function () {
    const LINK = `https://trace.example.cn/01/${HOTPOT}/10/HG20261117-01`;

    it("turns a valid row into a checked trace event, and builds it again on the batch's own link", function () {
      const csv = `${EVENT_HEADER}\n${HOTPOT},HG20261117-01,commissioning,2026-11-17 14:00,2400,XCT,巴南区,,\n`;
      const result = ok(only(csv, "events", eventRow));
      expect(result.row).to.equal(2);
      expect(result.batch).to.deep.equal({ gtin: HOTPOT, lot: "HG20261117-01" });
      const expected = {
        type: "ObjectEvent",
        action: "ADD",
        bizStep: "commissioning",
        eventTime: "2026-11-17T14:00:00+08:00",
        eventTimeZoneOffset: "+08:00",
        quantityList: [{ epcClass: `https://id.gs1.org/01/${HOTPOT}/10/HG20261117-01`, quantity: 2400, uom: "XCT" }],
        bizLocation: { district: "巴南区" },
      };
      expect(result.checked).to.deep.equal(expected);
      const built = objectEvent(result.event(LINK));
      expect(built.quantityList[0]!.epcClass).to.equal(LINK);
      expect(built).to.deep.equal({ ...expected, quantityList: [{ epcClass: LINK, quantity: 2400, uom: "XCT" }] });
    });

    it("defaults the action to ADD for commissioning and OBSERVE otherwise; an action cell wins", function () {
      const row = (step: string, extra = "") =>
        objectEvent(
          ok(
            only(
              `gtin,lot,biz_step,event_time,quantity,unit${extra ? ",action" : ""}\n${HOTPOT},A1,${step},2026-11-20 08:30,1,KGM${extra ? `,${extra}` : ""}\n`,
              "events",
              eventRow,
            ),
          ).checked,
        );
      expect(row("commissioning").action).to.equal("ADD");
      expect(row("生产").action).to.equal("ADD");
      expect(row("inspecting").action).to.equal("OBSERVE");
      expect(row("shipping").action).to.equal("OBSERVE");
      expect(row("shipping", "delete").action).to.equal("DELETE");
      expect(row("commissioning", "observe").action).to.equal("OBSERVE");
    });

    it("maps Chinese and English step words to CBV business steps", function () {
      const cases: [string, string][] = [
        ["生产", "commissioning"],
        ["检验", "inspecting"],
        ["包装", "packing"],
        ["入库", "storing"],
        ["发货", "shipping"],
        ["到货", "receiving"],
        ["销售", "retail_selling"],
        ["Shipped", "shipping"],
        ["INSPECTING", "inspecting"],
        ["sensor_reporting", "sensor_reporting"],
      ];
      for (const [word, step] of cases) {
        const csv = `gtin,lot,biz_step,event_time,quantity,unit\n${HOTPOT},A1,${word},2026-11-20 08:30,1,KGM\n`;
        expect(ok(only(csv, "events", eventRow)).checked.bizStep, word).to.equal(step);
      }
    });

    it("maps unit words to UNECE codes", function () {
      for (const [word, code] of [
        ["箱", "XCT"],
        ["千克", "KGM"],
        ["件", "H87"],
        ["盒", "XBX"],
        ["毫升", "MLT"],
      ] as const) {
        const csv = `gtin,lot,biz_step,event_time,quantity,unit\n${HOTPOT},A1,检验,2026-11-20 08:30,"1,200",${word}\n`;
        const event = objectEvent(ok(only(csv, "events", eventRow)).checked);
        expect(event.quantityList[0], word).to.include({ quantity: 1200, uom: code });
      }
    });

    it("turns a temperature into a Celsius sensor report and a destination into a possessing party", function () {
      const csv = `${EVENT_HEADER}\n${HOTPOT},A1,发货,2026-11-19 06:00,2000,箱,巴南区,${COLD_CHAIN},-18.5\n`;
      const event = ok(only(csv, "events", eventRow)).checked;
      expect(event.sensorElementList).to.deep.equal([
        { sensorReport: [{ type: "Temperature", value: -18.5, uom: "CEL" }] },
      ]);
      expect(event.destinationList).to.deep.equal([{ type: "possessing_party", destination: COLD_CHAIN }]);
      expect(event.bizStep).to.equal("shipping");
    });

    it("reads dispositions, locations, time zones, humidity and comments", function () {
      const csv =
        "商品条码,批号,业务步骤,时间,时区,状态,数量,单位,地点,湿度,备注\n" +
        `${POTTERY},AT2611-K01,检验,2026/11/16 15:00,-05:00,合格,20,件,质检室,55,"釉面, 渗水合格"\n`;
      const event = ok(only(csv, "events", eventRow)).checked;
      expect(event.disposition).to.equal("conformant");
      expect(event.eventTime).to.equal("2026-11-16T15:00:00-05:00");
      expect(event.eventTimeZoneOffset).to.equal("-05:00");
      expect(event.bizLocation).to.deep.equal({ name: "质检室" });
      expect(event.sensorElementList).to.deep.equal([
        { sensorReport: [{ type: "RelativeHumidity", value: 55, uom: "P1" }] },
      ]);
      expect(event.comment).to.equal("釉面, 渗水合格");
    });

    it("takes an ISO 8601 event time with its offset as it is", function () {
      const csv = `gtin,lot,biz_step,event_time,quantity,unit\n${HOTPOT},A1,检验,2026-11-20T00:30:00Z,1,KGM\n`;
      expect(ok(only(csv, "events", eventRow)).checked.eventTime).to.equal("2026-11-20T00:30:00Z");
    });

    it("names a bad GTIN check digit at gtin and a bad lot at lot", function () {
      const gtin = problemsOf(
        only(`${EVENT_HEADER}\n${BAD_GTIN},A1,检验,2026-11-20 08:30,1,KGM,,,\n`, "events", eventRow),
      );
      expect(gtin).to.have.length(1);
      expect(gtin[0]).to.include({ row: 2, column: "gtin", letter: "A" });
      expect(gtin[0]!.message).to.include("check digit");
      const lot = problemsOf(
        only(`${EVENT_HEADER}\n${HOTPOT},A#1,检验,2026-11-20 08:30,1,KGM,,,\n`, "events", eventRow),
      );
      expect(lot).to.have.length(1);
      expect(lot[0]).to.include({ row: 2, column: "lot", letter: "B" });
    });

    it("names an impossible event time at event_time, as the header spells it", function () {
      const english = problemsOf(
        only(`${EVENT_HEADER}\n${HOTPOT},A1,检验,2026-02-30 08:30,1,KGM,,,\n`, "events", eventRow),
      );
      expect(english).to.have.length(1);
      expect(english[0]).to.include({ row: 2, column: "event_time", letter: "D" });
      expect(english[0]!.message).to.match(/^"2026-02-30 08:30" is not a time/);
      const chinese = problemsOf(
        only(`商品条码,批号,业务步骤,时间,数量,单位\n${HOTPOT},A1,检验,2026-11-20 25:00,1,件\n`, "events", eventRow),
      );
      expect(chinese).to.have.length(1);
      expect(chinese[0]).to.include({ row: 2, column: "时间", letter: "D" });
    });

    it("wants a quantity of more than 0 and a known unit", function () {
      const zero = problemsOf(
        only(`${EVENT_HEADER}\n${HOTPOT},A1,检验,2026-11-20 08:30,0,KGM,,,\n`, "events", eventRow),
      );
      expect(zero).to.have.length(1);
      expect(zero[0]).to.include({ row: 2, column: "quantity", letter: "E" });
      expect(zero[0]!.message).to.include("more than 0");
      const unit = problemsOf(
        only(`${EVENT_HEADER}\n${HOTPOT},A1,检验,2026-11-20 08:30,1,桶,,,\n`, "events", eventRow),
      );
      expect(unit).to.have.length(1);
      expect(unit[0]).to.include({ row: 2, column: "unit", letter: "F" });
    });

    it("names a district outside Chongqing, a bad 统一社会信用代码 and an unknown step", function () {
      const district = problemsOf(
        only(`${EVENT_HEADER}\n${HOTPOT},A1,检验,2026-11-20 08:30,1,KGM,武侯区,,\n`, "events", eventRow),
      );
      expect(district).to.have.length(1);
      expect(district[0]).to.include({ row: 2, column: "district", letter: "G" });
      const destination = problemsOf(
        only(`${EVENT_HEADER}\n${HOTPOT},A1,发货,2026-11-20 08:30,1,KGM,,${BAD_USCC},\n`, "events", eventRow),
      );
      expect(destination).to.have.length(1);
      expect(destination[0]).to.include({ row: 2, column: "destination", letter: "H" });
      expect(destination[0]!.message).to.include("统一社会信用代码");
      const step = problemsOf(
        only(`${EVENT_HEADER}\n${HOTPOT},A1,挖掘,2026-11-20 08:30,1,KGM,,,\n`, "events", eventRow),
      );
      expect(step).to.have.length(1);
      expect(step[0]).to.include({ row: 2, column: "biz_step", letter: "C" });
      expect(step[0]!.message).to.match(/^"挖掘" is not a business step/);
    });

    it("names an empty required cell", function () {
      const problems = problemsOf(
        only(`${EVENT_HEADER}\n${HOTPOT},A1,,2026-11-20 08:30,1,KGM,,,\n`, "events", eventRow),
      );
      expect(problems).to.deep.equal([{ row: 2, column: "biz_step", letter: "C", message: "is empty" }]);
    });

    it("reports every problem of a row at once", function () {
      const csv = `${EVENT_HEADER}\n${HOTPOT},A1,挖掘,2026-02-30 08:30,-1,桶,成都市,${BAD_USCC},\n`;
      const problems = problemsOf(only(csv, "events", eventRow));
      expect(problems.map((p) => [p.column, p.letter])).to.have.deep.members([
        ["biz_step", "C"],
        ["event_time", "D"],
        ["quantity", "E"],
        ["unit", "F"],
        ["district", "G"],
        ["destination", "H"],
      ]);
      expect(problems.every((p) => p.row === 2)).to.be.true;
      // A bad key does not hide the row's other problems.
      const withKey = problemsOf(
        only(`${EVENT_HEADER}\n${BAD_GTIN},A B,挖掘,2026-11-20 08:30,0,KGM,,,\n`, "events", eventRow),
      );
      expect(withKey.map((p) => p.column)).to.have.members(["gtin", "lot", "biz_step", "quantity"]);
    });

    it("names the spreadsheet row after blank lines and multi-line cells", function () {
      const csv = `gtin,lot,biz_step,event_time,quantity,unit,comment\n${HOTPOT},A1,检验,2026-11-20 08:30,1,KGM,"第一行\r\n第二行"\r\n\r\n${HOTPOT},A1,检验,2026-11-20 08:30,1,公担,\r\n`;
      const { table, columns } = tableOf(csv, "events");
      expect(table.records.map((r) => r.row)).to.deep.equal([2, 4]);
      expect(table.records[0]!.cells[6]).to.equal("第一行\r\n第二行");
      // The gateway refuses control characters in text, line breaks included: named at row 2.
      const multiLine = problemsOf(eventRow(table.records[0]!, table, columns));
      expect(multiLine).to.have.length(1);
      expect(multiLine[0]).to.include({ row: 2, column: "comment", letter: "G" });
      const problems = problemsOf(eventRow(table.records[1]!, table, columns));
      expect(problems).to.have.length(1);
      expect(problems[0]).to.include({ row: 4, column: "unit", letter: "F" });
    });
  });

  describe("the example files", function () {
    const FILES: [string, string, ImportKind, number][] = [
      ["hotpot-base", "batches.csv", "batches", 6],
      ["hotpot-base", "events.csv", "events", 21],
      ["rongchang-pottery", "batches.csv", "batches", 3],
      ["rongchang-pottery", "events.csv", "events", 15],
      ["garments", "batches.csv", "batches", 4],
      ["garments", "events.csv", "events", 16],
    ];

    for (const [dir, file, kind, count] of FILES) {
      it(`${dir}/${file}: every row is a valid ${kind === "batches" ? "batch" : "event"}`, function () {
        const table = parseCsv(decodeCsv(readFileSync(path.join(EXAMPLES, dir, file))).text);
        expect(kindOf(table.header)).to.equal(kind);
        const { columns, problems } = mapHeader(table.header, kind);
        expect(problems.map(formatProblem)).to.deep.equal([]);
        expect(table.records).to.have.length(count);
        expect(table.records.map((r) => r.row)).to.deep.equal(Array.from({ length: count }, (_, i) => i + 2));
        for (const record of table.records) {
          const result = (kind === "batches" ? batchRow : eventRow)(record, table, columns);
          if (Array.isArray(result)) expect.fail(`${dir}/${file}: ${result.map(formatProblem).join("; ")}`);
          expect(result.row).to.equal(record.row);
        }
      });
    }

    it("rongchang-pottery: the Chinese words become CBV and UNECE codes, the Chinese text stays", function () {
      const table = parseCsv(decodeCsv(readFileSync(path.join(EXAMPLES, "rongchang-pottery", "events.csv"))).text);
      const { columns } = mapHeader(table.header, "events");
      const first = ok(eventRow(table.records[0]!, table, columns));
      const event = objectEvent(first.checked);
      expect(first.batch).to.deep.equal({ gtin: POTTERY, lot: "AT2611-K01" });
      expect(event).to.include({
        action: "ADD",
        bizStep: "commissioning",
        disposition: "active",
        eventTime: "2026-11-16T10:00:00+08:00",
        comment: "柴窑烧制 36 小时出窑",
      });
      expect(event.quantityList[0]).to.include({ quantity: 320, uom: "H87" });
      expect(event.bizLocation).to.deep.equal({ district: "荣昌区", name: "3 号柴窑" });
      const shipped = objectEvent(ok(eventRow(table.records[4]!, table, columns)).checked);
      expect(shipped).to.include({ bizStep: "shipping", disposition: "in_transit", action: "OBSERVE" });
      expect(shipped.destinationList).to.deep.equal([{ type: "possessing_party", destination: "91500103MA5U8BK41X" }]);

      const batches = parseCsv(decodeCsv(readFileSync(path.join(EXAMPLES, "rongchang-pottery", "batches.csv"))).text);
      const batch = ok(batchRow(batches.records[0]!, batches, mapHeader(batches.header, "batches").columns));
      expect(batch.body).to.deep.equal({
        gtin: POTTERY,
        lot: "AT2611-K01",
        quantity: { value: 320, unit: "H87" },
        productionDate: "2026-11-16",
        facility: "安富街道 3 号柴窑",
        district: "荣昌区",
        inputs: [],
      });
    });

    it("hotpot-base: a temperature becomes a sensor report and inputs name the tallow batches", function () {
      const events = parseCsv(decodeCsv(readFileSync(path.join(EXAMPLES, "hotpot-base", "events.csv"))).text);
      const { columns } = mapHeader(events.header, "events");
      const stored = events.records.find((r) => r.cells[2] === "storing")!;
      expect(ok(eventRow(stored, events, columns)).checked.sensorElementList).to.deep.equal([
        { sensorReport: [{ type: "Temperature", value: 16.5, uom: "CEL" }] },
      ]);
      const batches = parseCsv(decodeCsv(readFileSync(path.join(EXAMPLES, "hotpot-base", "batches.csv"))).text);
      const base = ok(batchRow(batches.records[3]!, batches, mapHeader(batches.header, "batches").columns));
      expect(base.row).to.equal(5);
      expect(base.body.inputs).to.deep.equal([{ gtin: TALLOW, lot: "CL20261117-01" }]);
      expect(base.body.quantity).to.deep.equal({ value: 2400, unit: "XCT" });
    });
  });

  describe("formatProblem", function () {
    it("names the row, the column's letter and its name", function () {
      expect(formatProblem({ row: 7, column: "lot", letter: "C", message: "is empty" })).to.equal(
        "row 7, column C (lot): is empty",
      );
      expect(formatProblem({ row: 12, column: "批号", letter: "AB", message: '"A B" is bad' })).to.equal(
        'row 12, column AB (批号): "A B" is bad',
      );
    });

    it("names only the row for a problem of the whole row", function () {
      expect(formatProblem({ row: 7, message: "the header has no lot column" })).to.equal(
        "row 7: the header has no lot column",
      );
    });

    it("formats the problems eventRow reports", function () {
      const problems = problemsOf(
        only(`${EVENT_HEADER}\n${HOTPOT},A1,检验,2026-11-20 08:30,1,桶,,,\n`, "events", eventRow),
      );
      expect(problems.map(formatProblem)).to.deep.equal([`row 2, column F (unit): ${problems[0]!.message}`]);
      expect(formatProblem(problems[0]!)).to.match(/^row 2, column F \(unit\): "桶" is not a unit/);
    });
  });
});
