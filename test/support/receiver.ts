// A real HTTP receiver on 127.0.0.1 that records what it gets and answers as the test says.
export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

export type Answer = number | { status: number; body?: string; headers?: Record<string, string> } | "hang";

export interface Receiver {
  url: string;
  received: Received[];
  /** Answers for the next requests, in order; when empty, `fallback` answers. */
  answers: Answer[];
  fallback: Answer;
  /** Resolves once `count` requests have arrived (bounded by `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  /** Answers the requests left hanging so far (200). */
  release(): void;
  stop(): Promise<void>;
}

export function receiver(fallback: Answer = 200): Receiver {
  const received: Received[] = [];
  const hanging = new Set<() => void>();
  const r: Receiver = {
    url: "",
    received,
    answers: [],
    fallback,
    async waitFor(count, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} requests, got ${received.length}`);
        await Bun.sleep(5);
      }
    },
    release() {
      for (const release of hanging) release();
      hanging.clear();
    },
    async stop() {
      r.release();
      await server.stop(true);
    },
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const body = await req.text();
      received.push({ path: new URL(req.url).pathname, headers: Object.fromEntries(req.headers), body, at: Date.now() });
      const answer = r.answers.shift() ?? r.fallback;
      if (answer === "hang") {
        // Never answers; released when the receiver stops.
        await new Promise<void>((resolve) => hanging.add(resolve));
        return new Response("late", { status: 200 });
      }
      if (typeof answer === "number") return new Response(`status ${answer}`, { status: answer });
      return new Response(answer.body ?? "", { status: answer.status, headers: answer.headers ?? {} });
    },
  });
  r.url = `http://127.0.0.1:${server.port}`;
  return r;
}
