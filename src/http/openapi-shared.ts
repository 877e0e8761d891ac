// The answers many operations give alike (Tally's error bodies, each with the rate limits'
// headers), written once in the OpenAPI document's components.responses and named by `$ref`
// in each operation. Written out in every operation they made /openapi/json 2.1 MB (about
// 100,000 JSON values) for some 150 operations, and Swagger UI 5 at /openapi, whose OpenAPI 3.1
// support (ApiDOM) turns the whole document into its own elements twice before it shows an
// operation, took 10–20 s to render it; shared, the document is under 1 MB and takes Swagger UI
// about a quarter less CPU time (its floor, a document of a few operations, is about 4 s). A
// reader of the document resolves each `$ref` as any OpenAPI 3 reader does. Doc only.

type Answer = object;
type Operation = { responses?: Record<string, Answer> };
export type SharedDocument = {
  paths?: Record<string, Record<string, Operation>>;
  components?: { responses?: Record<string, Answer> };
};

/** Where a shared answer is, as an operation's `$ref` names it. */
export const SHARED_ANSWERS_REF = '#/components/responses/';

/**
 * `doc` with each answer that two operations or more give alike (the same JSON) in
 * components.responses, named by its status and a digest of it (stable while it is unchanged),
 * and named there by `$ref`. A copy down to the operations' answers: the plugin keeps its
 * document and the routes' own answers between requests (and apps), which stay whole. Runs
 * last, on the document the other steps completed.
 */
export function shareAnswers(doc: SharedDocument): SharedDocument {
  const jsonOf = new Map<Answer, string>();
  const uses = new Map<string, number>();
  for (const operations of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(operations)) {
      for (const answer of Object.values(answersOf(op) ?? {})) {
        if (!isWritten(answer)) continue;
        const json = jsonOf.get(answer) ?? JSON.stringify(answer);
        jsonOf.set(answer, json);
        uses.set(json, (uses.get(json) ?? 0) + 1);
      }
    }
  }
  const shared: Record<string, Answer> = { ...doc.components?.responses };
  /** The JSON of each answer put in `shared` here. */
  const sharedJson = new Map<string, string>();
  const paths: Record<string, Record<string, Operation>> = {};
  for (const [path, operations] of Object.entries(doc.paths ?? {})) {
    const copied: Record<string, Operation> = {};
    for (const [method, op] of Object.entries(operations)) {
      const answers = answersOf(op);
      if (answers === undefined) {
        copied[method] = op;
        continue;
      }
      const responses: Record<string, Answer> = {};
      for (const [status, answer] of Object.entries(answers)) {
        if (!isWritten(answer)) {
          responses[status] = answer;
          continue;
        }
        const json = jsonOf.get(answer) ?? JSON.stringify(answer);
        const name = `${status}-${Bun.hash(json).toString(36)}`;
        const there = sharedJson.get(name);
        // Once only, or the name taken (a digest's collision): written where it is.
        const taken = there === undefined ? name in shared : there !== json;
        if ((uses.get(json) ?? 0) < 2 || taken) {
          responses[status] = answer;
          continue;
        }
        shared[name] = answer;
        sharedJson.set(name, json);
        responses[status] = { $ref: `${SHARED_ANSWERS_REF}${name}` };
      }
      copied[method] = { ...op, responses };
    }
    paths[path] = copied;
  }
  return { ...doc, paths, components: { ...doc.components, responses: shared } };
}

/** An operation's answers, or undefined when `op` is no operation (a path's `parameters`). */
function answersOf(op: unknown): Record<string, Answer> | undefined {
  if (typeof op !== 'object' || op === null || !('responses' in op)) return undefined;
  const { responses } = op as Operation;
  return typeof responses === 'object' && responses !== null ? responses : undefined;
}

/** Whether `answer` is written out here (not a `$ref` to one elsewhere). */
const isWritten = (answer: unknown) =>
  typeof answer === 'object' && answer !== null && !('$ref' in answer);
