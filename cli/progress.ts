/**
 * A progress bar on standard error: redrawn in place on a terminal; on anything else (a log file, a
 * test reading the output) one line at most every second and at the end, so logs stay readable.
 */
export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private lastLine = 0;
  /** The count the last line showed. */
  private drawn = -1;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  /** Marks `n` more done (or sets the count with `set`). */
  tick(n = 1): void {
    this.done += n;
    this.draw(false);
  }

  set(done: number): void {
    this.done = done;
    this.draw(false);
  }

  /** A message above the bar (a retry, a warning), without breaking it. */
  note(message: string): void {
    if (this.tty) this.stream.write("\r\x1b[K");
    this.stream.write(`${message}\n`);
    this.draw(true);
  }

  finish(): void {
    if (this.tty || this.drawn !== this.done) this.draw(true);
    if (this.tty) this.stream.write("\n");
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!this.tty && !force && now - this.lastLine < 1000 && this.done < this.total) return;
    this.lastLine = now;
    this.drawn = this.done;
    const fraction = this.total === 0 ? 1 : Math.min(this.done / this.total, 1);
    const width = 24;
    const filled = Math.round(fraction * width);
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const left = rate > 0 ? Math.ceil((this.total - this.done) / rate) : null;
    const text =
      `${this.label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ` +
      `${this.done.toLocaleString("en-US")}/${this.total.toLocaleString("en-US")} ${this.unit} ` +
      `${Math.round(fraction * 100)}%` +
      (rate > 0 ? `  ${Math.round(rate).toLocaleString("en-US")} ${this.unit}/s` : "") +
      (left !== null && this.done < this.total ? `  ~${left} s left` : "");
    this.stream.write(this.tty ? `\r\x1b[K${text}` : `${text}\n`);
  }
}
