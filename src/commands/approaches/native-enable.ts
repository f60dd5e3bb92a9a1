// `crossnix native enable`: builder.state = "enabled", daemon restarted, checked.
import { nativeChangeHandler } from "./render-native.js";

export default nativeChangeHandler("enabled");
