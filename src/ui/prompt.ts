// Asks the person at the terminal: yes/no questions and free answers (the Prompter).
import { createInterface } from "node:readline";

export interface Prompter {
  /** Whether a person can answer (stdin and stdout are terminals). */
  readonly interactive: boolean;
  confirm(question: string, defaultAnswer?: boolean): Promise<boolean>;
  ask(question: string): Promise<string>;
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
  };
}
