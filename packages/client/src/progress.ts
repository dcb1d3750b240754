/** A progress line on stderr: redrawn in place on a terminal, one plain line per step otherwise. */
export class Progress {
  private failed = 0;

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly width = 30,
  ) {}

  step(settled: number, ok: boolean): void {
    if (!ok) this.failed++;
    const failures = this.failed > 0 ? `, ${this.failed} failed` : '';
    if (!this.stream.isTTY) {
      this.stream.write(`jobe-run: ${settled}/${this.total} settled${failures}\n`);
      return;
    }
    const filled = this.total === 0 ? this.width : Math.round((settled / this.total) * this.width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}`;
    this.stream.write(`\r[${bar}] ${settled}/${this.total}${failures}`);
    if (settled === this.total) this.stream.write('\n');
  }
}
