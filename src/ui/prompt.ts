// Asks the person at the terminal: yes/no questions and free answers (the Prompter).
import { createInterface } from "node:readline";
import { interrupted } from "../errors.js";

export interface Prompter {
  /** Whether a person can answer (stdin and stdout are terminals). */
  readonly interactive: boolean;
  confirm(question: string, defaultAnswer?: boolean): Promise<boolean>;
  ask(question: string): Promise<string>;
  /**
   * One of `choices` (their values); the default when the answer is empty. Optional: a Prompter
   * without it is asked through `ask` with the choices listed (see chooseWith).
   */
  choose?(question: string, choices: Choice[], defaultValue: string): Promise<string>;
}

export interface Choice {
  value: string;
  label: string;
  hint?: string;
}

/** Asks for one choice: the prompter's own list when it has one, else a typed answer. */
export async function chooseWith(
  prompt: Prompter,
  question: string,
  choices: Choice[],
  defaultValue: string,
): Promise<string> {
  if (prompt.choose) return prompt.choose(question, choices, defaultValue);
  const listed = choices.map((c) => c.value).join(", ");
  const answer = await prompt.ask(`${question} (${listed}) [${defaultValue}]`);
  return answer === "" ? defaultValue : answer;
}

/**
 * Asks on the terminal. `CROSSNIX_ASSUME_TTY=1` makes piped stdin count as a terminal, so e2e
 * tests can answer prompts by writing lines to the real process.
 */
export function terminalPrompter(
  input: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin,
  output: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Prompter {
  const interactive = env["CROSSNIX_ASSUME_TTY"] === "1" || Boolean(input.isTTY && process.stdout.isTTY);
  let lines: AsyncIterator<string> | undefined;
  const nextLine = async (question: string): Promise<string> => {
    output.write(question);
    lines ??= createInterface({ input, terminal: false })[Symbol.asyncIterator]();
    const next = await lines.next();
    return next.done ? "" : next.value;
  };
  return {
    interactive,
    async confirm(question, defaultAnswer = false) {
      if (!interactive) return false;
      const answer = (await nextLine(`${question} ${defaultAnswer ? "[Y/n]" : "[y/N]"} `)).trim().toLowerCase();
      if (answer === "") return defaultAnswer;
      return answer === "y" || answer === "yes";
    },
    async ask(question) {
      if (!interactive) return "";
      return (await nextLine(`${question} `)).trim();
    },
    async choose(question, choices, defaultValue) {
      if (!interactive) return defaultValue;
      // A real terminal gets @clack/prompts' list; piped input (CROSSNIX_ASSUME_TTY) types the value.
      if (input.isTTY && output.isTTY) {
        const { select, isCancel } = await import("@clack/prompts");
        const picked = await select({
          message: question,
          options: choices.map((c) => ({ value: c.value, label: c.label, ...(c.hint ? { hint: c.hint } : {}) })),
          initialValue: defaultValue,
          output: output as NodeJS.WriteStream,
        });
        if (isCancel(picked)) throw interrupted(question);
        return picked;
      }
      const answer = (
        await nextLine(`${question} (${choices.map((c) => c.value).join(", ")}) [${defaultValue}] `)
      ).trim();
      return answer === "" ? defaultValue : answer;
    },
  };
}
