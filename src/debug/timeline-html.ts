/**
 * The timeline as one self-contained HTML file: no network access (a Content-Security-Policy
 * forbids any), the drawing library inlined (d3, ISC license; the caller passes its source
 * in, so this stays pure), the data as JSON, and the page script below. Zoom with the wheel
 * or the buttons, pan by dragging, hover for a summary, click for the events and the `why`.
 */
import { clockTime, duration, fullTime } from './format.js';
import type { TimelineData } from './timeline.js';

export interface ChartLibrary {
  /** The library's browser build (d3's dist/d3.min.js), inlined as it is. */
  readonly source: string;
  /** Its name, version and license, written above it. */
  readonly notice: string;
}

/** JSON safe inside a <script> element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A script body that cannot end its <script> element early. */
function scriptText(s: string): string {
  return s.replace(/<\/script/gi, '<\\/script').replace(/<!--/g, '<\\!--');
}

export const BAR_COLORS: Readonly<Record<string, string>> = {
  running: '#2e7d32',
  exit: '#8d8d8d',
  crash: '#d32f2f',
  check: '#ef6c00',
  reload: '#1565c0',
  operator: '#7b1fa2',
  'procreg-stop': '#546e7a',
  'orphan-reaping': '#6d4c41',
  'spawn-failed': '#b71c1c',
  forgotten: '#bdbdbd',
  unwanted: '#bdbdbd',
  unknown: '#bdbdbd',
};

const LEGEND: readonly [string, string][] = [
  ['running', 'running at the end'],
  ['crash', 'crashed'],
  ['exit', 'exited on its own'],
  ['check', 'stopped by a failed check'],
  ['reload', 'stopped by a reload'],
  ['operator', 'stopped by an operator'],
  ['procreg-stop', 'stopped with procreg'],
  ['orphan-reaping', 'reaped as an orphan'],
];

