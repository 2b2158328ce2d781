// The TypeScript package's side of `cargo bench --bench ts_compare`: one
// timed round of one workload on `@igniter-js/store` 0.1.26 with ioredis,
// against the Redis at the URL given; prints `{"ops": n, "secs": s}`.
//
//   node compare.mjs <redis url> <workload> <concurrency> <round ms>
//
// Workloads (the same as the Rust side's, value for value):
//   kv        set then get of a small JSON value, each task on its own 16 keys
//   counter   increment, each task on its own counter
//   batchset  a batch set of 1,000 entries (no TTL), in a loop
//   batchget  a batch get of those 1,000 keys, in a loop
//   append    stream append of a small job, every task on one stream (MAXLEN ~ 10000)
//   groupread a group read of 100 entries then their ack, in a loop (the
//             stream refilled before the round, outside the timing)
//   publish   publish to one channel with 10 subscribers, each publish
//             awaited by `concurrency` tasks at once
import { IgniterStore } from "@igniter-js/store";
import { IgniterStoreRedisAdapter } from "@igniter-js/store/adapters";
import Redis from "ioredis";

const [url, workload, concArg, roundArg] = process.argv.slice(2);
const conc = Number(concArg);
const roundMs = Number(roundArg);

const profile = (i) => ({
  id: i,
  name: "Ada Lovelace",
  email: "ada@example.com",
  active: true,
  logins: 42,
});
const job = (i) => ({ id: i, image: `img-${i}.png`, width: 128 });

const redis = new Redis(url, { lazyConnect: false });
const store = IgniterStore.create()
  .withAdapter(IgniterStoreRedisAdapter.create({ redis }))
  .withService("ts-bench")
  .build();

async function closedLoop(task) {
  const deadline = performance.now() + roundMs;
  const counts = await Promise.all(
    Array.from({ length: conc }, async (_, t) => {
      let n = 0;
      while (performance.now() < deadline) {
        n += await task(t, n);
      }
      return n;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

async function main() {
  let ops;
  const started = performance.now();
  let secs;
  switch (workload) {
    case "kv": {
      ops = await closedLoop(async (t, n) => {
        const k = `user:${t}:${Math.floor(n / 2) % 16}`;
        await store.kv.set(k, profile(t));
        const v = await store.kv.get(k);
        if (!v) throw new Error("missing");
        return 2;
      });
      break;
    }
    case "counter": {
      ops = await closedLoop(async (t) => {
        await store.counter.increment(`hits:${t}`);
        return 1;
      });
      break;
    }
    case "batchset": {
      const entries = Array.from({ length: 1000 }, (_, i) => ({ key: `b:${i}`, value: profile(i) }));
      ops = await closedLoop(async () => {
        await store.batch.set(entries);
        return 1000;
      });
      break;
    }
    case "batchget": {
      const keys = Array.from({ length: 1000 }, (_, i) => `b:${i}`);
      await store.batch.set(keys.map((key, i) => ({ key, value: profile(i) })));
      ops = await closedLoop(async () => {
        const values = await store.batch.get(keys);
        if (values.length !== 1000) throw new Error("short");
        return 1000;
      });
      break;
    }
    case "append": {
      ops = await closedLoop(async (t, n) => {
        await store.streams.append("jobs:ts", job(n + t), { maxLen: 10000, approximate: true });
        return 1;
      });
      break;
    }
    case "groupread": {
      const group = store.streams.group("workers", "w1");
      await group.ensure("jobs:group", { startId: "0" });
      // enough entries for the round, outside the timing
      for (let i = 0; i < 200; i++) {
        await Promise.all(Array.from({ length: 100 }, (_, j) => store.streams.append("jobs:group", job(i * 100 + j))));
      }
      const t0 = performance.now();
      const deadline = t0 + roundMs;
      ops = 0;
      while (performance.now() < deadline) {
        const batch = await group.read("jobs:group", { count: 100 });
        if (batch.length === 0) break;
        await group.ack("jobs:group", batch.map((m) => m.id));
        ops += batch.length;
      }
      secs = (performance.now() - t0) / 1000;
      await redis.del("igniter:store:ts-bench:streams:jobs:group");
      break;
    }
    case "publish": {
      const subs = new Redis(url);
      const subStore = IgniterStore.create()
        .withAdapter(IgniterStoreRedisAdapter.create({ redis: subs }))
        .withService("ts-bench")
        .build();
      let received = 0;
      const offs = [];
      for (let i = 0; i < 10; i++) {
        offs.push(await subStore.events.subscribe("bench:tick", () => { received++; }));
      }
      ops = await closedLoop(async (t, n) => {
        await store.events.publish("bench:tick", { n });
        return 1;
      });
      for (const off of offs) await off();
      subs.disconnect();
      break;
    }
    default:
      throw new Error(`unknown workload ${workload}`);
  }
  if (secs === undefined) secs = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ ops, secs }));
  redis.disconnect();
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
