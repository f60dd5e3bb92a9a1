// `crossnix native status`: what config.json asks, what Nix uses, and why they differ.
import { nativeStatusHandler } from "./render-native.js";

export default nativeStatusHandler;
