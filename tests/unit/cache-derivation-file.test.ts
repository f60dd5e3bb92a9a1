// .drv files read in-process (what `cache check` walks instead of `nix show-derivation -r`), against
// real Nix 2.8 output: the files nix-instantiate wrote and show-derivation's JSON for the same closure.
import { describe, expect, it } from "vitest";
import { derivationNodes, parseDerivationGraph } from "../../src/core/caches/closure.js";
import { parseDerivationFile } from "../../src/core/nix/derivation-file.js";

// nix-instantiate (Nix 2.8.0) of a two-output aarch64-linux derivation with required features, an
// argument with quotes, tab and newline escapes, and an env value with a backslash, over one input.
const TOP_DRV = "/nix/store/bszgl1nfgyjdry870i0f57zcw2ixnb25-cx13-top.drv";
const DEP_DRV = "/nix/store/9d860ir6mgjm0rc64scd2ip5pc9df2r6-cx13-dep.drv";
const TOP =
  'Derive([("doc","/nix/store/2haikss0jcciwr8g217ycs4l9y6kv7fn-cx13-top-doc","",""),("out","/nix/store/rmdpa08wqfrfi6xjav1s70jq50laj2wn-cx13-top","","")],[("/nix/store/9d860ir6mgjm0rc64scd2ip5pc9df2r6-cx13-dep.drv",["out"])],[],"aarch64-linux","/bin/sh",["-c","printf \'a \\"quoted\\"\\\\tline\\\\n\' > $out; cat /nix/store/mrg474fpfzadx5c13gqimbff6j3007pd-cx13-dep >> $out"],[("builder","/bin/sh"),("doc","/nix/store/2haikss0jcciwr8g217ycs4l9y6kv7fn-cx13-top-doc"),("name","cx13-top"),("note","back\\\\slash"),("out","/nix/store/rmdpa08wqfrfi6xjav1s70jq50laj2wn-cx13-top"),("outputs","out doc"),("requiredSystemFeatures","big-parallel kvm"),("system","aarch64-linux")])';
const DEP =
  'Derive([("out","/nix/store/mrg474fpfzadx5c13gqimbff6j3007pd-cx13-dep","","")],[],[],"x86_64-linux","/bin/sh",["-c","echo dep > $out"],[("builder","/bin/sh"),("name","cx13-dep"),("out","/nix/store/mrg474fpfzadx5c13gqimbff6j3007pd-cx13-dep"),("system","x86_64-linux")])';
// nix show-derivation -r of TOP_DRV, same machine.
const SHOWN =
  '{"/nix/store/9d860ir6mgjm0rc64scd2ip5pc9df2r6-cx13-dep.drv": {"outputs": {"out": {"path": "/nix/store/mrg474fpfzadx5c13gqimbff6j3007pd-cx13-dep"}}, "inputSrcs": [], "inputDrvs": {}, "system": "x86_64-linux", "builder": "/bin/sh", "args": ["-c", "echo dep > $out"], "env": {"builder": "/bin/sh", "name": "cx13-dep", "out": "/nix/store/mrg474fpfzadx5c13gqimbff6j3007pd-cx13-dep", "system": "x86_64-linux"}}, "/nix/store/bszgl1nfgyjdry870i0f57zcw2ixnb25-cx13-top.drv": {"outputs": {"doc": {"path": "/nix/store/2haikss0jcciwr8g217ycs4l9y6kv7fn-cx13-top-doc"}, "out": {"path": "/nix/store/rmdpa08wqfrfi6xjav1s70jq50laj2wn-cx13-top"}}, "inputSrcs": [], "inputDrvs": {"/nix/store/9d860ir6mgjm0rc64scd2ip5pc9df2r6-cx13-dep.drv": ["out"]}, "system": "aarch64-linux", "builder": "/bin/sh", "args": ["-c", "printf \'a \\"quoted\\"\\\\tline\\\\n\' > $out; cat /nix/store/mrg474fpfzadx5c13gqimbff6j3007pd-cx13-dep >> $out"], "env": {"builder": "/bin/sh", "doc": "/nix/store/2haikss0jcciwr8g217ycs4l9y6kv7fn-cx13-top-doc", "name": "cx13-top", "note": "back\\\\slash", "out": "/nix/store/rmdpa08wqfrfi6xjav1s70jq50laj2wn-cx13-top", "outputs": "out doc", "requiredSystemFeatures": "big-parallel kvm", "system": "aarch64-linux"}}}';

describe("derivation files", () => {
  it("reads outputs by name, inputs, system and required features from Nix's ATerm", () => {
    const file = parseDerivationFile(TOP);
    expect(file).not.toBeNull();
    expect([...(file?.outputs ?? [])]).toEqual([
      ["doc", "/nix/store/2haikss0jcciwr8g217ycs4l9y6kv7fn-cx13-top-doc"],
      ["out", "/nix/store/rmdpa08wqfrfi6xjav1s70jq50laj2wn-cx13-top"],
    ]);
    expect([...(file?.inputDrvs ?? [])]).toEqual([[DEP_DRV, ["out"]]]);
    expect(file?.system).toBe("aarch64-linux");
    expect(file?.features).toEqual(["big-parallel", "kvm"]);
  });

  it("gives the same graph as nix show-derivation -r", () => {
    const files = new Map([
      [TOP_DRV, parseDerivationFile(TOP)],
      [DEP_DRV, parseDerivationFile(DEP)],
    ]);
    for (const f of files.values()) expect(f).not.toBeNull();
    const ours = derivationNodes(files as Map<string, NonNullable<ReturnType<typeof parseDerivationFile>>>);
    expect(ours).toEqual(parseDerivationGraph(SHOWN));
  });

  it("refuses what it does not read rather than guessing", () => {
    expect(parseDerivationFile('DrvWithVersion("xp-dyn-drv",[],[],[],"x","/bin/sh",[],[])')).toBeNull();
    expect(parseDerivationFile(TOP.slice(0, -1))).toBeNull();
    expect(parseDerivationFile(`${TOP}x`)).toBeNull();
    expect(
      parseDerivationFile('Derive([("out","/nix/store/x","","")],[],[],"x86_64-linux","/bin/sh",["unterminated],[])'),
    ).toBeNull();
  });
});
