// Parses a builder destination (`[ssh://|ssh-ng://][user@]host[:port]`) and names a builder after it.
import { badInput } from "../../errors.js";

export type BuilderProtocol = "ssh-ng" | "ssh";

export interface Destination {
  protocol: BuilderProtocol | null;
  user: string | null;
  host: string;
  port: number | null;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Parses `[ssh://|ssh-ng://][user@]host[:port]` (IPv6 as `[addr]:port`). */
export function parseDestination(text: string): Destination {
  const fail = (why: string): never => {
    throw badInput(
      "destination",
      text,
      why,
      "expected [ssh://|ssh-ng://][user@]host[:port], e.g. builder@build-box.lan:2222",
    );
  };
  let rest = text.trim();
  let protocol: BuilderProtocol | null = null;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest);
  if (scheme) {
    const name = scheme[1]!.toLowerCase();
    if (name !== "ssh" && name !== "ssh-ng")
      return fail(`unsupported scheme '${name}://' (crossnix manages ssh:// and ssh-ng:// builders)`);
    protocol = name;
    rest = rest.slice(scheme[0].length);
  }
  if (rest === "") return fail("no host");
  if (/[/?#\s]/.test(rest)) return fail("a destination has no path, query or spaces");
  let user: string | null = null;
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (!USER.test(user)) return fail(`'${user}' is not a valid user name`);
  }
  let host = rest;
  let portText: string | null = null;
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::(.*))?$/.exec(rest);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2] ?? null;
  } else if ((rest.match(/:/g) ?? []).length === 1) {
    [host, portText] = rest.split(":") as [string, string];
  } else if (rest.includes(":")) {
    return fail("write an IPv6 address in brackets, e.g. [fd00::1]:22");
  }
  if (!bracketed && !HOSTNAME.test(host) && !IPV4.test(host)) return fail(`'${host}' is not a host name or address`);
  let port: number | null = null;
  if (portText !== null) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      return fail(`port '${portText}' is not a number from 1 to 65535`);
    }
    port = Number(portText);
  }
  return { protocol, user, host, port };
}

export function defaultBuilderName(destination: Destination): string {
  const base = destination.host.replace(/[^A-Za-z0-9.-]/g, "-").replace(/^[.-]+/, "");
  return `${base || "builder"}${destination.port && destination.port !== 22 ? `-${destination.port}` : ""}`;
}
