'use strict';
// An unmodified third-party RocketMQ 4.x client against Ferrocket: a producer sends tagged,
// keyed messages; a clustering push consumer subscribed to one tag must receive exactly those.
// Usage: node test.js <namesrv host:port> <broker host:port>. Bounded: exits within 40 s.
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
  const timer = setTimeout(() => { console.error('TIMEOUT'); process.exit(3); }, 40000);
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
  clearTimeout(timer);
  await consumer.close();
  await producer.close();
  process.exit(ok ? 0 : 1);
})().catch(err => { console.error('interop ali-ons FAILED:', err && err.message); process.exit(2); });
