/**
 * CSV as Chinese spreadsheet software writes it: UTF-8 with or without a byte-order mark (Excel's
 * "CSV UTF-8", WPS, LibreOffice) or GB18030/GBK (Excel's plain "CSV" on a Chinese Windows), comma-
 * or tab-separated, RFC 4180 quoting (quoted cells may hold commas, quotes as "" and line breaks).
 *
 * Rows are numbered as the spreadsheet numbers them: the header is row 1, the first data row is
 * row 2, whatever line breaks quoted cells hold. Columns are lettered A, B, … as there.
 */
import iconv from "iconv-lite";

export type Encoding = "auto" | "utf-8" | "gb18030";

export interface DecodedText {
  text: string;
  /** What the bytes turned out to be. */
  encoding: "utf-8" | "utf-8 with BOM" | "gb18030";
}

export class CsvError extends Error {
  constructor(
    message: string,
    readonly row: number,
  ) {
    super(message);
  }
}

/** Decodes a CSV file's bytes. `auto`: a UTF-8 BOM, else valid UTF-8, else GB18030. */
export function decodeCsv(bytes: Uint8Array, encoding: Encoding = "auto"): DecodedText {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bom = buffer.length >= 3 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf;
  if ((buffer[0] === 0xff && buffer[1] === 0xfe) || (buffer[0] === 0xfe && buffer[1] === 0xff)) {
    throw new CsvError('the file is UTF-16 (Excel\'s "Unicode text"); save it as "CSV UTF-8" or "CSV"', 1);
  }
  if (encoding === "gb18030") return { text: iconv.decode(buffer, "gb18030"), encoding: "gb18030" };
  if (bom) return { text: strictUtf8(buffer.subarray(3)), encoding: "utf-8 with BOM" };
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(buffer), encoding: "utf-8" };
  } catch {
    if (encoding === "utf-8") throw new CsvError("the file is not valid UTF-8 (try --encoding gb18030)", 1);
    return { text: iconv.decode(buffer, "gb18030"), encoding: "gb18030" };
  }
}

/** A file that says it is UTF-8 (a byte-order mark) but is not is damaged: refused, never garbled. */
function strictUtf8(buffer: Buffer): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(buffer);
  } catch {
    throw new CsvError("the file starts with a UTF-8 byte-order mark but is not valid UTF-8: it is damaged", 1);
  }
}

export interface CsvRecord {
  /** Spreadsheet row number: the header is row 1. */
  row: number;
  cells: string[];
}

export interface CsvTable {
  header: string[];
  records: CsvRecord[];
  delimiter: "," | "\t" | ";";
}

/**
 * Parses CSV text. The delimiter is the one of comma, tab and semicolon the header line holds most
 * of (comma when it holds none). Rows with no cell filled are skipped (spreadsheets leave them).
 */
export function parseCsv(text: string): CsvTable {
  const firstLine = text.slice(0, text.search(/\r|\n|$/));
  const counts = ([",", "\t", ";"] as const).map((d) => [d, firstLine.split(d).length - 1] as const);
  const delimiter = counts.reduce((best, next) => (next[1] > best[1] ? next : best))[0];
  const rows: string[][] = [];
  let cells: string[] = [];
  let cell = "";
  let quoted = false;
  let i = 0;
  const endCell = () => {
    cells.push(cell);
    cell = "";
  };
  const endRow = () => {
    endCell();
    rows.push(cells);
    cells = [];
  };
  let quoteStartRow = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      cell += c;
      i++;
      continue;
    }
    if (c === '"' && cell.length === 0) {
      quoted = true;
      quoteStartRow = rows.length + 1;
      i++;
    } else if (c === delimiter) {
      endCell();
      i++;
    } else if (c === "\r" || c === "\n") {
      endRow();
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
    } else {
      cell += c; // a quote inside an unquoted cell is taken literally, as spreadsheets do
      i++;
    }
  }
  if (quoted) throw new CsvError('a quoted cell is never closed (a " is missing)', quoteStartRow);
  if (cell.length > 0 || cells.length > 0) endRow();
  if (rows.length === 0) throw new CsvError("the file is empty", 1);
  const [header, ...data] = rows;
  const records: CsvRecord[] = [];
  data.forEach((cells, index) => {
    if (cells.some((value) => value.trim() !== "")) records.push({ row: index + 2, cells });
  });
  return { header: header!.map((name) => name.trim()), records, delimiter };
}

/** Spreadsheet column letters: 0 → A, 25 → Z, 26 → AA. */
export function columnLetter(index: number): string {
  let letters = "";
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26))
    letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  return letters;
}
