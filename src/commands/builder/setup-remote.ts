import type { Handler } from "../../context.js";
import { CrossnixError } from "../../errors.js";

const setupRemote: Handler = async () => {
  throw new CrossnixError("UNSUPPORTED", "builder setup-remote is not available yet");
};

export default setupRemote;
