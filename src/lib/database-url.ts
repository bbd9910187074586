// PostgreSQL connection URLs (`database.url`, `hookline db copy --to`): what makes one usable,
// and how to show one without its password. Pure: no I/O, never throws.
//
// A URL carries the database password, and whatever prints it (a config problem, `doctor`,
// `config check`, a log line, an error) ends up in terminals, CI logs and tickets. So nothing
// here ever repeats the value it refuses, and anything shown goes through redactDatabaseUrl.

const SCHEMES = new Set(["postgres:", "postgresql:"]);
const EXAMPLE = "postgres://user:password@host:5432/database";
export const REDACTED = "***";

/**
 * Why `value` cannot be used as `database.url`, or undefined when it can. Only its scheme is
 * ever quoted back, never the rest of the value.
 */
export function databaseUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `is not a valid URL; write it as ${EXAMPLE} (percent-encode special characters in the password)`;
  }
  if (!SCHEMES.has(url.protocol)) {
    // Quoted only when written as "<scheme>://": in "user:password@host" the "scheme" is a name.
    const scheme = value.startsWith(`${url.protocol}//`) ? ` (not "${url.protocol}//")` : "";
    return `must start with postgres:// or postgresql://${scheme}, as in ${EXAMPLE}`;
  }
  // An empty host means a unix socket to libpq but "localhost over TCP" to Bun.SQL: refuse the
  // ambiguity and ask for the host.
  if (url.hostname === "") return `needs a host, as in ${EXAMPLE}`;
  // "/a/b" is no database name; libpq's default (the user's name) applies to an empty path.
  if (/^\/[^/]*\/./.test(url.pathname)) return `has more than one path segment; the path is the database name, as in ${EXAMPLE}`;
  return undefined;
}

// Query parameters libpq accepts that carry secrets (password=, sslpassword=).
const SECRET_PARAM = /([?&][^=&#]*password[^=&#]*=)[^&#]*/gi;

/**
 * `url` with its password replaced by *** (`postgres://hookline:***@db:5432/hookline`), in the
 * user's own spelling otherwise. It works on the text, not on a parsed URL, so a malformed value
 * is masked too: the userinfo runs to the last "@" after "://", which masks too much rather than
 * too little when an "@" appears later in the URL.
 */
export function redactDatabaseUrl(url: string): string {
  let out = url;
  const start = out.indexOf("://");
  if (start >= 0) {
    const authority = start + 3;
    const at = out.lastIndexOf("@");
    if (at >= authority) {
      const colon = out.indexOf(":", authority);
      if (colon >= 0 && colon < at) out = `${out.slice(0, colon + 1)}${REDACTED}${out.slice(at)}`;
    }
  }
  return out.replace(SECRET_PARAM, `$1${REDACTED}`);
}
