// The thin PostgreSQL client (src/db/pg/client.ts): every session it opens commits
// synchronously, even where the database's default says otherwise — a 202 is durable.
import { expect } from "bun:test";
import { SQL } from "bun";
import { connectPostgres } from "../../src/db/pg/client.ts";
import { describePostgres, freshDatabase, postgresTest } from "../support/postgres.ts";

describePostgres("the PostgreSQL client", () => {
  postgresTest("sessions run with synchronous_commit on although the database's default is off", async () => {
    const url = await freshDatabase();
    const owner = new SQL(url);
    const name = new URL(url).pathname.slice(1);
    await owner.unsafe(`ALTER DATABASE "${name}" SET synchronous_commit = off`);
    await owner.close();
    // The control: a session opened without our settings gets the database's default.
    const plain = new SQL(url);
    expect((await plain`SHOW synchronous_commit`)[0].synchronous_commit).toBe("off");
    await plain.close();

    const client = connectPostgres(url, 2);
    try {
      const [row] = await client.query<{ synchronous_commit: string }>("SHOW synchronous_commit");
      expect(row?.synchronous_commit).toBe("on");
      const inTx = await client.transaction((tx) => tx.query<{ synchronous_commit: string }>("SHOW synchronous_commit"));
      expect(inTx[0]?.synchronous_commit).toBe("on");
      const [app] = await client.query<{ application_name: string }>("SHOW application_name");
      expect(app?.application_name).toBe("hookline");
    } finally {
      await client.close();
    }
  });
});
