/** A lease on one job: proof, checked in Lua by token, that this holder may finish it. */
export class Lease {
  constructor(
    readonly id: string,
    readonly token: string,
    public deadline: number,
  ) {}

  /** False once the deadline passed: another holder may have the job by now. */
  isValid(now: number): boolean {
    return now < this.deadline;
  }
}
