// Pushgate admin UI, in the browser. Every page works without this script (forms, links,
// <details>); it adds: API calls with fetch that keep the page and show errors in place, copy
// buttons, the send dialog, live progress of running sends and the dashboard's chart.
// It talks to the JSON API under /rest with the session cookie and the page's CSRF token.
// Plain JavaScript, no build step: served as it is by the Worker (src/ui/assets.ts).
;(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? ''
  const live = document.getElementById('live')
  const NOTICE_KEY = 'pushgate-notice'

  const announce = (text) => {
    if (!live) return
    live.textContent = ''
    setTimeout(() => {
      live.textContent = text
    }, 50)
  }

  // --- Form fields to JSON: the rules of src/ui/form.ts -------------------------------------

  function put(target, path, value) {
    let node = target
    for (const key of path.slice(0, -1)) {
      if (typeof node[key] !== 'object' || node[key] === null || Array.isArray(node[key])) {
        node[key] = {}
      }
      node = node[key]
    }
    node[path[path.length - 1]] = value
  }

  function get(target, path) {
    let node = target
    for (const key of path) {
      if (typeof node !== 'object' || node === null) return undefined
      node = node[key]
    }
    return node
  }

  async function formJson(data) {
    const body = {}
    for (const [name, raw] of data.entries()) {
      if (name.startsWith('_')) continue
      const [pathText = '', kind = ''] = name.split(':')
      const path = pathText.split('.').filter(Boolean)
      if (path.length === 0) continue
      const value = typeof raw === 'string' ? raw : kind === 'file' ? await raw.text() : ''
      const trimmed = value.trim()
      if (kind === 'list') {
        const items = trimmed
          .split(/[,\n]/)
          .map((item) => item.trim())
          .filter(Boolean)
        const previous = get(body, path)
        if (items.length > 0)
          put(body, path, [...(Array.isArray(previous) ? previous : []), ...items])
      } else if (kind === 'number') {
        if (trimmed !== '') put(body, path, Number.isNaN(Number(trimmed)) ? value : Number(trimmed))
      } else if (kind === 'bool') {
        put(body, path, trimmed === 'true' || trimmed === 'on')
      } else if (kind === 'null') {
        put(body, path, trimmed === '' ? null : value)
      } else if (trimmed !== '') {
        put(body, path, value)
      }
    }
    return body
  }

  // --- Errors, in words ---------------------------------------------------------------------

  async function readAnswer(res) {
    const text = await res.text()
    try {
      return text === '' ? null : JSON.parse(text)
    } catch {
      return text
    }
  }

  function problemOf(res, answer) {
    if (res.status === 401) {
      return { message: 'Your session has ended: sign in again.', signin: true }
    }
    if (answer && typeof answer === 'object' && typeof answer.message === 'string') return answer
    return { message: `Pushgate answered ${res.status} ${res.statusText}`.trim() }
  }

  function showProblem(box, problem) {
    if (!box) return
    box.replaceChildren()
    const p = document.createElement('p')
    p.textContent = problem.message
    box.append(p)
    const details = Object.entries(problem.details ?? {})
    if (details.length > 0) {
      const list = document.createElement('ul')
      for (const [field, what] of details) {
        const item = document.createElement('li')
        const code = document.createElement('code')
        code.textContent = field
        item.append(code, `: ${what}`)
        list.append(item)
      }
      box.append(list)
    }
    if (problem.signin) {
      const link = document.createElement('a')
      link.href = `/ui/signin?next=${encodeURIComponent(location.pathname + location.search)}`
      link.textContent = 'Sign in'
      box.append(link)
    }
    box.classList.add('problem')
  }

  // --- Forms that call the API --------------------------------------------------------------

  const field = (form, name) => form.querySelector(`[name="${name}"]`)?.value ?? ''

  function fill(next, answer) {
    return next.replace(/\{(\w+)\}/g, (_, key) =>
      answer && typeof answer[key] === 'string' ? encodeURIComponent(answer[key]) : '',
    )
  }

  function go(target) {
    const url = new URL(target || location.href, location.href)
    if (url.pathname === location.pathname && url.search === location.search) {
      history.replaceState(null, '', url)
      location.reload()
    } else {
      location.assign(url)
    }
  }

  async function submitForm(event) {
    const form = event.currentTarget
    event.preventDefault()
    const box = form.querySelector('[data-form-error]')
    box?.replaceChildren()
    box?.classList.remove('problem')
    const method = (field(form, '_method') || form.getAttribute('method') || 'POST').toUpperCase()
    const path = field(form, '_path') || form.getAttribute('action')
    const body = await formJson(new FormData(form))
    const headers = { Accept: 'application/json', 'X-CSRF-Token': csrf }
    const hasBody = method !== 'DELETE'
    if (hasBody) headers['Content-Type'] = 'application/json'
    const idempotency = field(form, '_idempotency')
    if (idempotency) headers['Idempotency-Key'] = idempotency

    const buttons = form.querySelectorAll('button[type="submit"], button:not([type])')
    for (const b of buttons) b.disabled = true
    form.setAttribute('aria-busy', 'true')
    try {
      const res = await fetch(path, {
        method,
        headers,
        body: hasBody ? JSON.stringify(body) : undefined,
        credentials: 'same-origin',
      })
      const answer = await readAnswer(res)
      if (!res.ok) {
        showProblem(box, problemOf(res, answer))
        return
      }
      const notice = field(form, '_notice')
      if (notice) sessionStorage.setItem(NOTICE_KEY, notice)
      go(fill(field(form, '_next'), answer))
    } catch (error) {
      showProblem(box, { message: `Pushgate could not be reached: ${error.message}` })
    } finally {
      for (const b of buttons) b.disabled = false
      form.removeAttribute('aria-busy')
    }
  }

  for (const form of document.querySelectorAll('form[data-api]')) {
    form.addEventListener('submit', submitForm)
  }

  const notice = sessionStorage.getItem(NOTICE_KEY)
  if (notice) {
    sessionStorage.removeItem(NOTICE_KEY)
    const p = document.createElement('p')
    p.className = 'notice'
    p.id = 'flash-notice'
    p.setAttribute('role', 'status')
    p.textContent = notice
    document.getElementById('flash')?.prepend(p)
  }

  // --- Copy buttons -------------------------------------------------------------------------

  for (const button of document.querySelectorAll('[data-copy]')) {
    button.hidden = false
    button.addEventListener('click', async () => {
      const target = document.getElementById(button.dataset.copy)
      if (!target) return
      try {
        await navigator.clipboard.writeText(target.textContent ?? '')
        announce('Copied')
        button.textContent = 'Copied'
        setTimeout(() => {
          button.textContent = 'Copy'
        }, 1500)
      } catch {
        const range = document.createRange()
        range.selectNodeContents(target)
        getSelection()?.removeAllRanges()
        getSelection()?.addRange(range)
        announce('Selected: press Control+C or Command+C to copy')
      }
    })
  }

  // --- The send dialog ----------------------------------------------------------------------

  for (const opener of document.querySelectorAll('[data-dialog]')) {
    const dialog = document.getElementById(opener.dataset.dialog)
    if (!dialog || typeof dialog.showModal !== 'function') continue
    opener.addEventListener('click', (event) => {
      event.preventDefault()
      dialog.showModal()
      dialog.querySelector('textarea, input:not([type="hidden"]), select')?.focus()
    })
  }

  // --- Live progress of running sends -------------------------------------------------------

  const RUNNING = new Set(['queued', 'sending'])
  const PARTS = ['delivered', 'failed', 'invalidTokens', 'pending']

  function setText(root, name, value) {
    for (const el of root.querySelectorAll(`[data-field="${name}"]`)) el.textContent = String(value)
  }

  function updateVariant(root, v) {
    const el = root.querySelector(`.progress[data-variant="${CSS.escape(v.variantID)}"]`)
    if (!el) return
    el.dataset.status = v.status
    setText(el, 'status', v.status)
    setText(el, 'receivers', v.receivers)
    const total = Math.max(v.receivers, 1)
    let x = 0
    for (const part of PARTS) {
      setText(el, part, v[part])
      const rect = el.querySelector(`rect[data-part="${part}"]`)
      const width = (v[part] / total) * 100
      rect?.setAttribute('x', String(x))
      rect?.setAttribute('width', String(width))
      x += width
    }
    const words = `${v.delivered} delivered, ${v.failed} failed, ${v.invalidTokens} pruned, ${v.pending} pending of ${v.receivers}`
    el.querySelector('[data-bar]')?.setAttribute('aria-label', words)
    const reasons = Object.entries(v.reasons ?? {})
    const reasonsEl = el.querySelector('[data-field="reasons"]')
    if (reasonsEl) {
      reasonsEl.hidden = reasons.length === 0
      reasonsEl.textContent = reasons.length
        ? `Reasons: ${reasons.map(([r, n]) => `${r} ×${n}`).join(', ')}`
        : ''
    }
  }

  // The Activity tab's summary line: counts over all of the application's sends, which only the
  // list's headers carry. One request at a time, however many sends are followed.
  const summary = document.getElementById('activity-summary')
  const SUMMARY = {
    'activity-sends': 'total',
    'activity-receivers': 'receivers',
    'activity-opened': 'appOpenedCounter',
  }
  let summaryBusy = false
  let summaryAgain = false

  async function refreshSummary() {
    if (!summary?.dataset.summary) return
    if (summaryBusy) {
      summaryAgain = true
      return
    }
    summaryBusy = true
    try {
      const res = await fetch(`${summary.dataset.summary}?per_page=1`, {
        headers: { Accept: 'application/json' },
        credentials: 'same-origin',
      })
      await res.body?.cancel()
      if (!res.ok) return
      for (const [id, header] of Object.entries(SUMMARY)) {
        const value = res.headers.get(header)
        const el = document.getElementById(id)
        if (el && value !== null) el.textContent = value
      }
    } catch {
      // The next progress poll, or the last one, tries again.
    } finally {
      summaryBusy = false
      if (summaryAgain) {
        summaryAgain = false
        refreshSummary()
      }
    }
  }

  function follow(root) {
    const id = root.dataset.job
    let delay = 1000
    const tick = async () => {
      let job
      try {
        const res = await fetch(`/rest/metrics/messages/${encodeURIComponent(id)}`, {
          headers: { Accept: 'application/json' },
          credentials: 'same-origin',
        })
        job = await readAnswer(res)
        if (!res.ok) throw new Error(problemOf(res, job).message)
      } catch (error) {
        let box = root.querySelector('[data-poll-error]')
        if (!box) {
          box = document.createElement('p')
          box.dataset.pollError = ''
          box.setAttribute('role', 'alert')
          root.append(box)
        }
        box.textContent = `Progress could not be updated: ${error.message}`
        delay = Math.min(delay * 2, 15000)
        setTimeout(tick, delay)
        return
      }
      root.querySelector('[data-poll-error]')?.remove()
      root.dataset.status = job.status
      setText(root, 'job-status', job.status)
      setText(root, 'totalReceivers', job.totalReceivers)
      setText(root, 'appOpenCounter', job.appOpenCounter)
      for (const v of job.variants) updateVariant(root, v)
      refreshSummary()
      if (RUNNING.has(job.status)) {
        setTimeout(tick, delay)
      } else {
        announce(`Send ${job.status}`)
      }
    }
    setTimeout(tick, delay)
  }

  for (const root of document.querySelectorAll('[data-job]')) {
    if (RUNNING.has(root.dataset.status)) follow(root)
  }

  // --- The dashboard's chart (uPlot) --------------------------------------------------------

  const chartEl = document.getElementById('daily-chart')
  const dataEl = document.getElementById('daily-data')
  if (chartEl && dataEl && window.uPlot) {
    const days = JSON.parse(dataEl.textContent ?? '[]')
    const column = (key) => days.map((d) => d[key])
    const data = [
      days.map((d) => d.day / 1000),
      column('sends'),
      column('delivered'),
      column('failed'),
      column('pruned'),
    ]
    const line = (label, stroke) => ({ label, stroke, width: 2, scale: 'devices' })
    // Counts: whole-number ticks, and the axis starts at 0 even when nothing was sent.
    const incrs = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 1e5, 1e6, 1e7]
    const range = (_, _min, max) => [0, Math.max(max, 1)]
    // Half a day (in seconds) either side: the first and last bars are centred on their day, so
    // a range that ends exactly at the last day cuts today's bar in two.
    const padDays = (_, min, max) => [min - 43200, max + 43200]
    const size = () => ({ width: Math.max(chartEl.clientWidth, 280), height: 260 })
    const plot = new window.uPlot(
      {
        ...size(),
        scales: { x: { time: true, range: padDays }, devices: { range }, sends: { range } },
        series: [
          { label: 'Day' },
          {
            label: 'Sends',
            stroke: '#0969da',
            fill: 'rgba(9, 105, 218, 0.15)',
            scale: 'sends',
            paths: window.uPlot.paths.bars({ size: [0.6, 40] }),
          },
          line('Delivered', '#1a7f37'),
          line('Failed', '#cf222e'),
          line('Pruned', '#9a6700'),
        ],
        axes: [
          {},
          { scale: 'devices', label: 'Devices', incrs },
          { scale: 'sends', label: 'Sends', side: 1, grid: { show: false }, incrs },
        ],
      },
      data,
      chartEl,
    )
    window.addEventListener('resize', () => plot.setSize(size()))
  }
})()
