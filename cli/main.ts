/**
 * `yutrace`: the factory command line (渝溯企业命令行工具). Help in Chinese and English; exit codes
 * 0 done, 1 failed (refused, bad rows, a check that did not pass), 2 a usage or set-up problem.
 */
import { Command, CommanderError, Option } from "commander";

import { version } from "../package.json";
import { CATEGORIES } from "../server/http/schemas";
import { CHONGQING_DISTRICTS, UNITS } from "../server/domain/events";
import { configPath, keyFilePath, readConfig } from "./config";
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "./errors";
import type { Session } from "./session";

// Command modules load when their command runs: `yutrace --help` need not load ethers, PDFKit or the
// CSV decoder, and every command starts sooner.
const commands = () => import("./commands");
/** A description in both languages. */
const bi = (zh: string, en: string) => `${zh} · ${en}`;

const EXAMPLES = `
例子 Examples:
  $ yutrace login --gateway https://trace.example.cn --api-key ytk_…
  $ yutrace products add --gtin 06938850100030 --name "重庆火锅底料 500g" --category hotpot_base --standard "GB/T 23183"
  $ yutrace import examples/hotpot-base/batches.csv --dry-run
  $ yutrace import examples/hotpot-base/events.csv
  $ yutrace batches show 06938850100030/HG20261120-01
  $ yutrace labels 06938850100030/HG20261120-01 --count 1000 --out labels.pdf
  $ yutrace verify https://trace.example.cn/01/06938850100030/10/HG20261120-01 --rpc http://127.0.0.1:8545

设置 Settings: yutrace login writes them to ~/.config/yutrace/config.json (mode 600); --config or
YUTRACE_CONFIG names another file; YUTRACE_GATEWAY and YUTRACE_API_KEY override it.
退出码 Exit codes: 0 done · 1 failed (refused, bad rows, a failed check) · 2 usage or set-up problem.`;

