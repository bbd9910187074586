// HOOKLINE_* variables arrive as strings; here they are turned into the shape a TOML file would
// have produced, so validate.ts checks both sources with the same rules and messages.
// A variable is a setting only when it is HOOKLINE_<SECTION>_<KEY> for a known section (plus the
// specials below); within a known section an unknown key is refused like a typo in the file.
import { type EnvValue, fromEnvironment } from "./problems";
import { type Kind, SECTION_NAMES, SPEC, type SectionName, envName, keysOf } from "./schema";

export type { EnvValue };

export interface EnvOverrides {
  /** Keyed by config path, e.g. "server.port". */
  values: Map<string, EnvValue>;
  problems: string[];
}

const PREFIX = "HOOKLINE_";
/** The config file's location: read by resolveConfigPath, not a setting. */
const CONFIG_PATH_VAR = "HOOKLINE_CONFIG";
/** [[event_types]] are tables with schemas: the file only. */
const EVENT_TYPES_PREFIX = "HOOKLINE_EVENT_TYPES";
/** Short alias documented for container deployments; beats both the file and the long form. */
const ROOT_KEY_ALIAS = "HOOKLINE_ROOT_KEY";

function settingsByEnvName(): Map<string, { path: string; kind: Kind }> {
  const byName = new Map<string, { path: string; kind: Kind }>();
  for (const section of SECTION_NAMES) {
    for (const [key, kind] of keysOf(section)) {
      if (kind.type === "table") continue;
      const path = `${section}.${key}`;
      byName.set(envName(path), { path, kind });
    }
  }
  return byName;
}

const SETTINGS = settingsByEnvName();

type Converted = { value: unknown } | { problem: string };

function toList(raw: string): Converted {
  const text = raw.trim();
  if (!text.startsWith("[")) {
    return {
      value: text
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== ""),
    };
  }
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return { problem: 'is not a valid JSON array; write e.g. ["5s","5m"] or 5s,5m' };
  }
}

// Values that do not convert are passed on as strings: the validator then reports them with
// the same "must be an integer ..." message a file would get.
function convert(raw: string, kind: Kind): Converted {
  switch (kind.type) {
    case "integer":
    case "number":
      return { value: /^\s*[+-]?\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : raw };
    case "boolean": {
      const flag = raw.trim().toLowerCase();
      if (flag === "true" || flag === "1") return { value: true };
      if (flag === "false" || flag === "0") return { value: false };
      return { value: raw };
    }
    case "durations":
    case "strings":
      return toList(raw);
    case "duration":
    case "enum":
      return { value: raw.trim() };
    default:
      return { value: raw };
  }
}

/** The variable's section: the longest known `HOOKLINE_<SECTION>_` prefix (auth.jwt beats auth). */
function sectionOf(name: string): SectionName | undefined {
  let found: SectionName | undefined;
  for (const section of SECTION_NAMES) {
    const prefix = `${envName(section)}_`;
    if (name.startsWith(prefix) && (found === undefined || section.length > found.length)) {
      found = section;
    }
  }
  return found;
}

/** What an unknown `HOOKLINE_<SECTION>_<KEY>` would set, for a message in the file's terms. */
function unknownKey(name: string, section: SectionName): string {
  const key = name.slice(envName(section).length + 1).toLowerCase();
  const path = `${section}.${key}`;
  const kind = (SPEC[section] as Record<string, Kind | undefined>)[key];
  return kind?.type === "table"
    ? fromEnvironment(path, name, `is a table; set its keys one by one (${name}_<KEY>)`)
    : fromEnvironment(path, name, "unknown key");
}

export function readEnv(env: Record<string, string | undefined>): EnvOverrides {
  const values = new Map<string, EnvValue>();
  const problems: string[] = [];
  // Sorted so problems come out in a stable order whatever the environment's order.
  const names = Object.keys(env)
    .filter((name) => name.startsWith(PREFIX))
    .sort();
  for (const name of names) {
    const raw = env[name];
    // An empty variable is how shells and compose files "unset" something: ignore it.
    if (raw === undefined || raw === "" || name === CONFIG_PATH_VAR) continue;
    if (name.startsWith(EVENT_TYPES_PREFIX)) {
      const message = "can only be declared in the config file ([[event_types]])";
      problems.push(fromEnvironment("event_types", name, message));
      continue;
    }
    const section = name === ROOT_KEY_ALIAS ? "auth" : sectionOf(name);
    // Only HOOKLINE_<SECTION>_<KEY> is a setting. Other HOOKLINE_* names (HOOKLINE_KEY from the
    // README, HOOKLINE_URL in a user's script) are the user's own variables, not typos to refuse.
    if (section === undefined) continue;
    const target = name === ROOT_KEY_ALIAS ? "HOOKLINE_AUTH_ROOT_KEY" : name;
    const setting = SETTINGS.get(target);
    if (setting === undefined) {
      problems.push(unknownKey(name, section));
      continue;
    }
    if (name !== ROOT_KEY_ALIAS && values.get(setting.path)?.name === ROOT_KEY_ALIAS) continue;
    const converted = convert(raw, setting.kind);
    if ("problem" in converted) {
      problems.push(fromEnvironment(setting.path, name, converted.problem));
      continue;
    }
    values.set(setting.path, { name, value: converted.value });
  }
  return { values, problems };
}
