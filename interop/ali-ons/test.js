'use strict';
// An unmodified third-party RocketMQ 4.x client against Ferrocket: a producer sends tagged,
// keyed messages; a clustering push consumer subscribed to one tag must receive exactly those,
// two broadcasting consumers of one group must each receive all of them, and two clustering
// consumers of one group must share new messages, each delivered once.
// Usage: node test.js <namesrv host:port> <broker host:port>. Bounded: exits within 50 s.
const net = require('net');
const httpclient = require('urllib');
const { Producer, Consumer, Message } = require('ali-ons');

const [nameSrv, broker] = process.argv.slice(2);
const topic = 'InteropTopic';

// UPDATE_AND_CREATE_TOPIC over a raw socket (this client does not auto-create topics).
function createTopic() {
  return new Promise((resolve, reject) => {
    const [host, port] = broker.split(':');
    const header = Buffer.from(JSON.stringify({
      code: 17, flag: 0, language: 'JAVA', opaque: 1, serializeTypeCurrentRPC: 'JSON', version: 409,
      extFields: { topic, defaultTopic: 'TBW102', readQueueNums: '4', writeQueueNums: '4', perm: '6',
        topicFilterType: 'SINGLE_TAG', topicSysFlag: '0', order: 'false' },
    }));
    const frame = Buffer.alloc(8);
    frame.writeUInt32BE(4 + header.length, 0);
    frame.writeUInt32BE(header.length, 4);
    const socket = net.connect(Number(port), host, () => socket.write(Buffer.concat([ frame, header ])));
    socket.once('data', data => {
      socket.destroy();
      const len = data.readUInt32BE(4) & 0xffffff;
      const reply = JSON.parse(data.slice(8, 8 + len).toString());
      reply.code === 0 ? resolve() : reject(new Error('create topic failed: ' + JSON.stringify(reply)));
    });
    socket.on('error', reject);
  });
}

(async () => {
  const timer = setTimeout(() => { console.error('TIMEOUT'); process.exit(3); }, 50000);
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  await createTopic();
  await new Promise(r => setTimeout(r, 500)); // the broker re-registers the new topic
  const common = { httpclient, nameSrv, accessKeyId: 'ak', accessKeySecret: 'sk' };
  const producer = new Producer({ ...common, producerGroup: 'InteropProducer' });
  await producer.ready();
  for (let i = 0; i < 6; i++) {
    const msg = new Message(topic, i % 2 ? 'TagB' : 'TagA', `hello ${i}`);
    msg.keys = [ `key-${i}` ];
    const r = await producer.send(msg);
    if (r.sendStatus !== 'SEND_OK') throw new Error('send failed: ' + JSON.stringify(r));
  }
  const consumer = new Consumer({ ...common, consumerGroup: 'InteropConsumer', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
  consumer.on('error', () => {}); // route misses for %RETRY% before the first heartbeat are expected
  const got = [];
  consumer.subscribe(topic, 'TagA', async msg => { got.push(`${msg.tags}:${msg.body.toString()}:${msg.keys}`); });
  while (got.length < 3) await new Promise(r => setTimeout(r, 100));
  await new Promise(r => setTimeout(r, 1000)); // nothing else may arrive
  got.sort();
  const expected = [ 'TagA:hello 0:key-0', 'TagA:hello 2:key-2', 'TagA:hello 4:key-4' ];
  const ok = JSON.stringify(got) === JSON.stringify(expected);
  console.log(ok ? 'interop ali-ons OK: 3 of 3 TagA messages, nothing else' : `interop ali-ons FAILED: got ${JSON.stringify(got)}`);
  await consumer.close();

  // Broadcasting: each consumer of the group gets every queue and every message (its offsets
  // stay in its memory). Separate instance names make separate client instances.
  const seen = [ [], [] ];
  const broadcast = seen.map((list, i) => {
    const c = new Consumer({ ...common, consumerGroup: 'InteropBroadcast', instanceName: `broadcast${i}`,
      isBroadcast: true, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
    c.on('error', () => {});
    c.subscribe(topic, '*', async msg => { list.push(msg.body.toString()); });
    return c;
  });
  while (seen.some(list => list.length < 6)) await sleep(100);
  await sleep(1000); // nothing else may arrive
  const all = JSON.stringify([ 0, 1, 2, 3, 4, 5 ].map(i => `hello ${i}`));
  const everyone = seen.every(list => JSON.stringify([ ...list ].sort()) === all);
  console.log(everyone ? 'interop ali-ons OK: 2 broadcasting consumers got all 6 messages each'
    : `interop ali-ons FAILED: broadcast got ${JSON.stringify(seen)}`);
  for (const c of broadcast) await c.close();

  // Clustering: both consumers register, rebalance, and the queues are split between them.
  // ali-ons ignores NOTIFY_CONSUMER_IDS_CHANGED and rebalances on a timer only (10 s by
  // default): a consumer whose first rebalance ran before the other's heartbeat arrived keeps
  // every queue until its next one. A 1 s timer makes the 3 s wait below cover two rounds.
  const shares = [ [], [] ];
  const sharing = shares.map((list, i) => {
    const c = new Consumer({ ...common, consumerGroup: 'InteropShared', instanceName: `shared${i}`,
      consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET', rebalanceInterval: 1000 });
    c.on('error', () => {});
    // TagC only: a new group starts a young queue at offset 0 even from its last offset (as
    // Java's broker answers QUERY_CONSUMER_OFFSET), so it would also get the earlier messages.
    c.subscribe(topic, 'TagC', async msg => { list.push(msg.body.toString()); });
    return c;
  });
  await sleep(3000); // both registered and rebalanced
  const sent = [];
  for (let i = 0; i < 8; i++) {
    const r = await producer.send(new Message(topic, 'TagC', `shared ${i}`));
    if (r.sendStatus !== 'SEND_OK') throw new Error('send failed: ' + JSON.stringify(r));
    sent.push(`shared ${i}`);
  }
  while (shares[0].length + shares[1].length < 8) await sleep(100);
  await sleep(1000); // nothing else may arrive
  const shared = JSON.stringify([ ...shares[0], ...shares[1] ].sort()) === JSON.stringify(sent.sort())
    && shares.every(list => list.length > 0);
  console.log(shared ? `interop ali-ons OK: 2 clustering consumers shared 8 messages (${shares[0].length} + ${shares[1].length}), each once`
    : `interop ali-ons FAILED: clustering got ${JSON.stringify(shares)}`);
  clearTimeout(timer);
  for (const c of sharing) await c.close();
  await producer.close();
  process.exit(ok && everyone && shared ? 0 : 1);
})().catch(err => { console.error('interop ali-ons FAILED:', err && err.message); process.exit(2); });
