// The child half of __test__/action-react.test.cjs: renders useSafeAction (the compiled
// dist/action/hooks.js) through react-dom/client into a minimal DOM stand-in, with the React found
// in the node_modules directory NSG_ACTION_REACT names, runs every scenario and prints the results
// as JSON on stdout. A process per React version, because the hook's require('react') is aliased.
'use strict'

const path = require('node:path')
const Module = require('node:module')

const root = path.join(__dirname, '..', '..')

runScenarios().then(
  (out) => process.stdout.write(JSON.stringify(out)),
  (e) => {
    process.stderr.write(String(e?.stack || e))
    process.exit(1)
  },
)

async function runScenarios() {
  const modules = process.env.NSG_ACTION_REACT
  // The hook's require('react') must get the React under test.
  const aliases = { react: path.join(modules, 'react'), 'react-dom/client': path.join(modules, 'react-dom/client') }
  const resolve = Module._resolveFilename
  Module._resolveFilename = function (request, ...rest) {
    return resolve.call(this, aliases[request] ?? request, ...rest)
  }
  for (const m of ['log', 'info', 'debug', 'warn', 'error'])
    console[m] = (...args) => process.stderr.write(args.map(String).join(' ') + '\n')
  globalThis.IS_REACT_ACT_ENVIRONMENT = true
  globalThis.window = globalThis
  globalThis.HTMLIFrameElement = class HTMLIFrameElement {}
  if (!globalThis.navigator) globalThis.navigator = { userAgent: 'node' }
  const fakeNode = () => {
    const doc = { nodeType: 9, addEventListener() {}, removeEventListener() {}, defaultView: globalThis }
    const node = {
      nodeType: 1,
      nodeName: 'DIV',
      tagName: 'DIV',
      ownerDocument: doc,
      addEventListener() {},
      removeEventListener() {},
      appendChild() {},
      removeChild() {},
      insertBefore() {},
      childNodes: [],
      firstChild: null,
      style: {},
      setAttribute() {},
      removeAttribute() {},
    }
    doc.documentElement = node
    doc.body = node
    doc.createElement = () => fakeNode()
    return node
  }
  globalThis.document = fakeNode().ownerDocument

  const React = require('react')
  const { createRoot } = require('react-dom/client')
  const act = React.act || require(path.join(modules, 'react-dom/test-utils')).act
  const assert = require('node:assert/strict')
  const { useSafeAction } = require(path.join(root, 'dist/action/index.js'))
  const h = React.createElement

  class Boundary extends React.Component {
    constructor(props) {
      super(props)
      this.state = { error: null }
    }
    static getDerivedStateFromError(error) {
      return { error }
    }
    componentDidCatch(error) {
      // Once per caught error (render may run more than once while React retries).
      this.props.onCaught(error)
    }
    render() {
      return this.state.error ? null : this.props.children
    }
  }

  /** Renders a component using the hook; returns every render's hook value. */
  async function mount(action, options) {
    const renders = []
    const caught = []
    let setOptions
    function Probe() {
      const [opts, set] = React.useState(options)
      setOptions = set
      renders.push(useSafeAction(action, opts))
      return null
    }
    const root = createRoot(fakeNode())
    await act(async () => root.render(h(Boundary, { onCaught: (e) => caught.push(e) }, h(Probe))))
    return {
      renders,
      caught,
      last: () => renders[renders.length - 1],
      setOptions: (o) => act(async () => setOptions(o)),
      unmount: () => act(async () => root.unmount()),
    }
  }

  const deferred = () => {
    let resolve, reject
    const promise = new Promise((a, b) => ((resolve = a), (reject = b)))
    return { promise, resolve, reject }
  }
  const ok = (data) => ({ success: true, data, buildId: null })

  const scenarios = {
    async 'idle, executing, success'() {
      const d = deferred()
      const seenArgs = []
      const t = await mount(async (...args) => (seenArgs.push(args), d.promise))
      assert.equal(t.last().status, 'idle')
      assert.equal(t.last().result, undefined)
      assert.equal(t.last().isPending, false)
      let call
      await act(async () => {
        call = t.last().execute('a', 2)
      })
      assert.equal(t.last().status, 'executing')
      assert.equal(t.last().isPending, true)
      await act(async () => d.resolve(ok('done')))
      const r = await call
      assert.deepEqual(r, { success: true, data: 'done', buildId: null, requiresRefresh: false })
      assert.equal(t.last().status, 'success')
      assert.equal(t.last().result, r)
      assert.equal(t.last().isPending, false)
      assert.deepEqual(seenArgs, [['a', 2]])
      await t.unmount()
    },

    async 'version skew: status error, VERSION_SKEW result, onSkew called'() {
      const skews = []
      const t = await mount(async () => undefined, { onSkew: (r) => skews.push(r) })
      await act(async () => {
        await t.last().execute()
      })
      assert.equal(t.last().status, 'error')
      assert.equal(t.last().result.error, 'VERSION_SKEW')
      assert.equal(t.last().result.requiresRefresh, true)
      assert.equal(t.last().result.success, false)
      assert.equal(skews.length, 1)
      assert.equal(skews[0], t.last().result)
      await t.unmount()
    },

    async "the action's own failure: status error, requiresRefresh false"() {
      const t = await mount(async () => ({ success: false, error: 'NAME_TAKEN', message: 'Taken.', buildId: null }))
      await act(async () => {
        await t.last().execute()
      })
      assert.equal(t.last().status, 'error')
      assert.deepEqual(t.last().result, { success: false, error: 'NAME_TAKEN', message: 'Taken.', buildId: null, requiresRefresh: false })
      await t.unmount()
    },

    async 'only the latest call updates the state'() {
      const first = deferred()
      const second = deferred()
      const queue = [first, second]
      const t = await mount(async () => queue.shift().promise)
      let p1, p2
      await act(async () => {
        p1 = t.last().execute()
        p2 = t.last().execute()
      })
      await act(async () => second.resolve(ok('second')))
      await act(async () => first.resolve(ok('first')))
      assert.equal((await p1).data, 'first') // the older promise still resolves
      assert.equal((await p2).data, 'second')
      assert.equal(t.last().status, 'success')
      assert.equal(t.last().result.data, 'second')
      await t.unmount()
    },

    async 'reset: back to idle, an in-flight call no longer lands'() {
      const d = deferred()
      const t = await mount(async () => d.promise)
      await act(async () => {
        t.last().execute()
      })
      assert.equal(t.last().status, 'executing')
      await act(async () => t.last().reset())
      assert.equal(t.last().status, 'idle')
      await act(async () => d.resolve(ok(1)))
      assert.equal(t.last().status, 'idle')
      assert.equal(t.last().result, undefined)
      await t.unmount()
    },

    async 'execute and reset are stable across renders; the latest options are used'() {
      const skews = []
      const t = await mount(async () => undefined, { onSkew: () => skews.push('first') })
      const { execute, reset } = t.last()
      await t.setOptions({ onSkew: () => skews.push('second') })
      assert.equal(t.last().execute, execute)
      assert.equal(t.last().reset, reset)
      await act(async () => {
        await t.last().execute()
      })
      assert.deepEqual(skews, ['second'])
      await t.unmount()
    },

    async 'redirect() from the action is rethrown in render for Next.js boundaries; execute rejects, handled'() {
      const redirect = Object.assign(new Error('NEXT_REDIRECT'), { digest: 'NEXT_REDIRECT;push;/done;307;' })
      const unhandled = []
      const onUnhandled = (e) => unhandled.push(e)
      process.on('unhandledRejection', onUnhandled)
      try {
        const t = await mount(async () => {
          throw redirect
        })
        let rejection
        await act(async () => {
          await t
            .last()
            .execute()
            .catch((e) => (rejection = e))
        })
        assert.equal(rejection, redirect)
        assert.deepEqual(t.caught, [redirect])
        // Fire-and-forget (onClick={() => execute()}): no unhandled rejection.
        const t2 = await mount(async () => {
          throw redirect
        })
        await act(async () => {
          t2.last().execute()
        })
        await new Promise((resolve) => setImmediate(resolve))
        assert.deepEqual(unhandled, [])
        assert.deepEqual(t2.caught, [redirect])
        await t.unmount()
        await t2.unmount()
      } finally {
        process.off('unhandledRejection', onUnhandled)
      }
    },

    async 'bad options throw during render'() {
      const t = await mount(async () => ok(1), { onskew() {} })
      assert.equal(t.caught.length, 1)
      assert.equal(t.caught[0].code, 'ERR_UNKNOWN_OPTION')
      await t.unmount()
    },

    async 'no state update after unmount'() {
      const d = deferred()
      const t = await mount(async () => d.promise)
      let p
      await act(async () => {
        p = t.last().execute()
      })
      const count = t.renders.length
      await t.unmount()
      d.resolve(ok(1))
      assert.equal((await p).success, true)
      assert.equal(t.renders.length, count)
    },
  }

  const out = { version: React.version, results: {} }
  for (const [name, fn] of Object.entries(scenarios)) {
    try {
      await fn()
      out.results[name] = 'ok'
    } catch (e) {
      out.results[name] = String(e?.stack || e)
    }
  }
  return out
}
