// The console (console/, a Preact app) bundled by Bun's bundler and inlined into the server's
// code. Imported `with { type: "macro" }`, so it runs at transpile time: `npm start`, the tests
// and `bun build --compile` all serve a fresh build of console/, and the binary carries it with
// nothing to read from disk. A macro may not call Bun.build itself (the bundler would wait for
// itself), so consoleBundle() runs this same file as a child process, which builds and prints
// the result as JSON.
import { basename, join } from "node:path";

export const CONSOLE_ASSETS = "/console-assets";

export interface ConsoleAsset {
  name: string;
  type: string;
  text: string;
}

export interface ConsoleBundle {
  /** Where the pages expect the assets: CONSOLE_ASSETS. */
  base: string;
  /** The console's page (/console) and the tenant portal's (/portal): two entries, shared chunks. */
  html: { console: string; portal: string };
  assets: ConsoleAsset[];
}

export function consoleBundle(): ConsoleBundle {
  const child = Bun.spawnSync([process.execPath, import.meta.path], { stdout: "pipe", stderr: "pipe" });
  if (child.exitCode !== 0) throw new Error(`the console build failed:\n${child.stderr.toString()}`);
  return JSON.parse(child.stdout.toString()) as ConsoleBundle;
}

const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1f4e8c"/><path d="M5 3v6a3 3 0 0 0 6 0V7" stroke="#fff" stroke-width="2" fill="none"/></svg>`;

const ENTRIES = {
  console: { file: "main.tsx", title: "Hookline console", boot: "Loading the console…" },
  // The portal's title comes from [console] portal_title once the page has its token.
  portal: { file: "portal.tsx", title: "Webhooks", boot: "Loading…" },
} as const;

/** One page: its entry's script and stylesheets, no inline script or style (CSP script-src and style-src 'self'). */
function page(entry: (typeof ENTRIES)[keyof typeof ENTRIES], script: string, styles: string[]): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${entry.title}</title>
<link rel="icon" href="${CONSOLE_ASSETS}/favicon.svg" type="image/svg+xml">
${styles.map((s) => `<link rel="stylesheet" href="${CONSOLE_ASSETS}/${s}">`).join("\n")}
<script type="module" src="${CONSOLE_ASSETS}/${script}"></script>
</head>
<body>
<div id="app"><p class="boot">${entry.boot}</p></div>
<noscript>This page needs JavaScript.</noscript>
</body>
</html>
`;
}

async function build(): Promise<ConsoleBundle> {
  const src = join(import.meta.dir, "..", "..", "console", "src");
  const result = await Bun.build({
    entrypoints: Object.values(ENTRIES).map((e) => join(src, e.file)),
    target: "browser",
    minify: true,
    // The console and the portal share Preact, the client and the components in chunks, so a
    // customer's portal loads none of the console's pages.
    splitting: true,
    // Content hashes in the names: assets are cached for good, the pages never are.
    naming: { entry: "[name]-[hash].[ext]", chunk: "chunk-[hash].[ext]", asset: "[name]-[hash].[ext]" },
    define: { "process.env.NODE_ENV": '"production"' },
  });
  if (!result.success) throw new AggregateError(result.logs, result.logs.map(String).join("\n"));
  const assets: ConsoleAsset[] = [];
  for (const out of result.outputs) assets.push({ name: basename(out.path), type: out.type, text: await out.text() });
  assets.push({ name: "favicon.svg", type: "image/svg+xml", text: FAVICON });
  const pageOf = (entry: (typeof ENTRIES)[keyof typeof ENTRIES]) => {
    const stem = entry.file.replace(/\.tsx$/, "");
    const mine = (ext: string) => assets.filter((a) => a.name.startsWith(`${stem}-`) && a.name.endsWith(ext)).map((a) => a.name);
    const [script, ...more] = mine(".js");
    if (!script || more.length > 0) throw new Error(`the console build made ${more.length + (script ? 1 : 0)} scripts for ${entry.file}`);
    return page(entry, script, mine(".css"));
  };
  return { base: CONSOLE_ASSETS, html: { console: pageOf(ENTRIES.console), portal: pageOf(ENTRIES.portal) }, assets };
}

if (import.meta.main) {
  try {
    process.stdout.write(JSON.stringify(await build()));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
