// The macOS side of a Lima VM: where Lima keeps it, who owns it, and whether its SSH port answers.
import net from "node:net";
import path from "node:path";
import { CrossnixError } from "../../errors.js";
import type { Host } from "../system/host.js";

/** Lima VMs as builders are a macOS thing; elsewhere say what works instead. */
export function requireMac(host: Host): void {
  if (host.platform === "darwin") return;
  throw new CrossnixError("UNSUPPORTED", `crossnix vm manages Lima VMs on macOS; this is ${host.platform}`, {
    hint:
      host.platform === "linux"
        ? "on Linux build other systems with crossnix emulate enable, or add a remote builder: crossnix builder add user@host"
        : "add a remote builder: crossnix builder add user@host",
    nothingWritten: true,
  });
}

/** LIMA_HOME, else ~/.lima of this user (docs/lima.md#ssh). */
export function limaHomeOf(host: Host): string {
  const env = host.env["LIMA_HOME"];
  return env && path.isAbsolute(env) ? env : path.join(host.homeDir, ".lima");
}

/** The user who owns the VMs: Lima runs as them, never as root. */
export function vmOwner(host: Host): string {
  return (
    host.env["LIMA_STANDIN_AS_USER"] ?? host.env["SUDO_USER"] ?? host.env["USER"] ?? host.env["LOGNAME"] ?? "unknown"
  );
}

/** Whether something accepts TCP connections on 127.0.0.1:<port> (within `timeoutMs`). */
export function portAnswers(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Whether an SSH server greets on 127.0.0.1:<port>: its banner starts "SSH-". */
export function sshAnswers(port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    let data = "";
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on("data", (d) => {
      data += d.toString("latin1");
      if (data.length >= 4) done(data.startsWith("SSH-"));
    });
    socket.once("error", () => done(false));
    socket.once("end", () => done(false));
  });
}

/** Waits until SSH greets on the port, or fails after `timeoutMs`. */
export async function waitForSsh(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await sshAnswers(port)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new CrossnixError(
    "SSH",
    `no SSH server answered on 127.0.0.1:${port} within ${Math.round(timeoutMs / 1000)} s`,
    {
      hint: "crossnix vm status shows what Lima says about the VM",
    },
  );
}
