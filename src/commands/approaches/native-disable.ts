// `crossnix native disable`: builder.state = "disabled", daemon restarted, checked.
import { nativeChangeHandler } from "./render-native.js";

export default nativeChangeHandler("disabled");
