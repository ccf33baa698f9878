// End-to-end test of the gvpie web UI in headless Chromium (playwright-core, Debian's
// chromium; no browser is ever downloaded). Started by crates/cli/tests/cli/ui.rs against a
// real `gvpie serve` on loopback, whose database it seeded with a lineage.
//
// Environment:
//   GVPIE_URL                 the server, e.g. http://127.0.0.1:41234 (required)
//   GVPIE_LINEAGE_ITERATION   an iteration with a parent and a child in the database (required)
//   GVPIE_SCREENSHOTS         a folder for dashboard.png, editor.png, blocks.png, debugger.png,
//                             explorer.png, growth.png (optional)
//   GVPIE_FAILURE_SCREENSHOT  where to save the page when a check fails (optional; default
//                             failure.png in GVPIE_SCREENSHOTS)
//   GVPIE_CHROMIUM            the browser (default /usr/bin/chromium)
//   GVPIE_BIN, GVPIE_DB       the gvpie binary and the server's database: a `gvpie daemon` is
//                             started on it as agent `e2e-live` for the agents panel's live check
//                             (optional; without them that check is skipped, saying so)
//
// Each check prints one line; the first failure stops the run with exit code 1.

import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.GVPIE_URL;
const lineageIteration = Number(process.env.GVPIE_LINEAGE_ITERATION);
const shots = process.env.GVPIE_SCREENSHOTS;
const failureShot = process.env.GVPIE_FAILURE_SCREENSHOT || (shots ? join(shots, 'failure.png') : '');
const executablePath = process.env.GVPIE_CHROMIUM || '/usr/bin/chromium';
const gvpieBin = process.env.GVPIE_BIN;
const gvpieDb = process.env.GVPIE_DB;
/** @type {import('node:child_process').ChildProcess | null} the agent this test starts, stopped at the end */
let agentProcess = null;
if (!base || !lineageIteration) {
  console.error('GVPIE_URL and GVPIE_LINEAGE_ITERATION must be set');
  process.exit(2);
}

let step = 'start';
const problems = [];

/** Fails the run with a message. */
function fail(message) {
  throw new Error(`${step}: ${message}`);
}

/** Asserts deep equality of two JSON-able values. */
function same(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    fail(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

async function shot(page, name) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  // A toast from an earlier step would cover part of the view.
  await page.evaluate(() => document.getElementById('toast')?.classList.remove('visible'));
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(shots, `${name}.png`) });
}

/** Replaces the editor's text as a person would: select all, type. */
async function typeProgram(page, text) {
  const area = page.getByLabel('PXL program');
  await area.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await area.pressSequentially(text, { delay: 0 });
}

/**
 * The distinct colours shown inside canvas pixel (x, y)'s square (leaving out the grid line on its
 * top and left edges): one colour when nothing is drawn over the pixel.
 */
async function displayedCell(page, selector, x, y) {
  return page.$eval(
    selector,
    (canvas, [px, py]) => {
      const zoom = Number(canvas.dataset.zoom);
      const skip = zoom >= 4 ? 1 : 0;
      const data = canvas.getContext('2d').getImageData(px * zoom + skip, py * zoom + skip, zoom - skip, zoom - skip).data;
      const colours = new Set();
      for (let i = 0; i < data.length; i += 4) colours.add(`${data[i]},${data[i + 1]},${data[i + 2]},${data[i + 3]}`);
      return [...colours];
    },
    [x, y],
  );
}

/** The colour of canvas pixel (x, y) as displayed, read back from the on-screen canvas. */
async function displayedPixel(page, selector, x, y) {
  return page.$eval(
    selector,
    (canvas, [px, py]) => {
      const zoom = Number(canvas.dataset.zoom);
      const context = canvas.getContext('2d');
      const centre = Math.floor(zoom / 2);
      return Array.from(context.getImageData(px * zoom + centre, py * zoom + centre, 1, 1).data);
    },
    [x, y],
  );
}

