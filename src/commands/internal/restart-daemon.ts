// Internal command a plan runs to restart nix-daemon on Linux without systemd.
import type { Handler } from "../../context.js";
import { CrossnixError } from "../../errors.js";
import { findDaemonProcess, restartDaemonProcess } from "../../host/nix/daemon.js";

/** Plan command for Linux without systemd: restart the running nix-daemon as it was started. */
const restartDaemon: Handler = async () => {
  const daemon = await findDaemonProcess();
  if (!daemon) throw new CrossnixError("NOT_FOUND", "no running nix-daemon to restart");
  const pid = await restartDaemonProcess(daemon);
  return { json: { old: daemon.pid, pid }, text: `restarted nix-daemon (pid ${daemon.pid} → ${pid})` };
};

export default restartDaemon;
