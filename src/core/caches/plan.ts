// Plans `cache add` and `cache remove`: nix.conf words, the netrc entry, crossnix's record, a daemon restart.
import { type NixConf, renderNixConf } from "../formats/nix-conf.js";
import { emptyPlan, type Plan, type PlanCommand } from "../plan/plan.js";
import { addTokens, removeTokens } from "./conf-tokens.js";
import { removeNetrcEntry, setNetrcEntry } from "./netrc.js";
import { type CacheRecord, cacheRecordPath } from "./record.js";
import { sameSubstituter } from "./substituters.js";

export interface CachePlanInputs {
  settings: { path: string; text: string | null; model: NixConf };
  /** The netrc file the daemon reads (`netrc-file`), when an entry is written or removed. */
  netrc: { path: string; text: string | null } | null;
  /** Substituters the daemon already uses for every build, and those it lets builds ask for (every file it reads). */
  effectiveSubstituters: string[];
  effectiveTrustedSubstituters?: string[];
  /** Keys the daemon already trusts. */
  effectiveKeys: string[];
  readOnlyReason: string | null;
  flavor: string;
  daemonReload: PlanCommand | null;
  now: Date;
  /** The record of an earlier `cache add` of the same URL, replaced by this one. */
  existingRecord?: { text: string; record: CacheRecord | null } | null;
}

export interface NewCache {
  url: string;
  keys: string[];
  optional: boolean;
  netrc: { host: string; login: string; password: string } | null;
}

const COMMENT = "crossnix: binary caches the daemon uses (crossnix cache add)";
const KEYS_COMMENT = "crossnix: keys those caches sign with (crossnix cache add)";

export function planAddCache(inputs: CachePlanInputs, cache: NewCache): { plan: Plan; record: CacheRecord } {
  const plan = emptyPlan(`Add binary cache ${cache.url}${cache.optional ? " (trusted, used when a build asks)" : ""}`);
  const setting = cache.optional ? "extra-trusted-substituters" : "extra-substituters";
  // Adding the same cache again keeps what the first add wrote as crossnix's to remove.
  const earlier = inputs.existingRecord?.record ?? null;
  // An optional cache is there when any build may ask for it; a required one only when every build uses it.
  const present = cache.optional
    ? [...inputs.effectiveSubstituters, ...(inputs.effectiveTrustedSubstituters ?? [])]
    : inputs.effectiveSubstituters;
  const urlAdded = !present.some((s) => sameSubstituter(s, cache.url));
  const keysAdded = cache.keys.filter((k) => !inputs.effectiveKeys.includes(k));
  const recordedKeys = [...new Set([...(earlier?.keysAdded ?? []), ...keysAdded])];
  const record: CacheRecord = {
    url: cache.url,
    settingsFile: inputs.settings.path,
    setting,
    urlAdded: urlAdded || (earlier?.urlAdded ?? false),
    keysAdded: recordedKeys,
    netrc:
      cache.netrc && inputs.netrc
        ? {
            file: inputs.netrc.path,
            host: cache.netrc.host,
            login: cache.netrc.login,
            created: inputs.netrc.text === null,
          }
        : (earlier?.netrc ?? null),
    addedAt: inputs.now.toISOString(),
  };
  if (inputs.readOnlyReason) {
    plan.notes.push(
      `${inputs.readOnlyReason}.\nAdd this to your configuration and rebuild:\n\n${nixSnippet(inputs.flavor, setting, cache)}`,
    );
    return { plan, record };
  }
  let conf = inputs.settings.model;
  if (urlAdded) conf = addTokens(conf, setting, [cache.url], COMMENT);
  if (keysAdded.length > 0) conf = addTokens(conf, "extra-trusted-public-keys", keysAdded, KEYS_COMMENT);
  const after = renderNixConf(conf);
  const settingsChanged = after !== (inputs.settings.text ?? "");
  if (settingsChanged) {
    plan.files.push({
      path: inputs.settings.path,
      before: inputs.settings.text,
      after,
      mode: 0o644,
      reason: "substituter and its public key",
    });
  }
  let netrcChanged = false;
  if (cache.netrc && inputs.netrc) {
    const before = inputs.netrc.text;
    const netrcAfter = setNetrcEntry(before ?? "", cache.netrc.host, cache.netrc);
    netrcChanged = netrcAfter !== (before ?? "");
    if (inputs.flavor === "determinate") {
      // determinate-nixd owns its netrc and reads extra credentials only from
      // additionalNetrcSources in /etc/determinate/config.json (docs/binary-caches.md#daemon-settings).
      plan.notes.push(
        `Determinate Nix manages ${inputs.netrc.path} itself and may rewrite it without this entry: for credentials that last, list a netrc of your own under "authentication": { "additionalNetrcSources": [ … ] } in /etc/determinate/config.json and restart the daemon (it reads those files only when it starts; docs/binary-caches.md#determinate-netrc).`,
      );
    }
    // Credentials are never shown (secret) and only root reads the file (0600).
    if (netrcChanged) {
      plan.files.push({
        path: inputs.netrc.path,
        before,
        after: netrcAfter,
        mode: 0o600,
        reason: `credentials for ${cache.netrc.host}`,
        secret: true,
      });
    }
  }
  if (!settingsChanged && !netrcChanged) return { plan, record };
  plan.files.push({
    path: cacheRecordPath(cache.url),
    before: inputs.existingRecord?.text ?? null,
    after: `${JSON.stringify(record, null, 2)}\n`,
    mode: 0o644,
    reason: "what crossnix wrote, for cache remove",
  });
  restartDaemon(plan, inputs);
  return { plan, record };
}

