// `crossnix builder enable <name>`: puts a disabled builder back into the machines file.
import { setEnabledCommand } from "./render-enabled.js";

export default setEnabledCommand(true);
