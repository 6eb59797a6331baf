export { Parley, type ParleyOptions } from "./parley.js";
export type { Character, Context, Conversation, HistoryPage, ImportLine, ImportReport, Memory, Message, NewMessage, Schemas, User } from "./parley.js";
export { pages, type Page } from "./paging.js";
export { ParleyError, ifModified, ok, type Answer, type Problem } from "./problem.js";
export { DEFAULT_RETRY, retrying, timed, type RetryPolicy } from "./retry.js";
export type { components, paths } from "./schema.js";
