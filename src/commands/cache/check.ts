// `crossnix cache check <installables…>`: placeholder until the check use case lands.
import type { Handler } from "../../context.js";
import { CrossnixError } from "../../errors.js";

const check: Handler = async () => {
  throw new CrossnixError("UNSUPPORTED", "cache check is not implemented yet");
};

export default check;
