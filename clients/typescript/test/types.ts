// Mistakes the generated types turn into compile errors: tsc fails when one of these compiles.
import { Parley, ifModified } from "../src/index.js";

const parley = new Parley({ url: "http://127.0.0.1:8080", key: "pk_..." });

export async function mistakes(): Promise<void> {
  // @ts-expect-error a path the document does not have
  await parley.api.GET("/v1/character/{character_id}", { params: { path: { character_id: "1" } } });
  // @ts-expect-error a query parameter the route does not list
  await parley.api.GET("/v1/characters", { params: { query: { name: "Luna" } } });
  // @ts-expect-error ids is one comma-separated string (ids=3,1), as Parley reads it, not an array
  await parley.api.GET("/v1/characters", { params: { query: { ids: ["3", "1"] } } });
  // @ts-expect-error no path parameter
  await parley.api.GET("/v1/characters/{character_id}", { params: { path: {} } });
  // @ts-expect-error a field of the wrong type
  await parley.api.POST("/v1/characters", { body: { name: 5 } });
  // @ts-expect-error no name, which the document requires
  await parley.api.POST("/v1/characters", { body: { system_prompt: "You are Luna." } });
  // @ts-expect-error a role the document's enum does not have
  await parley.appendMessage("1", { role: "narrator", content: "Once upon a time" });
  // @ts-expect-error an id is a string of digits, too big for a number
  ((message: { id: number }) => message)(await parley.appendMessage("1", { role: "user", content: "hi" }));
  // @ts-expect-error ifModified answers undefined for a 304: the data may be absent
  ifModified(await parley.api.GET("/v1/characters/{character_id}", { params: { path: { character_id: "1" } } })).name;
}
