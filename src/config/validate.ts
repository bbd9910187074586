// Merges defaults, the parsed file and env overrides key by key, checking each value where it
// is read so every problem can name its key and source. Returns all problems, never the first.
import { type Table, checkValue, isTable } from "./checks";
import { DEFAULTS, JWT_DEFAULTS } from "./defaults";
import { formatDuration } from "../lib/duration.ts";
import type { EnvValue } from "./env";
import { readEventTypes } from "./event-types";
import { Problems } from "./problems";
import { SECTION_NAMES, SPEC, type SectionName, keysOf } from "./schema";
import type { Config } from "./types";

export interface Sources {
  /** The parsed TOML file, or {} when there is none. */
  file: Table;
  lines: ReadonlyMap<string, number>;
  env: ReadonlyMap<string, EnvValue>;
}

export type Validated = { ok: true; config: Config } | { ok: false; problems: string[] };

const TOP_LEVEL = new Set<string>([
  ...SECTION_NAMES.filter((name) => !name.includes(".")),
  "event_types",
]);
const JWT_KEY_SOURCES = ["secret", "public_key", "jwks_file"] as const;

class Reader {
  readonly problems: Problems;
  /** Paths the user set (file or env): only these may be blamed in cross-field checks. */
  readonly explicit = new Set<string>();
  /** Sections already reported as not being tables, so their contents are not blamed too. */
  readonly notTables = new Set<string>();

  constructor(private readonly sources: Sources) {
    this.problems = new Problems(sources);
  }

  /** The section's table in the file; a non-table there is reported and treated as absent. */
  fileTable(section: SectionName): Table | undefined {
    const [outer, inner] = section.split(".") as [string, string | undefined];
    const outerValue = this.sources.file[outer];
    const value =
      inner === undefined ? outerValue : isTable(outerValue) ? outerValue[inner] : undefined;
    if (value === undefined || isTable(value)) return value;
    this.notTables.add(section);
    this.problems.add(section, `must be a table, written [${section}]`);
    return undefined;
  }

  section(section: SectionName, defaults: Table): Table {
    const table = this.fileTable(section);
    const known = SPEC[section] as Record<string, unknown>;
    for (const key of Object.keys(table ?? {})) {
      if (!Object.hasOwn(known, key)) this.problems.add(`${section}.${key}`, "unknown key");
    }
    const out: Table = {};
    for (const [key, kind] of keysOf(section)) {
      if (kind.type === "table") continue;
      const path = `${section}.${key}`;
      const fromEnv = this.sources.env.get(path);
      const raw = fromEnv === undefined ? table?.[key] : fromEnv.value;
      if (raw === undefined) {
        if (defaults[key] !== undefined) out[key] = defaults[key];
        continue;
      }
      this.explicit.add(path);
      const value = checkValue(raw, path, kind, this.problems);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }

  /** [auth.jwt] in the file or any HOOKLINE_AUTH_JWT_* turns JWT auth on. */
  jwtWanted(): boolean {
    const auth = this.sources.file.auth;
    const inFile = isTable(auth) && auth.jwt !== undefined;
    return inFile || [...this.sources.env.keys()].some((path) => path.startsWith("auth.jwt."));
  }
}

function checkDelivery(delivery: Table, reader: Reader): void {
  const { problems, explicit } = reader;
  const {
    concurrency,
    per_webhook_concurrency: perWebhook,
    retry_every: every,
    retry_for: span,
  } = delivery;
  if (
    typeof concurrency === "number" &&
    typeof perWebhook === "number" &&
    perWebhook > concurrency
  ) {
    if (explicit.has("delivery.per_webhook_concurrency")) {
      problems.add(
        "delivery.per_webhook_concurrency",
        `must not exceed delivery.concurrency (${concurrency})`,
      );
    } else {
      problems.add(
        "delivery.concurrency",
        `must be at least delivery.per_webhook_concurrency (${perWebhook})`,
      );
    }
  }
  const everySet = explicit.has("delivery.retry_every");
  const forSet = explicit.has("delivery.retry_for");
  if (everySet !== forSet) {
    const [set, missing] = everySet ? ["retry_every", "retry_for"] : ["retry_for", "retry_every"];
    problems.add(
      `delivery.${set}`,
      `needs delivery.${missing} too: set both delivery.retry_every and delivery.retry_for, or neither`,
    );
  } else if (typeof every === "number" && typeof span === "number" && span < every) {
    problems.add(
      "delivery.retry_for",
      `must be at least delivery.retry_every (${formatDuration(every)})`,
    );
  }
}

function checkJwt(reader: Reader): void {
  const present = JWT_KEY_SOURCES.filter((key) => reader.explicit.has(`auth.jwt.${key}`));
  if (present.length !== 1) {
    const found = present.length === 0 ? "none is set" : `found ${present.join(" and ")}`;
    reader.problems.add(
      "auth.jwt",
      `must set exactly one of secret, public_key or jwks_file (${found})`,
    );
  }
}

export function validate(sources: Sources): Validated {
  const reader = new Reader(sources);
  for (const [key, value] of Object.entries(sources.file)) {
    if (!TOP_LEVEL.has(key))
      reader.problems.add(key, isTable(value) ? "unknown section" : "unknown key");
  }
  // A private copy, so freezing the result never freezes the shared defaults.
  const defaults = structuredClone(DEFAULTS) as unknown as Record<string, Table>;
  const config: Record<string, Table | unknown[]> = {};
  for (const section of SECTION_NAMES) {
    if (section === "auth.jwt") continue;
    config[section] = reader.section(section, defaults[section] ?? {});
  }
  const delivery = config.delivery;
  if (isTable(delivery)) checkDelivery(delivery, reader);
  const auth = config.auth;
  if (isTable(auth) && reader.jwtWanted()) {
    const jwt = reader.section("auth.jwt", { ...JWT_DEFAULTS });
    if (!reader.notTables.has("auth.jwt")) checkJwt(reader);
    auth.jwt = jwt;
  }
  config.event_types = readEventTypes(sources.file.event_types, reader.problems);

  const problems = reader.problems.list;
  // Safe: every section was built key by key from SPEC, whose type mirrors Config.
  return problems.length > 0
    ? { ok: false, problems }
    : { ok: true, config: config as unknown as Config };
}
