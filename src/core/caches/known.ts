// Caches crossnix knows by name, with their published keys, and `cachix:NAME`.

export interface KnownCache {
  /** The name `cache add` accepts. */
  name: string;
  url: string;
  keys: string[];
  /** Needs credentials (a netrc entry) to be read at all. */
  needsAuth: boolean;
  /** Where the keys are published (docs/binary-caches.md#known-caches). */
  source: string;
}

/** docs/binary-caches.md#known-caches */
export const KNOWN_CACHES: readonly KnownCache[] = [
  {
    name: "nixos",
    url: "https://cache.nixos.org",
    keys: ["cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="],
    needsAuth: false,
    source: "Nix's default trusted-public-keys",
  },
  {
    name: "nix-community",
    url: "https://nix-community.cachix.org",
    keys: ["nix-community.cachix.org-1:mB9FSh9qf2dCimDSUo8Zy7bkq5CX+/rkCWyvRCYg3Fs="],
    needsAuth: false,
    source: "https://nix-community.org/cache/",
  },
  {
    name: "flakehub",
    url: "https://cache.flakehub.com",
    keys: [
      "cache.flakehub.com-3:hJuILl5sVK4iKm86JzgdXW12Y2Hwd5G07qKtHTOcDCM=",
      "cache.flakehub.com-4:Asi8qIv291s0aYLyH6IOnr5Kf6+OF14WVjkE6t3xMio=",
      "cache.flakehub.com-5:zB96CRlL7tiPtzA9/WKyPkp3A2vqxqgdgyTVNGShPDU=",
      "cache.flakehub.com-6:W4EGFwAGgBj3he7c5fNh9NkOXw0PUVaxygCVKeuvaqU=",
      "cache.flakehub.com-7:mvxJ2DZVHn/kRxlIaxYNMuDG1OvMckZu32um1TadOR8=",
      "cache.flakehub.com-8:moO+OVS0mnTjBTcOUh2kYLQEd59ExzyoW1QgQ8XAARQ=",
      "cache.flakehub.com-9:wChaSeTI6TeCuV/Sg2513ZIM9i0qJaYsF+lZCXg0J6o=",
      "cache.flakehub.com-10:2GqeNlIp6AKp4EF2MVbE1kBOp9iBSyo0UPR9KoR0o1Y=",
    ],
    needsAuth: true,
    source: "the nix.conf Determinate Nix generates",
  },
];

/** A Cachix cache name: what cachix.org accepts as a subdomain (lower-case letters, digits, '-'). */
export function cachixNameProblem(name: string): string | null {
  if (name === "") return "the name after 'cachix:' is empty";
  if (name.length > 63) return "a Cachix name is at most 63 characters";
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name)) {
    return "a Cachix name is lower-case letters, digits and '-', starting and ending with a letter or digit";
  }
  return null;
}

/** The key name Cachix signs a cache's paths with. */
export function cachixKeyName(name: string): string {
  return `${name}.cachix.org-1`;
}
