import type { Clock } from '../../lambdas/domain/ports';

/** A clock that moves only when the test says so. */
export class ManualClock implements Clock {
  private at: number;
  constructor(start: Date) {
    this.at = start.getTime();
  }
  now(): Date {
    return new Date(this.at);
  }
  advance(ms: number): void {
    this.at += ms;
  }
}