async function main() {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, acceptDownloads: true });
  const page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // A missing thumbnail is a 404 the UI shows as "no image kept"; anything else is a bug.
    if (/Failed to load resource/.test(message.text()) && /image/.test(message.location().url ?? '')) return;
    problems.push(`console error: ${message.text()} (${message.location().url})`);
  });
  page.on('requestfailed', (request) => {
    const url = request.url();
    if (!url.startsWith(base)) problems.push(`request outside the server: ${url}`);
  });

  try {
    // ---- Editor: type, see the diagnostic, fix, run, read pixels ---------------------------
    step = 'editor: open';
    await page.goto(`${base}/#/editor`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#diagnostics .ok');
    console.log('ok   editor opens with the example program and no problems');

    step = 'editor: diagnostic';
    await typeProgram(page, 'CLS 0 0 0\nRECTT 1 1 2 2\nHALT\n');
    const diagnostic = page.locator('#diagnostics .diag-link').first();
    await diagnostic.waitFor();
    same(await diagnostic.textContent(), "2:1: unknown mnemonic 'RECTT' (did you mean RECT?)", 'the problem listed');
    same(await page.locator('.highlight .line.has-diag .diag').first().textContent(), 'RECTT', 'the underlined span');
    if (!(await page.locator('.highlight .diag-msg').first().textContent()).includes('did you mean RECT?')) fail('no inline message');
    same(await page.locator('.gutter .num.has-diag').first().textContent(), '2', 'the gutter marks line 2');
    console.log('ok   a typo shows its diagnostic inline, in the gutter and in the list');

    step = 'editor: run';
    await page.getByLabel('Canvas width').fill('16');
    await page.getByLabel('Canvas width').press('Tab');
    await page.getByLabel('Canvas height').fill('8');
    await page.getByLabel('Canvas height').press('Tab');
    const drawing = 'CLS 0 0 0\nCOLOR 255 0 0\nRECT 2 1 3 2\nCOLOR 0 128 255\nPSET 10 5\nHALT\n';
    await typeProgram(page, drawing);
    await page.waitForSelector('#diagnostics .ok');
    await page.keyboard.press('F5');
    await page.waitForSelector('#run-result.ok');
    const result = await page.locator('#run-result').textContent();
    if (!result.includes('6 cycles on CPU')) fail(`unexpected result line: ${result}`);
    const canvas = '#editor-canvas canvas.pixels';
    same(await displayedPixel(page, canvas, 2, 1), [255, 0, 0, 255], 'pixel (2,1)');
    same(await displayedPixel(page, canvas, 4, 2), [255, 0, 0, 255], 'pixel (4,2)');
    same(await displayedPixel(page, canvas, 5, 1), [0, 0, 0, 255], 'pixel (5,1)');
    same(await displayedPixel(page, canvas, 10, 5), [0, 128, 255, 255], 'pixel (10,5)');
    const zoom = Number(await page.$eval(canvas, (c) => c.dataset.zoom));
    await page.getByRole('button', { name: 'Zoom in' }).first().click();
    same(Number(await page.$eval(canvas, (c) => c.dataset.zoom)), Math.min(64, zoom * 2), 'zoom after +');
    same(await displayedPixel(page, canvas, 10, 5), [0, 128, 255, 255], 'pixel (10,5) zoomed');
    console.log('ok   F5 runs on the CPU and the canvas pixels read back exactly, zoomed too');
    await shot(page, 'editor');

    step = 'editor: SIZE';
    await typeProgram(page, 'SIZE 20 10\nCLS 0 0 0\nCOLOR 255 0 0\nPSET 19 9\nHALT\n');
    await page.waitForSelector('#diagnostics .ok');
    same([await page.getByLabel('Canvas width').inputValue(), await page.getByLabel('Canvas height').inputValue()], ['20', '10'], 'the size fields follow SIZE');
    await page.keyboard.press('F5');
    await page.waitForFunction(() => document.querySelector('#run-result')?.textContent.includes('4 cycles on CPU'));
    same(await page.$eval(canvas, (c) => [c.width / Number(c.dataset.zoom), c.height / Number(c.dataset.zoom)]), [20, 10], 'the canvas drawn at the declared size');
    same(await displayedPixel(page, canvas, 19, 9), [255, 0, 0, 255], 'pixel (19,9) of the 20x10 canvas');
    await typeProgram(page, drawing);
    await page.getByLabel('Canvas width').fill('16');
    await page.getByLabel('Canvas width').press('Tab');
    await page.getByLabel('Canvas height').fill('8');
    await page.getByLabel('Canvas height').press('Tab');
    await page.waitForSelector('#diagnostics .ok');
    console.log('ok   a program that declares SIZE runs at its size (0 cycles for the directive), the size fields follow it');

    // ---- Describe: plain English fills the editor and runs (POST /api/compile) -------------
    step = 'editor: describe';
    await page.getByLabel('Describe a picture in plain English').fill('a red circle');
    await page.getByRole('button', { name: 'Draw it' }).click();
    await page.waitForFunction(() => document.querySelector('textarea').value.includes('# red circle'));
    await page.waitForSelector('#run-result.ok');
    const described = await page.getByLabel('PXL program').inputValue();
    if (!described.includes('COLOR 255 0 0') || !described.includes('CIRCF')) fail(`unexpected program: ${described}`);
    same(await displayedPixel(page, canvas, 7, 3), [255, 0, 0, 255], 'the circle drawn at the centre of the 16x8 canvas');
    await typeProgram(page, drawing);
    await page.waitForSelector('#diagnostics .ok');
    console.log('ok   a description compiles into the editor and runs');

    // ---- Blocks: drag from the palette, reorder, edit in place -----------------------------
    step = 'blocks';
    await page.getByRole('tab', { name: 'Blocks' }).click();
    await page.waitForSelector('li.block[data-index="5"]');
    await page.locator('#palette button[data-op="CIRCF"]').dragTo(page.locator('li.block[data-index="5"]'), {
      targetPosition: { x: 20, y: 2 },
    });
    await page.waitForSelector('li.block[data-index="6"]');
    const afterDrop = await page.getByLabel('PXL program').inputValue();
    same(afterDrop.split('\n')[5], 'CIRCF 0 0 8', 'the dropped opcode is line 6');
    // Move HALT (now line 7) above the CIRCF block.
    await page.locator('li.block[data-index="6"] .handle').dragTo(page.locator('li.block[data-index="5"]'), {
      targetPosition: { x: 20, y: 2 },
    });
    await page.waitForFunction(() => document.querySelector('textarea').value.split('\n')[5] === 'HALT');
    // Edit the circle's radius in place.
    const radius = page.getByLabel('CIRCF r (line 7)');
    await radius.fill('3');
    const edited = (await page.getByLabel('PXL program').inputValue()).split('\n');
    same(edited.slice(0, 7), ['CLS 0 0 0', 'COLOR 255 0 0', 'RECT 2 1 3 2', 'COLOR 0 128 255', 'PSET 10 5', 'HALT', 'CIRCF 0 0 3'], 'the program after the block edits');
    console.log('ok   an opcode dragged from the palette, a block reordered and an operand edited change the text');
    await shot(page, 'blocks');
    await page.getByRole('tab', { name: 'Text' }).click();

    // ---- Reload keeps the program ----------------------------------------------------------
    step = 'reload';
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    same((await page.getByLabel('PXL program').inputValue()).split('\n')[6], 'CIRCF 0 0 3', 'the program after a reload');
    console.log('ok   the edited program survives a reload');

    // ---- Cartridge: save (download), then drop the PNG on the page -------------------------
    step = 'cartridge';
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Save cartridge' }).click();
    const download = await downloading;
    if (!download.suggestedFilename().endsWith('.png')) fail(`download named ${download.suggestedFilename()}`);
    await typeProgram(page, 'HALT\n');
    await page.evaluate(async () => {
      const answer = await fetch('/api/cart/pack', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ code: 'COLOR 1 2 3\nPSET 0 0\nHALT\n', width: 8, height: 8 }),
      }).then((r) => r.json());
      const bytes = Uint8Array.from(atob(answer.cartridge), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }));
      document.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      document.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => document.querySelector('textarea').value.startsWith('COLOR 1 2 3'));
    console.log('ok   a cartridge downloads, and dropping a cartridge PNG on the page opens its program');

    // ---- Ctrl-S saves a script ---------------------------------------------------------------
    step = 'save script';
    await page.getByLabel('PXL program').click();
    await page.keyboard.press('Control+S');
    await page.getByLabel('Name').fill('ui-e2e-script');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    // Wait for this save's own answer, not for any toast: the cartridge step's toast may still be on screen.
    // The editor shows "Saved as script “NAME”" only after the server stored it, or "Could not save" on an error.
    await page.waitForFunction(() => {
      const text = document.getElementById('toast')?.textContent ?? '';
      return text.includes('ui-e2e-script') || text.startsWith('Could not save');
    });
    const saved = await page.locator('#toast').textContent();
    if (!saved.includes('Saved as script “ui-e2e-script”')) fail(`the save answered: ${saved}`);
    const scripts = await page.evaluate(() => fetch('/api/scripts').then((r) => r.json()));
    if (!scripts.scripts.some((s) => s.name === 'ui-e2e-script')) fail('the script was not saved');
    console.log('ok   Ctrl-S saves the program as an improvement script');

    // ---- Debugger: step through a loop ---------------------------------------------------------
    step = 'debugger';
    await typeProgram(page, 'SET s 0\nSET i 0\nloop:\nADD s s i\nPSET i 0\nLOOP i 3 loop\nHALT\n');
    await page.waitForSelector('#diagnostics .ok');
    await page.goto(`${base}/#/debugger`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForFunction(() => document.querySelector('#dbg-status')?.textContent.includes('next line 1'));
    for (let i = 1; i <= 8; i += 1) {
      await page.keyboard.press('F10');
      await page.waitForFunction((n) => document.querySelector('#dbg-cycle').textContent === String(n), i);
    }
    const variable = (name) => page.locator(`#dbg-vars tr[data-name="${name}"] td`).textContent();
    same([await variable('s'), await variable('i')], ['1', '2'], 's and i after 8 steps');
    same(await page.locator('#dbg-source li.current').getAttribute('data-line'), '4', 'the current line');
    // Step 7 was PSET 1 0 and step 8 LOOP: a step that changed nothing says so.
    same(await page.locator('#dbg-changed').textContent(), 'Last step: no pixels changed.', 'changed pixels after LOOP');
    await page.keyboard.press('F8');
    await page.waitForFunction(() => document.querySelector('#dbg-cycle').textContent === '7');
    same(await page.locator('#dbg-changed').textContent(), 'Last step: 1 pixel changed.', 'changed pixels after PSET (step back)');
    // The highlight goes around the changed pixel, never over it: its whole square shows the colour drawn,
    // at every zoom.
    const debugCanvas = '#dbg-canvas canvas.pixels';
    const zoomOf = () => page.$eval(debugCanvas, (canvas) => Number(canvas.dataset.zoom));
    while ((await zoomOf()) > 1) await page.locator('#dbg-canvas').getByRole('button', { name: 'Zoom out' }).click();
    for (const zoom of [1, 2, 4, 8]) {
      while ((await zoomOf()) < zoom) await page.locator('#dbg-canvas').getByRole('button', { name: 'Zoom in' }).click();
      same(await displayedCell(page, debugCanvas, 1, 0), ['255,255,255,255'], `the changed pixel (1,0) at zoom ${zoom}`);
    }
    await page.locator('#dbg-canvas').getByRole('button', { name: 'Fit' }).click();
    console.log('ok   F10 steps through the loop; variables, current line, changed pixels and step back agree');

    step = 'debugger: breakpoints';
    await page.getByRole('button', { name: 'Breakpoint on line 7' }).click();
    await page.keyboard.press('F5');
    await page.waitForFunction(() => document.querySelector('#dbg-cycle').textContent === '11');
    same([await variable('s'), await variable('i')], ['3', '3'], 's and i at the breakpoint');
    same(await page.locator('#dbg-source li.current').getAttribute('data-line'), '7', 'stopped before HALT');
    await page.getByRole('button', { name: 'Breakpoint on line 7' }).click();
    await page.getByLabel('x', { exact: true }).fill('1');
    await page.getByLabel('y', { exact: true }).fill('0');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('button', { name: '⟲ Restart' }).click();
    await page.waitForFunction(() => document.querySelector('#dbg-cycle').textContent === '0');
    await page.getByRole('button', { name: 'Continue ▶▶' }).click();
    await page.waitForFunction(() => document.querySelector('#dbg-cycle').textContent === '7');
    same(await page.locator('#dbg-message').textContent(), 'Pixel (1, 0) changed on line 5.', 'the pixel breakpoint message');
    console.log('ok   line and pixel breakpoints stop the run where they should');
    await shot(page, 'debugger');

    // ---- Explorer: the lineage of a derived program ----------------------------------------
    step = 'explorer';
    await page.goto(`${base}/#/explorer/${lineageIteration}`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('.lineage .node.self');
    same(await page.locator('.lineage .node.self .node-title').textContent(), `#${lineageIteration}`, 'the selected node');
    const ancestors = await page.locator('.lineage .node.ancestor .node-title').allTextContents();
    const descendants = await page.locator('.lineage .node.descendant .node-title').allTextContents();
    if (ancestors.length < 1 || descendants.length < 1) fail(`ancestors ${ancestors}, descendants ${descendants}`);
    const generator = await page.locator('.lineage .node.self .node-gen').textContent();
    if (!generator.startsWith('mutation:')) fail(`generator shown as ${generator}`);
    await page.waitForSelector('.diff-lines .add');
    await page.waitForFunction(() => [...document.querySelectorAll('.lineage img.thumb')].every((img) => img.complete));
    // Only the newest generation's picture was kept; every other thumbnail is drawn by replay.
    const thumbs = await page.$$eval('.lineage img.thumb', (images) => images.map((img) => img.naturalWidth));
    if (thumbs.length < 3 || !thumbs.every((w) => w > 0)) fail(`thumbnails did not load (no broken image): ${thumbs}`);
    if ((await page.locator('#map-rows tr[data-iteration]').count()) < 3) fail('the map list is short');
    // Identical reruns (one script, one program, one outcome) are one row, at the newest run, counting them.
    const grouped = await page.evaluate(async () => {
      const { groupReruns } = await import('/ui/js/explorer.js');
      const run = (iteration, script, program, cycles) => ({ iteration, script_name: script, program_hash: program, success: true, cycles, image_hash: 'i' });
      const page = [run(9, 'a', 'p', 2), run(8, 'b', 'q', 5), run(7, 'a', 'p', 2), run(6, 'a', 'p2', 1), run(5, 'a', 'p', 2)];
      return groupReruns(page).map(({ entry, runs }) => `${entry.iteration}x${runs.length}`);
    });
    same(grouped, ['9x3', '8x1', '6x1'], 'identical reruns folded into their newest row');
    console.log(`ok   the lineage of #${lineageIteration}: ${ancestors.length} ancestor(s), ${descendants.length} descendant(s), thumbnails, generator, diff`);
    await shot(page, 'explorer');

    // ---- Dashboard: the live stream ------------------------------------------------------------
    step = 'dashboard';
    await page.goto(`${base}/#/dashboard`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForFunction(() => document.querySelector('#conn-status').textContent.includes('live'));
    await page.evaluate(() =>
      fetch('/api/execute', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code: 'TXT 10 10 Hello GPU\nHALT' }) }),
    );
    await page.waitForFunction(() => document.querySelector('#dash-log li')?.textContent.includes('api'));
    await page.waitForFunction(() => document.querySelectorAll('#dash-goals tr td').length >= 4);
    if ((await page.locator('#dash-executions').textContent()) === '—') fail('no execution count');
    console.log('ok   the dashboard streams a live execution and lists the goals');

    // The database grew by itself (ui.rs ran `gvpie up --cycles`): the growth panel shows what /api/growth says.
    step = 'dashboard: growth';
    await page.waitForSelector('#growth-panel[data-loaded="true"]');
    const growth = await page.evaluate(() => fetch('/api/growth').then((r) => r.json()));
    const counters = await page.$$eval('#growth-panel [data-growth]', (cells) =>
      Object.fromEntries(cells.map((cell) => [cell.dataset.growth, Number(cell.textContent.replaceAll(',', ''))])),
    );
    same(Object.keys(counters).sort(), ['adoptions', 'archive_kinds', 'archive_pictures', 'cycles_saved_per_run', 'self_set_goals', 'with_lineage'], 'the counters shown');
    for (const [key, value] of Object.entries(counters)) same(value, growth.growth[key], `the counter ${key}`);
    if (!growth.archive.length || !growth.adoptions.length) fail(`the daemon left no archive or adoption: ${JSON.stringify(growth.growth)}`);
    const links = await page.$$eval('#growth-archive a', (anchors) => anchors.map((a) => a.getAttribute('href')));
    same(links, growth.archive.map((p) => `#/explorer/${p.iteration}`), 'the archive thumbnails, newest first, linked to the explorer');
    await page.waitForFunction(() => [...document.querySelectorAll('#growth-archive img')].every((img) => img.complete));
    const widths = await page.$$eval('#growth-archive img', (images) => images.map((img) => img.naturalWidth));
    const loaded = widths.filter((w) => w > 0).length;
    if (!loaded) fail(`no archive thumbnail loaded: ${widths}`);
    const rendering = await page.$eval('#growth-archive img', (img) => getComputedStyle(img).imageRendering);
    same(rendering, 'pixelated', 'the thumbnails scale pixelated');
    const adopted = await page.locator('#growth-adopted li').allTextContents();
    same(adopted.length, growth.adoptions.length, 'the adoptions listed');
    const first = growth.adoptions[0];
    const line = `${first.original} → ${first.successor}: ${first.original_cycles} → ${first.cycles} cycles`;
    if (!adopted[0].includes(line)) fail(`the newest adoption shows as ${adopted[0]}, not ${line}`);
    console.log(`ok   the growth panel: counters equal /api/growth, ${loaded} of ${widths.length} archive thumbnails loaded, ${adopted.length} adoption(s) ("${line}")`);

    // The agents panel: every agent of /api/agents with its roles and state (ui.rs's `gvpie up` runs
    // were agents); then an agent started now appears live, from the stream's `agent` events.
    step = 'dashboard: agents';
    await page.waitForSelector('#agents-panel[data-loaded="true"]');
    const rowsOf = () =>
      page.$$eval('#dash-agents tr[data-agent]', (rows) =>
        rows.map((row) => ({
          name: row.dataset.agent,
          roles: row.querySelector('.roles').textContent,
          state: row.querySelector('.state').textContent,
          executions: Number(row.querySelector('.executions').textContent.replaceAll(',', '')),
        })),
      );
    const listed = (await page.evaluate(() => fetch('/api/agents').then((r) => r.json()))).agents;
    const shown = await rowsOf();
    same(shown.map((r) => r.name).sort(), listed.map((a) => a.name).sort(), 'the agents shown');
    for (const agent of listed) {
      const row = shown.find((r) => r.name === agent.name);
      same([row.roles, row.state], [agent.roles.join(', '), agent.state], `agent ${agent.name}'s roles and state`);
    }
    console.log(`ok   the agents panel lists the ${listed.length} agent(s) of /api/agents with roles and state`);
    if (gvpieBin && gvpieDb) {
      const args = ['daemon', '--db', gvpieDb, '--agent', 'e2e-live', '--roles', 'scripts,goals', '--cycles', '3',
        '--interval', '0', '--no-self-goals', '--no-log-file', '--quiet'];
      let daemonLog = '';
      const exited = new Promise((resolve) => {
        agentProcess = spawn(gvpieBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        agentProcess.stdout.on('data', (chunk) => { daemonLog += chunk; });
        agentProcess.stderr.on('data', (chunk) => { daemonLog += chunk; });
        agentProcess.on('exit', (code) => resolve(code));
      });
      // The join arrives as an `agent` event: the live log says so and the row appears.
      await page.waitForFunction(() => [...document.querySelectorAll('#dash-log li')].some((li) => li.textContent.includes('agent e2e-live joined (scripts, goals)')), null, { timeout: 60_000 });
      await page.waitForSelector('#dash-agents tr[data-agent="e2e-live"]');
      const code = await exited;
      agentProcess = null;
      if (code !== 0) fail(`gvpie ${args.join(' ')} exited ${code}:\n${daemonLog}`);
      // Its clean stop arrives too, and the row settles on what /api/agents says.
      await page.waitForFunction(() => [...document.querySelectorAll('#dash-log li')].some((li) => li.textContent.includes('agent e2e-live left (stopped)')), null, { timeout: 60_000 });
      const after = (await page.evaluate(() => fetch('/api/agents').then((r) => r.json()))).agents.find((a) => a.name === 'e2e-live');
      if (!after || after.state !== 'stopped' || after.executions < 1) fail(`/api/agents says ${JSON.stringify(after)}`);
      await page.waitForFunction(
        (n) => {
          const row = document.querySelector('#dash-agents tr[data-agent="e2e-live"]');
          return row?.querySelector('.state')?.textContent === 'stopped' && Number(row.querySelector('.executions').textContent.replaceAll(',', '')) === n;
        },
        after.executions,
        { timeout: 30_000 },
      );
      same((await rowsOf()).find((r) => r.name === 'e2e-live')?.roles, 'scripts, goals', 'the new agent\'s roles');
      console.log(`ok   an agent started now (gvpie daemon --agent e2e-live) joins and leaves live on the dashboard, ${after.executions} execution(s)`);
    } else {
      console.log('skip the live agent check (GVPIE_BIN and GVPIE_DB are not set)');
    }

    await page.waitForTimeout(2100);
    await shot(page, 'dashboard');
    if (shots) await page.locator('#growth-panel').screenshot({ path: join(shots, 'growth.png') });

    if (problems.length) {
      step = 'console';
      fail(problems.join('\n'));
    }
    console.log('all browser checks passed');
  } catch (err) {
    agentProcess?.kill('SIGKILL');
    console.error(`FAIL ${err.message}`);
    if (failureShot) {
      try {
        mkdirSync(dirname(failureShot), { recursive: true });
        await page.screenshot({ path: failureShot });
        console.error(`screenshot of the failure: ${failureShot}`);
      } catch (shotErr) {
        console.error(`no screenshot of the failure: ${shotErr.message}`);
      }
    }
    await browser.close();
    process.exit(1);
  }
  await browser.close();
}

main().catch((err) => {
  console.error(`FAIL ${step}: ${err.stack ?? err}`);
  process.exit(1);
});
