// Real Yjs clients (yjs + y-websocket's unmodified WebsocketProvider) against a running collab server.
// Run by tests/docs/test_doc_node.py; by hand:
//
//   node tests/node/yjs_clients.mjs edit  ws://127.0.0.1:8080/ws/doc notes   # prints {"text": ...}
//   node tests/node/yjs_clients.mjs check ws://127.0.0.1:8080/ws/doc notes   # a fresh client: {"text": ...}
//
// `edit`: two clients type at once at random places, then one goes offline and both keep typing, then it
// reconnects; both must end with the same text holding every insert, and each must have seen the other's
// awareness (name, colour) and, after the disconnect, its removal. Exits 1 with a reason on any failure.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WS from 'ws'

const [phase, url, name] = process.argv.slice(2)
const DEADLINE_MS = 20000
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const fail = (why) => { out({ error: why }); process.exit(1) }

async function until (condition, what) {
  const start = Date.now()
  while (!condition()) {
    if (Date.now() - start > DEADLINE_MS) fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

function client (label) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(url, name, doc, { WebSocketPolyfill: WS, disableBc: true, params: { nickname: label } })
  provider.awareness.setLocalStateField('user', { name: label, color: '#2563eb' })
  return { label, doc, provider, text: doc.getText('content') }
}

const others = (c) => [...c.provider.awareness.getStates().entries()].filter(([id]) => id !== c.doc.clientID)

async function typeAtRandom (c, count, tag, deletes) {
  for (let i = 0; i < count; i++) {
    const t = c.text
    if (deletes && t.length > 10 && Math.random() < 0.2) t.delete(Math.floor(Math.random() * (t.length - 2)), 1)
    else t.insert(Math.floor(Math.random() * (t.length + 1)), `<${tag}${i}>`)
    if (i % 3 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
}

async function edit () {
  const a = client('alice')
  const b = client('bob')
  await until(() => a.provider.synced && b.provider.synced, 'both clients to sync')
  await until(() => others(a).length === 1 && others(b).length === 1, 'each to see the other in awareness')
  if (others(a)[0][1].user.name !== 'bob') fail('alice sees the wrong awareness state')

  // Both at once.
  await Promise.all([typeAtRandom(a, 60, 'a', true), typeAtRandom(b, 60, 'b', true)])
  await until(() => a.text.toString() === b.text.toString(), 'convergence after concurrent typing')

  // Bob goes offline; both keep typing; Bob comes back.
  const before = a.text.length
  b.provider.disconnect()
  await until(() => !b.provider.wsconnected, 'bob to be offline')
  await until(() => others(a).length === 0, "bob's awareness to be removed at alice")
  await Promise.all([typeAtRandom(a, 40, 'A', false), typeAtRandom(b, 40, 'B', false)])
  if (a.text.toString() === b.text.toString()) fail('offline edits did not diverge (was bob really offline?)')
  b.provider.connect()
  await until(() => b.provider.synced, 'bob to resync')
  await until(() => a.text.toString() === b.text.toString(), 'convergence after the reconnect')
  // No deletes while offline: every insert of both sides must be there, once.
  const text = a.text.toString()
  let inserted = 0
  for (let i = 0; i < 40; i++) inserted += `<A${i}>`.length + `<B${i}>`.length
  if (text.length !== before + inserted) fail(`expected ${before + inserted} characters, got ${text.length}`)
  out({ text, length: text.length })
  a.provider.destroy()
  b.provider.destroy()
}

async function check () {
  const c = client('checker')
  await until(() => c.provider.synced, 'the fresh client to sync')
  out({ text: c.text.toString() })
  c.provider.destroy()
}

const phases = { edit, check }
if (!phases[phase]) fail(`unknown phase ${phase}`)
phases[phase]().then(() => setTimeout(() => process.exit(0), 100), (error) => fail(String(error?.stack || error)))
