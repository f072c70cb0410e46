// The Node.js workload of `make bench`: node node_work.js ROUNDS
//
// Each round allocates Buffers both ways (Buffer.alloc, zero-filled, and
// Buffer.allocUnsafeSlow, outside the pool: each one is its own malloc or
// calloc in node's array-buffer allocator), builds objects and
// arrays, and round-trips them through JSON. V8's own heap comes from mmap,
// so the malloc traffic is the Buffers and V8's and node's internals, as in
// a real server.
//
// Prints a checksum of the data, the same from run to run, so that the
// benchmark can compare traced output with native output.
'use strict';

const crypto = require('crypto');

function bufferRound(round) {
  let sum = 0;
  const kept = [];
  for (let i = 0; i < 400; i++) {
    const size = 64 + ((round * 131 + i * 977) % 16384);
    const zeroed = Buffer.alloc(size, i & 0xff);
    const raw = Buffer.allocUnsafeSlow(size);
    zeroed.copy(raw);
    raw.writeUInt32LE(i * round >>> 0, 0);
    sum = (sum + raw.readUInt32LE(0) + raw[size - 1]) >>> 0;
    if (i % 8 === 0) kept.push(raw);
  }
  return (sum + kept.length) >>> 0;
}

function objectRound(round) {
  const items = [];
  for (let i = 0; i < 600; i++) {
    const n = (round * 7919 + i * 104729) % 1000003;
    items.push({
      id: n,
      name: 'item-' + n,
      tags: ['a' + (n % 3), 'b' + (n % 5), 'c' + (n % 7)],
      nested: { weight: n % 97, label: 'x'.repeat(n % 50) },
    });
  }
  const text = JSON.stringify(items);
  const back = JSON.parse(text);
  return { text, count: back.length };
}

function main() {
  const rounds = parseInt(process.argv[2], 10);
  const hash = crypto.createHash('sha256');
  let sum = 0;
  for (let round = 0; round < rounds; round++) {
    sum = (sum + bufferRound(round)) >>> 0;
    const { text, count } = objectRound(round);
    hash.update(text);
    sum = (sum + count) >>> 0;
  }
  const digest = hash.digest('hex').slice(0, 32);
  console.log(`node rounds=${rounds} sum=${sum} digest=${digest}`);
}

main();
