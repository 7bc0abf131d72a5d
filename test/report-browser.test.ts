import { mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeKernelReport } from '../src/report/report.js';
import { chromiumAvailable, dumpDom, pngSize, screenshot } from './helpers/chromium.js';
import { fixtureMinimizeReport, makeKernelBuildFolder } from './report-fixtures.js';

/**
 * The report page in a real browser: headless Chromium opens it from a file, runs its script,
 * and the DOM it ends with is checked (maps with tooltips, labels only where the browser
 * measured they fit, option groups, a witness path); a screenshot is kept in out/.
 */
const available = chromiumAvailable() || process.env.CI === 'true';
const work = mkdtempSync(join(tmpdir(), 'ukl-report-browser-'));
const shots = resolve('out', 'report-browser');
let page: string;
let dom: string;
let groups: number;

describe.skipIf(!available)('the HTML report in headless Chromium', () => {
  beforeAll(async () => {
    const folder = makeKernelBuildFolder(join(work, 'kernel'));
    const written = await writeKernelReport({
      minimize: fixtureMinimizeReport(),
      buildDir: folder,
      baseline: { kind: 'build-dir', path: folder },
      boot: { ok: true, markerSeconds: 1.02, echoSeconds: 1.05, echoReply: 'x', consoleTail: ['echo-server: listening on 7777'], accel: 'tcg', command: [] },
      out: join(work, 'report.html'),
    });
    page = written.path;
    groups = written.data.trimmed.sizes.groups.length;
    dom = dumpDom(page);
  }, 120_000);

  it('the script ran to its end', () => {
    expect(dom).toMatch(/<body data-ready="yes">/);
  });

  it('both maps: a box with a tooltip for every folder', () => {
    expect(dom).toContain('id="treemap-trimmed"');
    expect(dom).toContain('id="treemap-baseline"');
    const cells = dom.match(/<rect class="cell"[^>]*><title>[^<]+<\/title><\/rect>/g) ?? [];
    expect(cells).toHaveLength(2 * groups);
    expect(dom).toMatch(/<title>net\/ipv4: 9,0\d\d bytes in 2 symbols \(code \d+, read-only 0, data 9,000, bss 0\); largest: tcp_hash 9,000/);
  });

  it('labels where the browser measured they fit, none on a box too small for its name', () => {
    expect(dom).toMatch(/<text class="cell-label fits" data-dir="net\/ipv4"/);
    expect(dom).toMatch(/<text class="top-label fits" data-top="net"/);
    // the 24-byte folder of the shared helper: a sliver
    expect(dom).toMatch(/<text class="cell-label" data-dir="net"/);
  });

  it('the options grouped by reason, the requirements with their witness paths', () => {
    expect([...dom.matchAll(/<details class="option-group" data-group="([\w-]+)"/g)].map((m) => m[1])).toEqual(['syscall', 'socket-family', 'profile', 'forced']);
    expect(dom).toMatch(/<li class="option" data-symbol="NET"><ol class="chain"><li><code>NET<\/code> INET depends on it<\/li><li><code>INET<\/code> required by <a href="#req-1">socket-family AF_INET<\/a><\/li><\/ol><\/li>/);
    expect(dom).toMatch(/<tr id="req-0"[^>]*>.*<code class="fn">main<\/code><span class="arrow"> → <\/span><code class="fn">serve_loop<\/code><span class="arrow"> → <\/span><code class="fn">std::vector&lt;int&gt;::push_back<\/code>/);
    expect(dom).not.toContain('<int>');
  });

  it('a screenshot of the top of the page', () => {
    mkdirSync(shots, { recursive: true });
    const png = join(shots, 'report.png');
    screenshot(page, png, 1280, 900);
    expect(pngSize(readFileSync(png))).toEqual({ width: 1280, height: 900 });
    // a blank page compresses to a few kilobytes
    expect(statSync(png).size).toBeGreaterThan(20_000);
  }, 120_000);
});
