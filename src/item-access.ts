/**
 * `m[i]` and `m[i] = v`, spelled as in Python: the SPEC's `m.get(i)` and `m.set(i, v)`. Without
 * this, `m[0] = 65` in JavaScript added a property "0" to the object and wrote nothing (data lost
 * without a word), and `m[0]` read `undefined`.
 *
 * How: the topmost prototype of every map (MMapExtensions.prototype) inherits from a Proxy. A
 * property read or write that finds nothing on the map or its classes walks up to it; there a key
 * that is a number's own spelling ("0", "-1", "1.5", "NaN": canonical numeric strings, as typed
 * arrays take them) goes to `get`/`set` (their checks and errors: `m[1.5]` is a RangeError, as
 * Python's `m[1.5]` is an error), and every other key goes on as before (`m.foo = 1` still adds a
 * property; subclasses' fields are defined, not set, and never reach it). An object that is no
 * map (MMap.prototype, `Object.create(m)`, a primitive receiver) keeps ordinary properties there
 * too. Methods, accessors and private fields are found before the Proxy, so no call of the API
 * passes through it: only reads of properties a map does not have, and writes of new ones.
 * `i in m` stays false: a Proxy's `has` is not told which object asks.
 * @module
 */

/** What the Proxy calls on a map. */
interface Indexed {
  get(index: number): number;
  set(index: number, value: number): void;
}

/** Whether a property key is a number's canonical spelling (a candidate index). */
function isNumericKey(key: string | symbol): key is string {
  if (typeof key !== "string" || key.length === 0) return false;
  const c = key.charCodeAt(0);
  if (!((c >= 48 && c <= 57) || c === 45 || c === 73 || c === 78)) return false; // digit, "-", "I", "N"
  return String(Number(key)) === key;
}

/**
 * Makes `prototype` (the top of every map's prototype chain) inherit from the Proxy above;
 * `isMap` tells a map (the class's private brand) from any other receiver.
 * @throws never.
 */
export function installItemAccess(prototype: object, isMap: (o: unknown) => boolean): void {
  Object.setPrototypeOf(
    prototype,
    new Proxy(Object.create(Object.prototype) as object, {
      get(target, key, receiver) {
        return isNumericKey(key) && isMap(receiver) ? (receiver as Indexed).get(Number(key)) : Reflect.get(target, key, receiver);
      },
      set(target, key, value, receiver) {
        if (!isNumericKey(key) || !isMap(receiver)) return Reflect.set(target, key, value, receiver);
        (receiver as Indexed).set(Number(key), value as number);
        return true;
      },
    }),
  );
}