export function program(): Command {
  const cli = new Command("yutrace")
    .description(bi("渝溯 — 产品质量追溯企业工具", "YuTrace — product traceability for factories"))
    .version(version, "-V, --version", bi("显示版本", "show the version"))
    .helpOption("-h, --help", bi("显示帮助", "show help"))
    .helpCommand("help [command]", bi("显示命令帮助", "show help for a command"))
    .option("--config <file>", bi("设置文件", "settings file"))
    .option("--gateway <url>", bi("网关地址（覆盖设置）", "gateway URL (overrides the settings)"))
    .addHelpText("after", EXAMPLES)
    .showHelpAfterError(bi("（用 --help 查看用法）", "(add --help for usage)"))
    .configureHelp({ sortSubcommands: false })
    // Before the subcommands are added, so that they inherit it: main() decides the exit code.
    .exitOverride();

  const configFile = () => configPath(cli.opts().config);
  const session = async (): Promise<Session> =>
    (await import("./session")).Session.open(configFile(), { gateway: cli.opts().gateway });
  const signLocally = () =>
    new Option("--sign-locally", bi("用本企业自己的密钥签名（自持密钥）", "sign with your own key (self-custody)"));

  cli
    .command("login")
    .description(bi("登录：保存网关地址和 API 密钥", "log in: store the gateway URL and API key"))
    .option("--gateway <url>", bi("网关地址", "gateway URL, e.g. https://trace.example.cn"))
    .option("--api-key <key>", bi("API 密钥（不给则提示输入）", "API key (asked for when not given)"))
    .option("--rpc <url>", bi("区块链 JSON-RPC 地址，供 verify 使用", "the chain's JSON-RPC URL, for verify"))
    .option("--key-file <file>", bi("自持签名密钥文件", "your own signing key file"))
    .action(async (options, command: Command) => {
      const gateway = options.gateway ?? command.parent!.opts().gateway;
      await (await commands()).login(configFile(), { ...options, gateway });
    });

  cli
    .command("whoami")
    .description(bi("显示当前登录的企业", "show who the API key belongs to"))
    .option("--json", "JSON")
    .action(async (options) => (await commands()).whoami(await session(), configFile(), Boolean(options.json)));

  const keys = cli.command("keys").description(bi("自持签名密钥", "your own signing key (self-custody)"));
  keys
    .command("generate")
    .description(
      bi(
        "生成签名密钥（加密：设 YUTRACE_KEY_PASSPHRASE）",
        "make a signing key (set YUTRACE_KEY_PASSPHRASE to encrypt it)",
      ),
    )
    .option("--out <file>", bi("密钥文件（默认在设置目录）", "key file (default: next to the settings)"))
    .action(async (options) => {
      const file = options.out ?? (await keyFileOf(configFile()));
      await (await commands()).keysGenerate(configFile(), file, Boolean(options.out));
    });
  keys
    .command("show")
    .description(bi("显示签名密钥的地址", "show the signing key's address"))
    .action(async () => (await commands()).keysShow(await keyFileOf(configFile())));

  const products = cli.command("products").description(bi("产品", "products"));
  products
    .command("add")
    .description(bi("登记产品（上链）", "register a product on-chain"))
    .requiredOption("--gtin <gtin>", bi("商品条码（14 位）", "GTIN-14"))
    .requiredOption("--name <name>", bi("中文名称", "name in Chinese"))
    .option("--name-en <name>", bi("英文名称", "name in English"))
    .addOption(
      new Option("--category <category>", bi("类别", "category")).choices([...CATEGORIES]).makeOptionMandatory(),
    )
    .requiredOption("--standard <code>", bi("执行标准", "the standard it is made to, e.g. GB/T 23183"))
    .option("--brand <brand>", bi("品牌", "brand"))
    .addOption(signLocally())
    .action(async (options) =>
      (await commands()).productsAdd(await session(), { ...options, signLocally: Boolean(options.signLocally) }),
    );
  products
    .command("list")
    .description(bi("列出本企业的产品", "list your products"))
    .option("--json", "JSON")
    .action(async (options) => (await commands()).productsList(await session(), Boolean(options.json)));

  const batches = cli.command("batches").description(bi("批次", "batches"));
  batches
    .command("add")
    .description(bi("登记批次（上链）", "register a batch on-chain"))
    .requiredOption("--gtin <gtin>", bi("商品条码", "GTIN-14 of your product"))
    .requiredOption("--lot <lot>", bi("批号", "lot"))
    .requiredOption("--quantity <n>", bi("数量", "quantity"))
    .requiredOption("--unit <unit>", bi(`单位（${UNITS.join("、")}，或 千克、箱、瓶…）`, "unit"))
    .requiredOption("--production-date <date>", bi("生产日期", "production date, e.g. 2026-11-20"))
    .option("--expiry-date <date>", bi("保质期至", "best before"))
    .option("--facility <text>", bi("生产车间/生产线", "production site or line"))
    .addOption(new Option("--district <district>", bi("区县", "district")).choices([...CHONGQING_DISTRICTS]))
    .option("--input <gtin/lot>", bi("原料批次（可重复）", "an input batch (repeatable)"), collect, [])
    .addOption(signLocally())
    .action(async (options) =>
      (await commands()).batchesAdd(await session(), { ...options, signLocally: Boolean(options.signLocally) }),
    );
  batches
    .command("list")
    .description(bi("列出本企业的批次（最新在前）", "list your batches, newest first"))
    .option("--limit <n>", bi("最多几条", "how many"), "50")
    .option("--all", bi("全部", "every one"))
    .option("--json", "JSON")
    .action(async (options) =>
      (await commands()).batchesList(await session(), {
        limit: positive(options.limit, "--limit"),
        all: Boolean(options.all),
        json: Boolean(options.json),
      }),
    );
  batches
    .command("show <batch>")
    .description(
      bi(
        "显示批次及其追溯记录（批次号：0x…、GTIN/批号或追溯码链接）",
        "show a batch and its events (0x… id, GTIN/lot or Digital Link)",
      ),
    )
    .option("--json", "JSON")
    .action(async (ref: string, options) =>
      (await commands()).batchesShow(await session(), ref, Boolean(options.json)),
    );

  const events = cli.command("events").description(bi("追溯事件", "trace events"));
  events
    .command("add")
    .description(bi("记录一条追溯事件", "record one trace event"))
    .requiredOption(
      "--batch <batch>",
      bi("批次（0x…、GTIN/批号或链接）", "the batch (0x… id, GTIN/lot or Digital Link)"),
    )
    .requiredOption(
      "--step <step>",
      bi("业务步骤：commissioning、inspecting、shipping…或 生产、检验、发货…", "CBV business step"),
    )
    .option("--time <time>", bi("时间（默认现在，北京时间）", "when, e.g. 2026-11-20 08:30 (default: now, China time)"))
    .option("--time-zone <offset>", bi("时区", "time zone offset"), undefined)
    .option("--disposition <disposition>", bi("状态：conformant、in_transit…或 合格、在途…", "CBV disposition"))
    .option("--action <action>", "ADD | OBSERVE | DELETE")
    .requiredOption("--quantity <n>", bi("数量", "quantity"))
    .requiredOption("--unit <unit>", bi("单位", "unit"))
    .option("--district <district>", bi("区县", "district"))
    .option("--location <name>", bi("地点名称", "place name"))
    .option("--gln <gln>", "GLN")
    .option("--source <uscc>", bi("发货方统一社会信用代码", "source organisation (统一社会信用代码)"))
    .option("--destination <uscc>", bi("收货方统一社会信用代码", "destination organisation (统一社会信用代码)"))
    .option("--temperature <celsius>", bi("温度 °C", "temperature °C"))
    .option("--humidity <percent>", bi("湿度 %", "relative humidity %"))
    .option("--cert-hash <sha256>", bi("检验报告 SHA-256", "certificate document SHA-256"))
    .option("--cert-issuer <lab>", bi("检验机构", "issuing lab"))
    .option("--cert-standard <code>", bi("检验标准", "standard tested against"))
    .option("--cert-result <result>", bi("结论：合格/不合格", "conformant | non_conformant"))
    .option("--cert-number <number>", bi("报告编号", "certificate number"))
    .option("--comment <text>", bi("备注（消费者可见）", "comment shown to consumers"))
    .addOption(signLocally())
    .action(async (options) =>
      (await commands()).eventsAdd(await session(), { ...options, signLocally: Boolean(options.signLocally) }),
    );

  cli
    .command("certificates")
    .description(bi("检验报告", "inspection reports"))
    .command("upload <file>")
    .description(
      bi(
        "上传检验报告（PDF/PNG/JPEG），得到事件引用的 SHA-256",
        "upload a report (PDF/PNG/JPEG); prints the SHA-256 events name it by",
      ),
    )
    .action(async (file: string) => (await commands()).certificatesUpload(await session(), file));

  cli
    .command("import <file>")
    .description(
      bi(
        "从 CSV 批量导入批次或事件（UTF-8 或 GB18030；先校验全部行；中断后可重新运行，不会重复）",
        "bulk import batches or events from CSV (UTF-8 or GB18030; every row checked first; rerun after an interruption without duplicates)",
      ),
    )
    .addOption(
      new Option(
        "--type <type>",
        bi("文件内容（默认按表头判断）", "what the file holds (default: from its header)"),
      ).choices(["batches", "events"]),
    )
    .option("--dry-run", bi("只校验，不导入", "check every row, import nothing"))
    .addOption(
      new Option("--encoding <encoding>", bi("文件编码", "file encoding"))
        .choices(["auto", "utf-8", "gb18030"])
        .default("auto"),
    )
    .option("--chunk <n>", bi("每次提交的事件数", "events per submission"), "500")
    .addOption(signLocally())
    .action(async (file: string, options) => {
      const summary = await (
        await import("./import")
      ).runImport(await session(), {
        file,
        kind: options.type,
        encoding: options.encoding,
        dryRun: Boolean(options.dryRun),
        chunk: Math.min(positive(options.chunk, "--chunk"), 1000),
        signLocally: Boolean(options.signLocally),
      });
      if (!options.dryRun) {
        const what = summary.kind === "events" ? "events" : "batches";
        process.stdout.write(
          `导入完成 imported ${summary.rows.toLocaleString("en-US")} ${what} from ${file}: ` +
            `${summary.recorded.toLocaleString("en-US")} recorded now, ${summary.already.toLocaleString("en-US")} recorded before` +
            `${summary.submissions !== undefined ? `, ${summary.submissions} submission(s)` : ""}, ${summary.seconds.toFixed(1)} s\n`,
        );
      } else {
        process.stdout.write(
          `校验通过 ${file}: ${summary.rows.toLocaleString("en-US")} valid ${summary.kind} rows (dry run, nothing imported)\n`,
        );
      }
    });

  cli
    .command("labels <batch>")
    .description(
      bi(
        "生成一物一码标签 PDF（--count：新发码数量）",
        "print item labels as PDF (--count: issue that many new serials)",
      ),
    )
    .requiredOption("--out <file>", bi("PDF 文件", "PDF file"))
    .option(
      "--count <n>",
      bi("新发码数量（不给则打印已发的码）", "new serials to issue (default: print the ones issued)"),
    )
    .option("--columns <n>", bi("每行标签数", "labels across"))
    .option("--rows <n>", bi("每列标签数", "labels down"))
    .action(async (ref: string, options) => (await import("./labels")).labels(await session(), ref, options));

  cli
    .command("verify <link>")
    .description(
      bi(
        "独立验证批次的全部记录（与 npm run verify 相同）",
        "verify a batch's whole record independently (as npm run verify)",
      ),
    )
    .option(
      "--rpc <url>",
      bi("区块链 JSON-RPC 地址（默认登录时给的）", "the chain's JSON-RPC URL (default: from login)"),
    )
    .option("--ledger <address>", bi("信任的 TraceLedger 合约地址", "the TraceLedger address to trust"))
    .option("--ancestors", bi("同时验证原料批次", "also verify the batches it was made from"))
    .option("--allow-pending", bi("仍在上链中的事件不算失败", "exit 0 although events wait for their anchor"))
    .option("--json", "JSON")
    .action(async (link: string, options) => {
      const config = await readConfig(configFile());
      const argv = [link];
      if (options.rpc) argv.push("--rpc", options.rpc);
      if (options.ledger) argv.push("--ledger", options.ledger);
      if (options.ancestors) argv.push("--ancestors");
      if (options.allowPending) argv.push("--allow-pending");
      if (options.json) argv.push("--json");
      process.exitCode = await (
        await import("./verify")
      ).runVerifier(argv, "usage: yutrace verify <digital-link-url> [--rpc <json-rpc-url>] …", {
        rpc: config.rpc,
      });
    });

  return cli;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positive(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new CliError(`${option} must be a whole number above 0, got ${value}`, EXIT_USAGE);
  return n;
}

async function keyFileOf(configFile: string): Promise<string> {
  return keyFilePath(configFile, await readConfig(configFile));
}

export async function main(argv: string[]): Promise<number> {
  const cli = program();
  try {
    await cli.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not failures; every other complaint of commander is a usage error.
      return error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.exitCode === 0
        ? EXIT_OK
        : EXIT_USAGE;
    }
    const failure = (await import("./client")).explain(error);
    if (failure instanceof CliError) {
      process.stderr.write(`错误 error: ${failure.message}\n`);
      for (const line of failure.lines) process.stderr.write(`  ${line}\n`);
      return failure.exitCode;
    }
    process.stderr.write(`错误 error: ${(failure as Error).message ?? String(failure)}\n`);
    if (process.env.YUTRACE_DEBUG) process.stderr.write(`${(failure as Error).stack}\n`);
    return EXIT_FAILED;
  }
}
