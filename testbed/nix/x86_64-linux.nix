# A probe derivation for x86_64-linux that needs no nixpkgs: the builder is the host's /bin/sh
# (builders run with sandbox = false, so /usr/bin is reachable by absolute path).
#
#   nix-build tests/testbed/nix/x86_64-linux.nix --argstr nonce "$(date +%s%N)" --no-out-link
#
# The output is a text file of key=value lines saying where and on what it was built:
#   system=…  machine=<uname -m>  nonce=…  inputs=…  user=<id -un>  uid=…  host=<hostname>
# The nonce is part of the derivation, so every run with a fresh nonce is a fresh build.
{
  nonce,
  # Extra requiredSystemFeatures, e.g. [ "big-parallel" ] (to test feature matching).
  features ? [ ],
  # Seconds to sleep before writing the output (to test load spreading / timeouts).
  sleep ? 0,
  name ? "crossnix-probe",
  # Store paths / derivations the build depends on (recorded as inputs=…), e.g. to make the
  # remote side receive an input-addressed path it does not have.
  inputs ? [ ],
}:
derivation {
  name = "${name}-x86_64-linux";
  system = "x86_64-linux";
  builder = "/bin/sh";
  requiredSystemFeatures = features;
  inherit nonce;
  inputs = map toString inputs;
  args = [
    "-c"
    ''
      set -e
      /usr/bin/sleep ${toString sleep}
      {
        echo "system=x86_64-linux"
        echo "machine=$(/usr/bin/uname -m)"
        echo "nonce=$nonce"
        echo "inputs=$inputs"
        echo "user=$(/usr/bin/id -un)"
        echo "uid=$(/usr/bin/id -u)"
        echo "host=$(/usr/bin/hostname)"
      } > "$out"
      echo "crossnix-probe built by $(/usr/bin/id -un) on $(/usr/bin/uname -m)"
    ''
  ];
}
