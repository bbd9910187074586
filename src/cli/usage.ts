export const USAGE = `Hookline — self-hosted webhook delivery

Usage:
  hookline serve [--config FILE]              start the server (migrates the database first;
                                              exits 2 if another one has its database or port)
  hookline migrate [--config FILE]            apply database migrations and exit
  hookline keys create --tenant T --role R [--name N] [--expires-in D] [--config FILE]
                                              create an API key; prints "ID<TAB>KEY" on one
                                              line (the key is shown only this once; the ID
                                              is what keys revoke takes)
                                              (T: a tenant id, or '*' for a global key;
                                               R: viewer | publisher | admin;
                                               D: lifetime such as 12h or 30d, default never)
  hookline keys list [--config FILE]          list API keys not revoked, expired ones included
                                              (id, tenant, role, prefix, created, expires or -,
                                               name; never the keys themselves)
  hookline keys revoke ID [--config FILE]     revoke an API key
  hookline secrets encrypt [--config FILE]    encrypt stored webhook secrets with security.encryption_key
  hookline config check [--config FILE]       validate the configuration and exit
  hookline backup FILE [--config FILE]        write a consistent copy of the database to FILE,
                                              safe while the server runs (refuses an existing FILE;
                                              SQLite only: for PostgreSQL use pg_dump)
  hookline doctor [--config FILE]             report on the database and the configuration
                                              (read-only; never prints keys or secrets)
  hookline vacuum [--config FILE]             checkpoint the WAL and VACUUM the database, printing
                                              the sizes before and after; stop the server first
                                              (refused, exit 2, while one holds the database;
                                              SQLite only: PostgreSQL has autovacuum)
  hookline db copy --to postgres://… [--config FILE]
                                              copy the SQLite database (database.path; stop the
                                              server first) into an empty PostgreSQL database,
                                              then verify the counts: the move to several replicas
  hookline healthcheck [--config FILE]        exit 0 if the local server answers /healthz
  hookline --version | --help

With database.url set (HOOKLINE_DATABASE_URL), every command but backup and vacuum works
against that PostgreSQL database.

--config defaults to $HOOKLINE_CONFIG, then ./hookline.toml if present, else built-in defaults.
Every key can be overridden with HOOKLINE_<SECTION>_<KEY>; see config.example.toml. Other
HOOKLINE_* names (such as HOOKLINE_KEY) are not settings and are left alone.
`;
