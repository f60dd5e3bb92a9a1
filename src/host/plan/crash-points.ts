// Named places in the plan runner where a test stops crossnix on purpose, so crash safety is tested
// at every step instead of by racing a timer: CROSSNIX_TEST_CRASH_AT=<point> SIGKILLs the process
// there, CROSSNIX_TEST_STOP_AT=<point> SIGSTOPs it (the test then kills it when it chooses).
// Points: locked, backup:<i>, journal, temp:<i>, rename:<i>, commands, finished.

export function crashPoint(name: string): void {
  if (process.env["CROSSNIX_TEST_STOP_AT"] === name) process.kill(process.pid, "SIGSTOP");
  if (process.env["CROSSNIX_TEST_CRASH_AT"] === name) process.kill(process.pid, "SIGKILL");
}
