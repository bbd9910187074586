import type { ComponentChildren, VNode } from "preact";
import { useEffect, useState } from "preact/hooks";
import { type Load, useLoad } from "../lib/use-load.ts";
import { Empty, Loaded } from "./states.tsx";

export interface PageOf<T> {
  data: T[];
  next_cursor: string | null;
}

/**
 * A list paged by the API's cursors (API.md §8): the cursors seen so far are kept so "Previous"
 * goes back without offsets, which stay fast on millions of rows. `deps` (filters) restart it.
 */
export interface CursorPages<T> {
  load: Load<PageOf<T>>;
  reload: () => void;
  page: number;
  next: (c: string) => void;
  previous: () => void;
}

export function useCursorPages<T>(fetchPage: (cursor: string | undefined) => Promise<PageOf<T>>, deps: unknown[]): CursorPages<T> {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const key = JSON.stringify(deps);
  useEffect(() => setCursors([undefined]), [key]);
  const cursor = cursors[cursors.length - 1];
  const [load, reload] = useLoad(() => fetchPage(cursor), [key, cursor]);
  return {
    load,
    reload,
    page: cursors.length,
    next: (c: string) => setCursors((cs) => [...cs, c]),
    previous: () => setCursors((cs) => (cs.length > 1 ? cs.slice(0, -1) : cs)),
  };
}

export function Pager<T>({ load, page, next, previous }: { load: Load<PageOf<T>>; page: number; next: (c: string) => void; previous: () => void }) {
  const nextCursor = load.state === "ready" ? load.data.next_cursor : null;
  if (page === 1 && !nextCursor) return null;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={page === 1} onClick={previous}>
        Previous page
      </button>
      <span>Page {page}</span>
      <button type="button" disabled={!nextCursor} onClick={() => nextCursor && next(nextCursor)}>
        Next page
      </button>
    </nav>
  );
}

/**
 * A cursor-paged list as a table: loading and error (with a retry), `empty` when a page has no
 * rows, else the `head` cells and a `row` each; then the pager. The columns are the page's own.
 */
export function PagedTable<T>({ pages, what, empty, head, row }: { pages: CursorPages<T>; what: string; empty: ComponentChildren; head: ComponentChildren; row: (item: T) => VNode }) {
  return (
    <>
      <Loaded load={pages.load} what={what} retry={pages.reload}>
        {(page) =>
          page.data.length === 0 ? (
            <Empty>{empty}</Empty>
          ) : (
            <table>
              <thead>
                <tr>{head}</tr>
              </thead>
              <tbody>{page.data.map(row)}</tbody>
            </table>
          )
        }
      </Loaded>
      <Pager {...pages} />
    </>
  );
}
