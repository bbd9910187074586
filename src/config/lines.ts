// smol-toml returns values without positions, so the line of each key is recovered by scanning
// the source. It understands headers, [[arrays]] of tables, dotted and quoted keys and skips
// multi-line strings; anything more exotic simply gets no line rather than a wrong one.

const PART = "(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')";
const DOTTED = String.raw`${PART}(?:\s*\.\s*${PART})*`;
const TABLE_ARRAY = new RegExp(String.raw`^\[\[\s*(${DOTTED})\s*\]\]`);
const TABLE = new RegExp(String.raw`^\[\s*(${DOTTED})\s*\]`);
const KEY = new RegExp(String.raw`^(${DOTTED})\s*=`);
const PARTS = new RegExp(PART, "g");

function splitKey(dotted: string): string[] {
  return (dotted.match(PARTS) ?? []).map((part) =>
    part.startsWith('"') || part.startsWith("'") ? part.slice(1, -1) : part,
  );
}

// "[event_types.schema]" after "[[event_types]]" belongs to the latest entry of that array.
function nestInLastEntry(name: string, arrayCounts: ReadonlyMap<string, number>): string {
  for (const [array, count] of arrayCounts) {
    if (name.startsWith(`${array}.`)) return `${array}[${count - 1}]${name.slice(array.length)}`;
  }
  return name;
}

/**
 * Maps paths such as "server.port", "auth.jwt.secret", "event_types[1].name" and table paths
 * ("auth.jwt", "event_types[1]") to 1-based line numbers.
 */
export function findKeyLines(source: string): Map<string, number> {
  const lines = new Map<string, number>();
  const arrayCounts = new Map<string, number>();
  let table = "";
  let openString: string | undefined;

  const record = (prefix: string, parts: string[], line: number): void => {
    let path = prefix;
    for (const part of parts) {
      path = path === "" ? part : `${path}.${part}`;
      if (!lines.has(path)) lines.set(path, line);
    }
  };

  source.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (openString !== undefined) {
      if (raw.includes(openString)) openString = undefined;
      return;
    }
    const text = raw.trimStart();
    const arrayHeader = TABLE_ARRAY.exec(text);
    const header = arrayHeader ?? TABLE.exec(text);
    if (header?.[1] !== undefined) {
      const name = nestInLastEntry(splitKey(header[1]).join("."), arrayCounts);
      if (arrayHeader) {
        const count = arrayCounts.get(name) ?? 0;
        arrayCounts.set(name, count + 1);
        table = `${name}[${count}]`;
      } else {
        table = name;
      }
      record("", [table], line);
      return;
    }
    const key = KEY.exec(text);
    if (key?.[1] === undefined) return;
    record(table, splitKey(key[1]), line);
    // A value that opens a multi-line string without closing it hides the following lines.
    const rest = text.slice(key[0].length);
    for (const quote of ['"""', "'''"]) {
      if (rest.split(quote).length % 2 === 0) openString = quote;
    }
  });
  return lines;
}
