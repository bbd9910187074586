/** A setting's value from the environment, with the variable that set it. */
export interface EnvValue {
  /** The variable that set the key, named in problems so the user knows where to look. */
  name: string;
  value: unknown;
}

/** Where each setting came from, so a problem can point at the variable or the file line. */
export interface Origins {
  lines: ReadonlyMap<string, number>;
  env: ReadonlyMap<string, EnvValue>;
}

/** A problem with a value set by an environment variable: the key, then where it came from. */
export function fromEnvironment(path: string, variable: string, message: string): string {
  return `${path} (from environment variable ${variable}): ${message}`;
}

// "event_types[2].name" → "event_types[2]" → "event_types"; "a.b" → "a".
function parentOf(path: string): string | undefined {
  const match = /^(.+?)(\[\d+\]|\.[^.[\]]+)$/.exec(path);
  return match?.[1];
}

/** Collects every problem (not only the first) in the one-line format of API.md §10. */
export class Problems {
  readonly list: string[] = [];

  constructor(private readonly origins: Origins) {}

  add(path: string, message: string): void {
    // A list element or a missing key has no line of its own: its nearest enclosing key or
    // table header is where the user has to look.
    for (let at: string | undefined = path; at !== undefined; at = parentOf(at)) {
      const fromEnv = this.origins.env.get(at);
      if (fromEnv !== undefined) {
        this.list.push(fromEnvironment(path, fromEnv.name, message));
        return;
      }
      const line = this.origins.lines.get(at);
      if (line !== undefined) {
        this.list.push(`${path}: ${message} (line ${line})`);
        return;
      }
    }
    this.list.push(`${path}: ${message}`);
  }
}
