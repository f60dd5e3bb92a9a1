// `crossnix builder disable <name>`: comments a builder out of the machines file, keeping its line.
import { setEnabledCommand } from "./render-enabled.js";

export default setEnabledCommand(false);