export function timelineHtml(data: TimelineData, library: ChartLibrary): string {
  const span = data.end - data.start;
  const style = { utc: data.utc };
  const meta = [
    data.source ? escapeHtml(data.source) : '',
    `${escapeHtml(fullTime(data.start, style))} → ${escapeHtml(clockTime(data.end, style))} (${duration(span)})`,
    `${data.stats.events} events (seq ${data.stats.firstSeq}–${data.stats.lastSeq})`,
    `${data.stats.detailed} marks drawn one by one${data.stats.aggregated ? `, ${data.stats.aggregated} counted in aggregates of ${duration(data.stats.bucketMs ?? 0)}` : ''}`,
  ]
    .filter(Boolean)
    .join(' · ');
  const legend = LEGEND.map(
    ([k, words]) =>
      `<span class="key"><i style="background:${BAR_COLORS[k]}"></i>${escapeHtml(words)}</span>`,
  ).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="procreg timeline (format ${data.v})">
<title>${escapeHtml(data.title)}</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<header>
<h1>${escapeHtml(data.title)}</h1>
<div class="meta">${meta}</div>
<div class="legend">${legend}<span class="key"><i class="hatch"></i>crash loop (collapsed)</span><span class="key"><b class="sym bad">✕</b>given up / failed</span><span class="key"><b class="sym warn">▲</b>check timed out</span><span class="key"><b class="sym bad">|</b>check failed</span><span class="key"><i class="boundary-key"></i>reload (new generation)</span><span class="key"><i class="agg"></i>too dense: counted</span></div>
<div class="controls"><button id="zoom-in" title="zoom in">+</button><button id="zoom-out" title="zoom out">−</button><button id="zoom-fit" title="show everything">fit</button><span class="hint">wheel: zoom · drag: pan · hover: summary · click: events and why</span><span id="range"></span></div>
</header>
<main>
<div id="chart-wrap"><svg id="chart" role="img" aria-label="timeline of services and checks"></svg></div>
<aside id="detail" aria-live="polite"><h2>Details</h2><pre id="detail-text">Click a bar or a mark to see its events and why.</pre></aside>
</main>
<div id="tooltip" role="tooltip" hidden></div>
<script>/* ${escapeHtml(library.notice)} */
${scriptText(library.source)}</script>
<script type="application/json" id="timeline-data">${scriptJson(data)}</script>
<script>${scriptText(PAGE_SCRIPT)}</script>
</body>
</html>
`;
}

const PAGE_CSS = `
:root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #212121; background: #fff; }
body { margin: 0; }
header { padding: 10px 16px 6px; border-bottom: 1px solid #e0e0e0; }
h1 { font-size: 18px; margin: 0 0 4px; }
.meta { font-size: 12px; color: #555; }
.legend { font-size: 12px; margin-top: 6px; display: flex; flex-wrap: wrap; gap: 4px 14px; }
.key { display: inline-flex; align-items: center; gap: 5px; }
.key i { display: inline-block; width: 18px; height: 10px; border-radius: 2px; }
.key i.hatch { background: repeating-linear-gradient(45deg, #d32f2f 0 3px, #ffcdd2 3px 6px); }
.key i.agg { background: repeating-linear-gradient(90deg, #9e9e9e 0 2px, #eee 2px 4px); }
.key i.boundary-key { width: 0; height: 12px; border-left: 2px dashed #1565c0; border-radius: 0; }
.sym { font-weight: 700; }
.sym.bad { color: #b71c1c; } .sym.warn { color: #ef6c00; }
.controls { margin-top: 6px; font-size: 12px; display: flex; gap: 6px; align-items: center; }
.controls button { font: inherit; padding: 1px 9px; cursor: pointer; }
.controls .hint { color: #777; margin-left: 8px; }
#range { margin-left: auto; color: #555; }
main { display: flex; align-items: stretch; }
#chart-wrap { flex: 1 1 auto; min-width: 0; overflow-x: hidden; }
#chart { display: block; width: 100%; cursor: grab; user-select: none; }
#chart:active { cursor: grabbing; }
#detail { flex: 0 0 380px; border-left: 1px solid #e0e0e0; padding: 8px 12px; max-height: 80vh; overflow: auto; }
#detail h2 { font-size: 14px; margin: 0 0 6px; }
#detail pre { font-size: 11.5px; white-space: pre-wrap; word-break: break-word; margin: 0; line-height: 1.35; }
#tooltip { position: fixed; pointer-events: none; background: rgba(33,33,33,.92); color: #fff; font-size: 12px; padding: 5px 8px; border-radius: 4px; max-width: 420px; white-space: pre-wrap; z-index: 10; }
.lane-bg { fill: #fafafa; } .lane-bg.odd { fill: #f3f3f3; }
.lane-label { font-size: 12px; dominant-baseline: middle; }
.lane-label.check { font-style: italic; fill: #555; }
.bar { stroke: rgba(0,0,0,.25); stroke-width: .5; cursor: pointer; }
.bar.selected, .mark.selected, .loop.selected { stroke: #000; stroke-width: 2; }
.bar-label { font-size: 10px; fill: #fff; pointer-events: none; dominant-baseline: middle; }
.loop { fill: url(#loop-hatch); stroke: #b71c1c; stroke-width: 1; cursor: pointer; }
.loop-label { font-size: 10px; font-weight: 700; fill: #b71c1c; pointer-events: none; dominant-baseline: middle; }
.mark { cursor: pointer; }
.mark.backoff { stroke: #d32f2f; stroke-width: 1.5; stroke-dasharray: 2 2; }
.span.healthy { fill: #c8e6c9; } .span.unhealthy { fill: #ffcdd2; } .span.unknown { fill: #eeeeee; }
.boundary line { stroke: #1565c0; stroke-width: 1.5; stroke-dasharray: 5 3; }
.boundary.start line { stroke: #2e7d32; } .boundary.stop line { stroke: #546e7a; }
.boundary text { font-size: 10px; fill: #1565c0; }
.boundary.start text { fill: #2e7d32; } .boundary.stop text { fill: #546e7a; }
.aggregate { fill: url(#agg-hatch); stroke: #9e9e9e; stroke-width: .5; cursor: pointer; }
.axis text { font-size: 11px; } .axis path, .axis line { stroke: #bbb; }
.grid line { stroke: #e6e6e6; }
`;

/**
 * The page script, run in the browser with the `d3` global. Kept to what every current
 * browser runs (ES2017, no modules).
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('timeline-data').textContent);
  var d3 = window.d3;
  var COLORS = __COLORS__;
  var LANE_H = 26, AXIS_H = 44, LABEL_W = 170, PAD_R = 16, BAR_PAD = 4;
  var svg = d3.select('#chart');
  var tooltip = document.getElementById('tooltip');
  var detail = document.getElementById('detail-text');
  var height = AXIS_H + data.lanes.length * LANE_H + 8;
  svg.attr('height', height);

  var defs = svg.append('defs');
  var hatch = defs.append('pattern').attr('id', 'loop-hatch').attr('patternUnits', 'userSpaceOnUse').attr('width', 6).attr('height', 6).attr('patternTransform', 'rotate(45)');
  hatch.append('rect').attr('width', 6).attr('height', 6).attr('fill', '#ffcdd2');
  hatch.append('rect').attr('width', 3).attr('height', 6).attr('fill', '#d32f2f');
  var agg = defs.append('pattern').attr('id', 'agg-hatch').attr('patternUnits', 'userSpaceOnUse').attr('width', 4).attr('height', 4);
  agg.append('rect').attr('width', 4).attr('height', 4).attr('fill', '#eeeeee');
  agg.append('rect').attr('width', 2).attr('height', 4).attr('fill', '#9e9e9e');
  defs.append('clipPath').attr('id', 'plot-clip').append('rect').attr('class', 'clip-rect');

  var gLanes = svg.append('g').attr('class', 'lanes');
  var gGrid = svg.append('g').attr('class', 'grid');
  var gPlot = svg.append('g').attr('class', 'plot').attr('clip-path', 'url(#plot-clip)');
  var gSpans = gPlot.append('g');
  var gAgg = gPlot.append('g');
  var gBars = gPlot.append('g');
  var gLoops = gPlot.append('g');
  var gMarks = gPlot.append('g');
  var gBound = gPlot.append('g');
  var gAxis = svg.append('g').attr('class', 'axis').attr('transform', 'translate(0,' + (AXIS_H - 18) + ')');

  var laneY = function (l) { return AXIS_H + l * LANE_H; };
  var lanes = gLanes.selectAll('g.lane').data(data.lanes).enter().append('g')
    .attr('class', function (d) { return 'lane ' + d.kind; })
    .attr('data-lane', function (d) { return d.name; })
    .attr('data-kind', function (d) { return d.kind; });
  lanes.append('rect').attr('class', function (d, i) { return 'lane-bg' + (i % 2 ? ' odd' : ''); })
    .attr('x', 0).attr('y', function (d, i) { return laneY(i); }).attr('height', LANE_H);
  lanes.append('text').attr('class', function (d) { return 'lane-label ' + d.kind; })
    .attr('x', 8).attr('y', function (d, i) { return laneY(i) + LANE_H / 2; })
    .text(function (d) { return (d.kind === 'check' ? '✓ ' : '▶ ') + d.name; })
    .append('title').text(function (d) { return d.kind + ' ' + d.name; });

  var x0 = (data.utc ? d3.scaleUtc() : d3.scaleTime()).domain([new Date(data.start), new Date(data.end)]);
  var x = x0;
  var width = 0;
  var zoom = d3.zoom().scaleExtent([1, Math.max(2, (data.end - data.start) / 5)]).on('zoom', function (ev) {
    x = ev.transform.rescaleX(x0);
    draw();
  });

  function resize() {
    width = Math.max(400, svg.node().getBoundingClientRect().width);
    x0.range([LABEL_W, width - PAD_R]);
    gLanes.selectAll('rect.lane-bg').attr('width', width);
    defs.select('.clip-rect').attr('x', LABEL_W - 1).attr('y', 0).attr('width', Math.max(0, width - PAD_R - LABEL_W)).attr('height', height);
    zoom.extent([[LABEL_W, 0], [width - PAD_R, height]]).translateExtent([[LABEL_W, 0], [width - PAD_R, height]]);
    svg.call(zoom);
    x = d3.zoomTransform(svg.node()).rescaleX(x0);
    draw();
  }

  var selected = null;
  function show(d) {
    detail.textContent = d >= 0 ? data.details[d] : '';
  }
  function tip(ev, text) {
    tooltip.textContent = text;
    tooltip.hidden = false;
    var w = tooltip.offsetWidth;
    var left = Math.min(ev.clientX + 12, window.innerWidth - w - 8);
    tooltip.style.left = left + 'px';
    tooltip.style.top = (ev.clientY + 14) + 'px';
  }
  function untip() { tooltip.hidden = true; }
  function firstLines(d, n) {
    if (d < 0) return '';
    return data.details[d].split('\n').slice(0, n).join('\n');
  }
  function interactive(sel, summary) {
    sel.on('mousemove', function (ev, d) { tip(ev, summary(d)); })
      .on('mouseleave', untip)
      .on('click', function (ev, d) {
        if (selected) d3.select(selected).classed('selected', false);
        selected = this;
        d3.select(this).classed('selected', true);
        show(d.d);
        ev.stopPropagation();
      });
  }

  function visible(items) {
    var dom = x.domain(), a = +dom[0], b = +dom[1];
    return items.filter(function (it) { return it.e >= a && it.s <= b; });
  }
  function px(t) { return x(new Date(t)); }
  function clampW(s, e, min) { return Math.max(min, px(e) - px(s)); }

  var loopById = {};
  data.loops.forEach(function (l) { loopById[l.i] = l; });

  function draw() {
    var dom = x.domain();
    document.getElementById('range').textContent = (data.utc ? d3.utcFormat : d3.timeFormat)('%Y-%m-%d %H:%M:%S.%L')(dom[0]) + ' → ' + (data.utc ? d3.utcFormat : d3.timeFormat)('%H:%M:%S.%L')(dom[1]) + (data.utc ? ' UTC' : '');
    var spanMs = +dom[1] - +dom[0];
    var fmt = data.utc ? d3.utcFormat : d3.timeFormat;
    var tickFormat = fmt(spanMs < 5000 ? '%H:%M:%S.%L' : spanMs < 2 * 86400000 ? '%H:%M:%S' : '%m-%d %H:%M');
    gAxis.call(d3.axisTop(x).ticks(Math.max(2, Math.floor((width - LABEL_W) / 110))).tickFormat(tickFormat).tickSizeOuter(0));
    gAxis.selectAll('.tick line').attr('y2', 4);
    var ticks = x.ticks(Math.max(2, Math.floor((width - LABEL_W) / 110)));
    gGrid.selectAll('line').data(ticks).join('line')
      .attr('x1', function (t) { return x(t); }).attr('x2', function (t) { return x(t); })
      .attr('y1', AXIS_H).attr('y2', height - 8);

    gSpans.selectAll('rect').data(visible(data.spans)).join('rect')
      .attr('class', function (d) { return 'span ' + d.k; })
      .attr('x', function (d) { return px(d.s); }).attr('width', function (d) { return clampW(d.s, d.e, 1); })
      .attr('y', function (d) { return laneY(d.l) + 2; }).attr('height', LANE_H - 4);

    // A crash loop is drawn as one hatched band while its incarnations are too narrow to tell apart.
    var collapsed = {};
    var loops = visible(data.loops).filter(function (l) {
      var w = px(l.e) - px(l.s);
      if (w / Math.max(1, l.n) < 6) { collapsed[l.i] = true; return true; }
      return false;
    });
    var bars = visible(data.bars).filter(function (b) { return !(b.p >= 0 && collapsed[b.p]); });
    var barSel = gBars.selectAll('rect.bar').data(bars).join('rect')
      .attr('class', function (d) { return 'bar ' + d.k; })
      .attr('data-kind', function (d) { return d.k; })
      .attr('x', function (d) { return px(d.s); }).attr('width', function (d) { return clampW(d.s, d.e, 2); })
      .attr('y', function (d) { return laneY(d.l) + BAR_PAD; }).attr('height', LANE_H - 2 * BAR_PAD)
      .attr('rx', 2).attr('fill', function (d) { return COLORS[d.k] || '#999'; });
    interactive(barSel, function (d) { return firstLines(d.d, 3); });
    gBars.selectAll('text.bar-label').data(bars.filter(function (b) { return px(b.e) - px(b.s) > 26; })).join('text')
      .attr('class', 'bar-label').attr('x', function (d) { return Math.max(px(d.s), LABEL_W) + 4; })
      .attr('y', function (d) { return laneY(d.l) + LANE_H / 2; }).text(function (d) { return d.t; });

    var loopSel = gLoops.selectAll('rect.loop').data(loops).join('rect')
      .attr('class', 'loop').attr('x', function (d) { return px(d.s); }).attr('width', function (d) { return clampW(d.s, d.e, 3); })
      .attr('y', function (d) { return laneY(d.l) + BAR_PAD; }).attr('height', LANE_H - 2 * BAR_PAD);
    interactive(loopSel, function (d) { return d.t + '\n' + firstLines(d.d, 1); });
    gLoops.selectAll('text.loop-label').data(loops.filter(function (l) { return px(l.e) - px(l.s) > 50; })).join('text')
      .attr('class', 'loop-label').attr('x', function (d) { return Math.max(px(d.s), LABEL_W) + 4; })
      .attr('y', function (d) { return laneY(d.l) + LANE_H / 2; }).text(function (d) { return '×' + d.n; });

    var aggSel = gAgg.selectAll('rect.aggregate').data(visible(data.aggregates)).join('rect')
      .attr('class', 'aggregate').attr('x', function (d) { return px(d.s); }).attr('width', function (d) { return clampW(d.s, d.e, 2); })
      .attr('y', function (d) { return laneY(d.l) + BAR_PAD + 2; }).attr('height', LANE_H - 2 * BAR_PAD - 4);
    aggSel.on('mousemove', function (ev, d) { tip(ev, aggText(d)); }).on('mouseleave', untip)
      .on('click', function (ev, d) { detail.textContent = aggText(d) + '\n\nToo dense to draw one by one at this size of log. For each of them: procreg timeline <log> --since … --until …, or procreg events <log> --since … --until …'; ev.stopPropagation(); });

    var marks = visible(data.marks);
    var backoffs = marks.filter(function (m) { return m.k === 'backoff'; });
    var points = marks.filter(function (m) { return m.k !== 'backoff'; });
    var bSel = gMarks.selectAll('line.mark').data(backoffs).join('line')
      .attr('class', 'mark backoff')
      .attr('x1', function (d) { return px(d.s); }).attr('x2', function (d) { return Math.max(px(d.e), px(d.s) + 1); })
      .attr('y1', function (d) { return laneY(d.l) + LANE_H / 2; }).attr('y2', function (d) { return laneY(d.l) + LANE_H / 2; });
    interactive(bSel, function (d) { return firstLines(d.d, 2); });
    var pSel = gMarks.selectAll('path.mark').data(points).join('path')
      .attr('class', function (d) { return 'mark ' + d.k; })
      .attr('data-kind', function (d) { return d.k; })
      .attr('transform', function (d) { return 'translate(' + px(d.s) + ',' + (laneY(d.l) + LANE_H / 2) + ')'; })
      .attr('d', function (d) { return SHAPES[d.k] || SHAPES.dot; })
      .attr('fill', function (d) { return MARK_FILL[d.k] || '#555'; })
      .attr('stroke', function (d) { return MARK_STROKE[d.k] || 'none'; })
      .attr('stroke-width', 2);
    interactive(pSel, function (d) { return firstLines(d.d, 3); });

    var bounds = gBound.selectAll('g.boundary').data(visible(data.boundaries.map(function (b) { return { s: b.s, e: b.s, k: b.k, g: b.g, t: b.t, d: b.d }; }))).join(function (enter) {
      var g = enter.append('g');
      g.append('line');
      g.append('text');
      g.append('rect').attr('class', 'hit').attr('fill', 'transparent');
      return g;
    });
    bounds.attr('class', function (d) { return 'boundary ' + d.k; }).attr('data-gen', function (d) { return d.g; })
      .attr('transform', function (d) { return 'translate(' + px(d.s) + ',0)'; });
    bounds.select('line').attr('y1', AXIS_H - 12).attr('y2', height - 8);
    // Labels only where they do not run into each other.
    var lastLabel = -1e9;
    bounds.select('text').attr('x', 3).attr('y', AXIS_H - 4).text(function (d) {
      var at = px(d.s);
      if (at - lastLabel < 48) return '';
      lastLabel = at;
      return d.t;
    });
    bounds.select('rect.hit').attr('x', -4).attr('width', 8).attr('y', AXIS_H - 14).attr('height', height - AXIS_H + 14);
    interactive(bounds, function (d) { return firstLines(d.d, 2); });
  }

  function aggText(d) {
    var parts = Object.keys(d.c).sort().map(function (k) { return d.c[k] + ' ' + k; });
    var f = data.utc ? d3.utcFormat('%H:%M:%S.%L') : d3.timeFormat('%H:%M:%S.%L');
    return data.lanes[d.l].name + ': ' + d.n + ' items from ' + f(new Date(d.s)) + ' to ' + f(new Date(d.e)) + '\n' + parts.join(', ');
  }

  var SHAPES = {
    'given-up': 'M-5,-5L5,5M5,-5L-5,5',
    failed: 'M-5,-5L5,5M5,-5L-5,5',
    'spawn-failed': 'M-4,-4L4,4M4,-4L-4,4',
    'check-failed': 'M-1,-9L1,-9L1,9L-1,9Z',
    'check-timeout': 'M0,-7L6,5L-6,5Z',
    'check-skipped': 'M-1,-6L1,-6L1,6L-1,6Z',
    healthy: 'M0,-7L7,0L0,7L-7,0Z',
    unhealthy: 'M0,-7L7,0L0,7L-7,0Z',
    dot: 'M-3,0a3,3 0 1,0 6,0a3,3 0 1,0 -6,0'
  };
  var MARK_FILL = { 'check-failed': '#c62828', 'check-timeout': '#ef6c00', 'check-skipped': '#9e9e9e', healthy: '#2e7d32', unhealthy: '#c62828', 'given-up': 'none', failed: 'none', 'spawn-failed': 'none' };
  var MARK_STROKE = { 'given-up': '#b71c1c', failed: '#4a148c', 'spawn-failed': '#b71c1c', healthy: '#fff', unhealthy: '#fff' };

  document.getElementById('zoom-in').addEventListener('click', function () { svg.transition().duration(200).call(zoom.scaleBy, 2); });
  document.getElementById('zoom-out').addEventListener('click', function () { svg.transition().duration(200).call(zoom.scaleBy, 0.5); });
  document.getElementById('zoom-fit').addEventListener('click', function () { svg.transition().duration(200).call(zoom.transform, d3.zoomIdentity); });
  svg.on('click', function () { if (selected) d3.select(selected).classed('selected', false); selected = null; });
  window.addEventListener('resize', resize);
  resize();
  document.body.setAttribute('data-ready', 'true');
})();
`.replace('__COLORS__', JSON.stringify(BAR_COLORS));
