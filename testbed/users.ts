// Unix users and groups of the test bed, created idempotently (and one at a time: useradd
// locks /etc/passwd, so parallel calls would fail).
import * as fs from "node:fs";
import { check } from "./proc.js";

export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export function lookupUser(name: string): UserInfo | undefined {
  for (const line of fs.readFileSync("/etc/passwd", "utf8").split("\n")) {
    const f = line.split(":");
    if (f[0] === name && f.length >= 7) {
      return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! };
    }
  }
  return undefined;
}

function groupMembers(group: string): string[] | undefined {
  for (const line of fs.readFileSync("/etc/group", "utf8").split("\n")) {
    const f = line.split(":");
    if (f[0] === group) return (f[3] ?? "").split(",").filter(Boolean);
  }
  return undefined;
}

let queue: Promise<unknown> = Promise.resolve();

function serial<T>(fn: () => Promise<T>): Promise<T> {
  const next = queue.then(fn, fn);
  queue = next.catch(() => {});
  return next;
}

/**
 * Make sure `name` exists with a home under /home, login shell /bin/bash (the noisyShell
 * fault relies on bash sourcing ~/.bashrc for commands run by sshd), no usable password but
 * not "locked" ('*', so sshd accepts key logins even without PAM), and membership of `groups`
 * (created as system groups if missing).
 */
export function ensureUser(name: string, groups: string[] = []): Promise<UserInfo> {
  return serial(async () => {
    for (const g of groups) {
      if (groupMembers(g) === undefined) await check(["groupadd", "--force", "--system", g]);
    }
    let u = lookupUser(name);
    if (!u) {
      await check(["useradd", "--create-home", "--home-dir", `/home/${name}`, "--shell", "/bin/bash", name]);
      await check(["usermod", "-p", "*", name]);
      u = lookupUser(name);
      if (!u) throw new Error(`useradd ${name} did not create the user`);
    }
    if (u.shell !== "/bin/bash") {
      await check(["usermod", "-s", "/bin/bash", name]);
      u = { ...u, shell: "/bin/bash" };
    }
    for (const g of groups) {
      if (!groupMembers(g)?.includes(name)) await check(["usermod", "-a", "-G", g, name]);
    }
    // The home is a bind-mount target inside namespaces; it must exist on the host.
    fs.mkdirSync(u.home, { recursive: true, mode: 0o700 });
    return u;
  });
}
