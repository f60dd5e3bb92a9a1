# A probe derivation for aarch64-linux that needs no nixpkgs: the builder is Debian's static
# arm64 busybox (scripts/install-test-deps.sh puts it at
# /var/cache/crossnix-testbed/busybox-arm64/bin/busybox). The directory is imported as a path,
# so the builder is /nix/store/…-busybox-arm64/bin/busybox and argv[0] is `busybox`, which
# makes busybox take its applet from the first argument ("sh").
#
# On an x86_64 machine it only builds where binfmt_misc runs it through qemu-aarch64 and Nix
# has aarch64-linux in `system` or `extra-platforms`.
#
#   nix-build tests/testbed/nix/aarch64-linux.nix --argstr nonce "$(date +%s%N)" \
#     --arg busybox /var/cache/crossnix-testbed/busybox-arm64 --no-out-link
#
# Output: the same key=value lines as x86_64-linux.nix (machine= is what `uname -m` says
# under emulation: aarch64).
{
  nonce,
  busybox ? /var/cache/crossnix-testbed/busybox-arm64,
  features ? [ ],
  sleep ? 0,
  name ? "crossnix-probe",
  # Store paths / derivations the build depends on (recorded as inputs=…), e.g. to make the
  # remote side receive an input-addressed path it does not have.
  inputs ? [ ],
}:
let
  bb = "${busybox}/bin/busybox";
in
derivation {
  name = "${name}-aarch64-linux";
  system = "aarch64-linux";
  builder = bb;
  requiredSystemFeatures = features;
  inherit nonce;
  inputs = map toString inputs;
  args = [
    "sh"
    "-c"
    ''
      set -e
      bb=${bb}
      $bb sleep ${toString sleep}
      {
        echo "system=aarch64-linux"
        echo "machine=$($bb uname -m)"
        echo "nonce=$nonce"
        echo "inputs=$inputs"
        echo "user=$($bb id -un)"
        echo "uid=$($bb id -u)"
        echo "host=$($bb hostname)"
      } > "$out"
      echo "crossnix-probe built by $($bb id -un) on $($bb uname -m)"
    ''
  ];
}
