// Renders docs/images/perfetto_timeline.png: a trace2html page (the Catapult trace viewer, the
// one behind chrome://tracing, with our timeline JSON inside) opened in headless Chromium.
// Usage: node make_perfetto_shot.js VIEWER.html OUT.png   (run by make_perfetto_shot.sh)
// Not part of the test suite.
'use strict';
const { chromium } = require('playwright-core');

const [html, out] = process.argv.slice(2);
if (!html || !out) {
  console.error('usage: node make_perfetto_shot.js VIEWER.html OUT.png');
  process.exit(2);
}
const exe = process.env.CHROMIUM || '/usr/bin/chromium';

(async () => {
  const browser = await chromium.launch({ executablePath: exe, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto('file://' + require('path').resolve(html));
    // The viewer imports the embedded trace after load; wait for its three process groups.
    await page.waitForFunction(() => {
      const tv = document.querySelector('tr-ui-timeline-view');
      return tv && tv.model && Object.keys(tv.model.processes).length >= 3;
    }, null, { timeout: 120000 });
    const info = await page.evaluate(() => {
      const tv = document.querySelector('tr-ui-timeline-view');
      const model = tv.model;
      const names = Object.values(model.processes).map((p) => p.name);
      // Select the longest zone->lock hold so the panel below shows its args
      // (cpu, pid, comm, blocks, pages).
      let longest = null;
      for (const p of Object.values(model.processes)) {
        if (!/zone->lock/.test(p.name)) continue;
        for (const t of Object.values(p.threads)) {
          for (const s of t.sliceGroup.slices) {
            if (!longest || s.duration > longest.duration) longest = s;
          }
        }
      }
      if (longest) {
        tv.brushingStateController.changeSelectionFromTimeline(
            new tr.model.EventSet([longest]));
      }
      return { names: names.filter((n) => n), longest_ms: longest ? longest.duration : null,
               range_ms: model.bounds.range };
    });
    console.log(JSON.stringify(info));
    await page.waitForTimeout(1500);  // the viewer sets its initial zoom once laid out
    await page.evaluate(() => {
      // Whole trace, without the viewer's 15% margins on each side.
      const tv = document.querySelector('tr-ui-timeline-view');
      const ttv = tv.trackView;
      const vp = ttv.viewport;
      const b = tv.model.bounds;
      const dt = new tr.ui.TimelineDisplayTransform();
      dt.set(vp.currentDisplayTransform);
      dt.xSetWorldBounds(b.min - b.range * 0.01, b.max + b.range * 0.01,
          ttv.modelTrackContainer_.canvas.width);
      vp.setDisplayTransformImmediately(dt);
    });
    await page.waitForTimeout(1500);  // let the canvases redraw
    await page.screenshot({ path: out, type: 'png' });
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error('make_perfetto_shot.js:', e.message); process.exit(1); });