export function planRemoveCache(
  inputs: CachePlanInputs,
  record: CacheRecord,
  recordText: string,
  keysStillUsed: ReadonlySet<string>,
): Plan {
  const plan = emptyPlan(`Remove binary cache ${record.url}`);
  let conf = inputs.settings.model;
  if (record.urlAdded) conf = removeTokens(conf, record.setting, [record.url]);
  const keys = record.keysAdded.filter((k) => !keysStillUsed.has(k));
  if (keys.length > 0) conf = removeTokens(conf, "extra-trusted-public-keys", keys);
  const after = renderNixConf(conf);
  if (after !== (inputs.settings.text ?? "")) {
    plan.files.push({
      path: inputs.settings.path,
      before: inputs.settings.text,
      after,
      reason: "what cache add wrote",
    });
  }
  if (record.netrc && inputs.netrc?.text) {
    const left = removeNetrcEntry(inputs.netrc.text, record.netrc.host, record.netrc.login);
    // A netrc that add created goes away again once its last entry does.
    const netrcAfter = left === "" && record.netrc.created ? null : left;
    if (netrcAfter !== inputs.netrc.text) {
      plan.files.push({
        path: inputs.netrc.path,
        before: inputs.netrc.text,
        after: netrcAfter,
        reason: `credentials for ${record.netrc.host}`,
        secret: true,
      });
    }
  }
  plan.files.push({
    path: cacheRecordPath(record.url),
    before: recordText,
    after: null,
    reason: "crossnix's record of the cache",
  });
  if (plan.files.length > 1) restartDaemon(plan, inputs);
  return plan;
}

function restartDaemon(plan: Plan, inputs: CachePlanInputs): void {
  // The daemon reads nix.conf and netrc settings only at startup (docs/binary-caches.md#daemon-settings).
  if (inputs.daemonReload) plan.commands.push(inputs.daemonReload);
  else plan.notes.push("Restart the Nix daemon so it reads the new settings.");
}

function nixSnippet(flavor: string, setting: string, cache: NewCache): string {
  const prefix = flavor === "determinate" ? "determinateNix.customSettings" : "nix.settings";
  const list = (items: string[]) => `[ ${items.map((i) => JSON.stringify(i)).join(" ")} ]`;
  return [
    `${prefix}.${setting} = ${list([cache.url])};`,
    ...(cache.keys.length > 0 ? [`${prefix}.extra-trusted-public-keys = ${list(cache.keys)};`] : []),
    ...(cache.netrc ? [`# and a netrc entry for ${cache.netrc.host} in the file named by netrc-file`] : []),
  ].join("\n");
}
