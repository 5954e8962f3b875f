import { IncomingMessage } from 'node:http';

/**
 * A property the middleware sets on every request it lets through (`req.ntlm`), at the cost of a
 * plain assignment whatever the framework did to the request.
 *
 * Express (4 and 5) gives every request its app's prototype (`Object.setPrototypeOf(req,
 * app.request)`), and V8 before 13 (Node 20 and 22) caches no hidden-class transition made after
 * a prototype change: an own property added to such a request costs a new hidden class per
 * request and leaves every later property read on that request megamorphic, ~10 µs a request on
 * the bench machine, 23 in one run (bench row 1c). On such a prototype the property is an
 * accessor instead, installed once on the outermost prototype below IncomingMessage's (Express's
 * own `express.request`, which every app's request prototype inherits from).
 *
 * The accessor keeps a request's value in its response's `res.locals`: Express gives every request
 * its own `req.res` (with `res.req` back to it) and every response a `res.locals` of its own
 * (`Object.create(null)`, a dictionary, where a key costs next to nothing), unless one is already
 * there. A WeakMap entry per request, with the accessor, cost about 1.5–2 µs of server CPU a
 * request instead, most of it attributed to the WeakMap's garbage collection (bench/analysis.md,
 * session 10). The value sits under a private symbol, not enumerable (templates, spreads and
 * `util.inspect` do not see it), with the request it belongs to: a `res.locals` shared between
 * requests, or a response reused for another request, never hands one request's value to another
 * (the one set before reads `undefined` then). What has no response of its own (an object made from
 * the request, a prototype) keeps its value in a WeakMap. Code that gives `res.locals` a new object
 * after the middleware (even a copy) takes the value with it: the request then reads `undefined`,
 * as if skipped.
 *
 * It stays per request: a request the middleware skipped or refused reads `undefined`, an object
 * made from the request (`Object.create(req)`) reads the request's, and the application may
 * assign it. Unlike an own property, `delete` does not clear it (assign `undefined`) and
 * `Object.keys(req)` does not list it; a value assigned on the prototype itself is inherited, as
 * any property's would be. Requests whose prototype chain does not reach IncomingMessage's
 * (Fastify's `inject`, mocks) and plain node:http requests get an own property. The accessor goes
 * on a prototype between the request's and IncomingMessage's only: Express's, or a server's own
 * `IncomingMessage` subclass.
 */
export function requestProperty<T>(name: string): (req: IncomingMessage, value: T) => void {
  const slot = Symbol(name);
  const values = new WeakMap<object, unknown>();
  const prepared = new WeakSet<object>();
  const accessor: PropertyDescriptor = {
    configurable: true,
    enumerable: false,
    get(this: object) {
      for (let at: object | null = this; at !== null; at = Object.getPrototypeOf(at)) {
        const owned = ownLocals(at)?.[slot] as Owned | undefined;
        if (owned?.owner === at) return owned.value;
        const value = values.get(at);
        if (value !== undefined || values.has(at)) return value;
      }
      return undefined;
    },
    set(this: object, value: unknown) {
      const locals = ownLocals(this);
      if (locals === undefined) {
        values.set(this, value);
      } else if (slot in locals) {
        // Writable and not enumerable since its definition below: a plain assignment keeps it so.
        locals[slot] = new Owned(this, value);
      } else {
        Object.defineProperty(locals, slot, {
          value: new Owned(this, value),
          writable: true,
          configurable: true,
        });
      }
    },
  };

  /**
   * The accessor goes on the outermost prototype between `proto` and IncomingMessage's (a mounted
   * Express app's prototype inherits from its parent's, so both see it), unless one on the way
   * already defines the property (another copy of this module, or the application), or the chain
   * never reaches IncomingMessage's.
   */
  const prepare = (proto: object) => {
    prepared.add(proto);
    let outermost: object | undefined;
    for (let at: object | null = proto; at !== IncomingMessage.prototype; at = Object.getPrototypeOf(at)) {
      if (at === null || Object.hasOwn(at, name)) return;
      outermost = at;
    }
    if (outermost) Object.defineProperty(outermost, name, accessor);
  };

  return (req, value) => {
    const proto = Object.getPrototypeOf(req) as object;
    if (!prepared.has(proto)) prepare(proto);
    (req as unknown as Record<string, unknown>)[name] = value;
  };
}

/** A value in `res.locals`, with the request it was set for. */
class Owned {
  constructor(
    readonly owner: object,
    readonly value: unknown,
  ) {}
}

/**
 * The `res.locals` of `at` when `at` is a request with a response of its own that points back at
 * it (Express sets both): not a wrapper that borrowed the request's response.
 */
function ownLocals(at: object): Record<symbol, unknown> | undefined {
  if (!Object.hasOwn(at, 'res')) return undefined;
  const res = (at as { res?: { req?: unknown; locals?: unknown } }).res;
  if (res?.req !== at) return undefined;
  const locals = res.locals;
  return typeof locals === 'object' && locals !== null ? (locals as Record<symbol, unknown>) : undefined;
}
