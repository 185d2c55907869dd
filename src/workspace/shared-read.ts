/**
 * A read of the programme record kept between runs: paging through a list costs one read of the record, not one per
 * page. Requests arriving while it is read share that read; a failed read is not kept; `invalidate()` (a run
 * finished) makes the next request read again. `GET /cohort` and the workspace's worklist both keep their view so.
 */
export class SharedRead<T> {
  private cached?: Promise<T>;

  constructor(private readonly read: () => Promise<T>) {}

  get(): Promise<T> {
    if (!this.cached) {
      const reading = this.read();
      this.cached = reading;
      reading.catch(() => {
        if (this.cached === reading) {
          this.cached = undefined;
        }
      });
    }
    return this.cached;
  }

  /** The value if one is read or being read, without starting a read. */
  peek(): Promise<T> | undefined {
    return this.cached;
  }

  /** The record may have changed (a run finished): the next request reads it again. */
  invalidate(): void {
    this.cached = undefined;
  }
}
