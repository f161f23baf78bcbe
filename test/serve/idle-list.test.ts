// IdleList (src/serve/idle-list.ts): the --max-connections eviction order, oldest first.
import test from "ava";
import { IdleList, type IdleLinks } from "../../src/serve/idle-list.js";

class Item implements IdleLinks<Item> {
  idlePrev: Item | null = null;
  idleNext: Item | null = null;
  idleListed = false;
  constructor(readonly name: string) {}
}

function drain(list: IdleList<Item>): string[] {
  const out: string[] = [];
  for (let c = list.oldest(); c !== null; c = list.oldest()) {
    out.push(c.name);
    list.delete(c);
  }
  return out;
}

test("idle list: touch moves to the newest end, delete takes out anywhere, oldest is the head", (t) => {
  const list = new IdleList<Item>();
  const [a, b, c, d] = ["a", "b", "c", "d"].map((n) => new Item(n));
  t.is(list.oldest(), null);
  for (const x of [a, b, c, d]) list.touch(x);
  t.is(list.size, 4);
  list.touch(b); // b answered a request and is idle again: newest
  list.touch(b); // already the newest: no change
  list.delete(c); // c got a request
  list.delete(c); // twice is nothing
  t.is(list.size, 3);
  t.is(list.oldest(), a);
  t.deepEqual(drain(list), ["a", "d", "b"]);
  t.is(list.size, 0);
  list.touch(c);
  t.deepEqual(drain(list), ["c"]);
  t.false(a.idleListed || b.idleListed || c.idleListed || d.idleListed);
});
