import { type Answer, ok } from "./problem.js";

/** A page of a list route: its items and the cursor of the next page, null (or absent) on the last one. */
export interface Page {
  next_cursor?: string | null;
}

/**
 * Every page of a list route, in order, following next_cursor until it is null. The caller makes the
 * request, so each route keeps its own typed parameters:
 * `pages((cursor) => parley.api.GET("/v1/users/{user_id}/inbox", { params: { path: { user_id }, query: { cursor } } }))`.
 */
export async function* pages<A extends Answer<Page>>(
  fetchPage: (cursor: string | undefined) => Promise<A>,
): AsyncGenerator<Exclude<A["data"], undefined>> {
  let cursor: string | undefined;
  do {
    const page = ok(await fetchPage(cursor));
    yield page;
    cursor = (page as Page).next_cursor ?? undefined;
  } while (cursor !== undefined);
}
