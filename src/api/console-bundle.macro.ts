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
  /** Where the page expects the assets: CONSOLE_ASSETS. */
  base: string;
  html: string;
  assets: ConsoleAsset[];
}

export function consoleBundle(): ConsoleBundle {
  const child = Bun.spawnSync([process.execPath, import.meta.path], { stdout: "pipe", stderr: "pipe" });
  if (child.exitCode !== 0) throw new Error(`the console build failed:\n${child.stderr.toString()}`);
  return JSON.parse(child.stdout.toString()) as ConsoleBundle;
}

const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1f4e8c"/><path d="M5 3v6a3 3 0 0 0 6 0V7" stroke="#fff" stroke-width="2" fill="none"/></svg>`;

async function build(): Promise<ConsoleBundle> {
  const result = await Bun.build({
    entrypoints: [join(import.meta.dir, "..", "..", "console", "src", "main.tsx")],
    target: "browser",
    minify: true,
    // Content hashes in the names: assets are cached for good, index.html never is.
    naming: "[name]-[hash].[ext]",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  if (!result.success) throw new AggregateError(result.logs, result.logs.map(String).join("\n"));
  const assets: ConsoleAsset[] = [];
  for (const out of result.outputs) assets.push({ name: basename(out.path), type: out.type, text: await out.text() });
  const script = assets.find((a) => a.name.endsWith(".js"));
  if (!script) throw new Error("the console build produced no script");
  const styles = assets.filter((a) => a.name.endsWith(".css"));
  assets.push({ name: "favicon.svg", type: "image/svg+xml", text: FAVICON });
  // No inline script or style anywhere: the CSP says script-src 'self' and style-src 'self'.
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hookline console</title>
<link rel="icon" href="${CONSOLE_ASSETS}/favicon.svg" type="image/svg+xml">
${styles.map((s) => `<link rel="stylesheet" href="${CONSOLE_ASSETS}/${s.name}">`).join("\n")}
<script type="module" src="${CONSOLE_ASSETS}/${script.name}"></script>
</head>
<body>
<div id="app"><p class="boot">Loading the console…</p></div>
<noscript>The Hookline console needs JavaScript.</noscript>
</body>
</html>
`;
  return { base: CONSOLE_ASSETS, html, assets };
}

if (import.meta.main) {
  try {
    process.stdout.write(JSON.stringify(await build()));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
