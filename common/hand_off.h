// Giving the CPU to the reader a write just woke.
//
// A write to a socket or pipe wakes its reader "synchronously": the kernel
// expects the writer to block soon, prefers to queue the reader on the
// writer's CPU, and does not preempt the writer for it. An event's next hop
// then waits for whatever the writer does next, even with the other CPU
// idle: on the reference VM, `berthctl events` waited 80-90 us for berthd's
// record save and ack after the fan-out (ftrace). With berthd and berthctl
// handing off, bench/exit-latency's median fell by ~50 us (1.195 -> 1.145 ms,
// ten alternating runs).
//
// handOffCpu() runs what is queued on this CPU first; with nothing else
// runnable it returns at once (one syscall). Call it right after an event's
// write, before the work that can wait.
#pragma once

namespace berth {

void handOffCpu();

}  // namespace berth
