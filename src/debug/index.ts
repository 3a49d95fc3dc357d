// The debugging views of an event log, as data first and text second: what `procreg
// events`, `history`, `why`, `diff`, `timeline` and `replay --until` are made of. All pure;
// each takes AsyncIterable<Event> or Iterable<Event>.
export { type Point, type Parsed, parsePoint, parseTime, describePoint, PointSeeker } from './point.js';
export { type PointReplay, type PointReplayResult, replayTo } from './replay-to.js';
export {
  type EventFilter,
  type EventsOptions,
  EventsQuery,
  KnownNames,
  knownTypes,
  tellEvents,
} from './filter.js';
export { type EventLine, describeStep, eventLine, lastWordsText, renderEventLine } from './describe.js';
export { type LoopSummary, LoopCollapser, renderLoop, type Told } from './collapse.js';
export {
  HistoryBuilder,
  type HistoryOptions,
  type HistoryRow,
  type ServiceHistory,
  serviceHistory,
  windowText,
} from './history.js';
export {
  explainEnding,
  parseWhyTarget,
  renderWhy,
  why,
  type WhyAnswer,
  type WhyLink,
  type WhyResult,
  type WhyTarget,
} from './why.js';
export {
  type CheckDiff,
  diffPoints,
  type DiffResult,
  type LogDiff,
  renderDiff,
  type ServiceDiff,
} from './diff.js';
export { type TimelineData, type TimelineOptions, TimelineBuilder, timelineData } from './timeline.js';
export { type ChartLibrary, timelineHtml } from './timeline-html.js';
export {
  type EndCause,
  type Ending,
  type Incarnation,
  type LastWords,
  type NextDecision,
  Story,
  type StoryListener,
} from './story.js';
export { batchesOf, type BatchedEvents, EVENT_BATCHES, type EventInput, type Step, Walker } from './walk.js';
