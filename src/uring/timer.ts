// The loop's single wake-up timer on the ring: ONE IORING_OP_TIMEOUT (absolute,
// CLOCK_MONOTONIC, kernel >= 5.4) for the earliest deadline, moved with a timeout update
// (kernel >= 5.11) when the deadline changes, removed when the loop stops.
//
// States: idle -> armed(slot, deadline) -> fired (-ETIME) | removed (-ECANCELED) -> idle.
// An update or remove that loses the race against the firing completes with -ENOENT
// (fire-and-forget, ignored); the firing CQE then clears the armed state as usual.
import type { OpHandler, Ring } from "./ring.js";
import { OP_TIMEOUT, OP_TIMEOUT_REMOVE, IORING_TIMEOUT_ABS, IORING_TIMEOUT_UPDATE, NO_OP_INDEX, S_LEN } from "./native.js";
import { toTimespec } from "../clock.js";
import { errno } from "../system-error.js";

const { ETIME } = errno;

export class RingTimer implements OpHandler {
  private slot = -1;
  deadline: number | null = null;
  /** Timer ops whose final CQE has not arrived (the armed one and removed ones in flight). */
  held = 0;

  constructor(
    private readonly ring: Ring,
    private readonly onFire: () => void,
  ) {}

  set(whenMs: number | null): void {
    if (whenMs === this.deadline) return;
    if (whenMs === null) {
      this.ring.stageTargeted(OP_TIMEOUT_REMOVE, NO_OP_INDEX, this.slot, 0);
      this.slot = -1;
      this.deadline = null;
      return;
    }
    const [sec, nsec] = toTimespec(whenMs);
    if (this.slot >= 0) {
      const off = this.ring.stageTargeted(OP_TIMEOUT_REMOVE, NO_OP_INDEX, this.slot, IORING_TIMEOUT_UPDATE | IORING_TIMEOUT_ABS);
      this.ring.setTimespec(off, sec, nsec);
    } else {
      this.slot = this.ring.alloc(this);
      this.held++;
      const off = this.ring.stageRecord(OP_TIMEOUT, this.slot, -1);
      this.ring.setField(off, 4 /* S_FLAGS */, IORING_TIMEOUT_ABS);
      this.ring.setField(off, S_LEN, 0);
      this.ring.setTimespec(off, sec, nsec);
    }
    this.deadline = whenMs;
  }

  _complete(res: number, _flags: number, slot: number): void {
    this.held--;
    if (slot !== this.slot) return; // an earlier timer that was removed
    this.slot = -1;
    this.deadline = null;
    if (res === -ETIME || res >= 0) this.onFire();
  }
}
